// SPDX-License-Identifier: Apache-2.0
/**
 * The VLESS reference client's API: {@link dev.vless.client.VlessClient}, built with
 * {@link dev.vless.client.VlessClientBuilder} from a {@link dev.vless.link.ShareLink} or by hand, serves a local
 * SOCKS5 front through a VLESS server.
 */
package dev.vless.client;
