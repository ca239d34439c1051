// SPDX-License-Identifier: Apache-2.0
/**
 * The SOCKS5 front (RFC 1928, RFC 1929): method negotiation, optional user name and password, CONNECT and UDP
 * ASSOCIATE requests, and the UDP request header of associations. What happens behind a request is a
 * {@link dev.vless.client.socks.SocksBackend}'s business.
 */
package dev.vless.client.socks;
