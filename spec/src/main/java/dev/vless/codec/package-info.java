// SPDX-License-Identifier: Apache-2.0
/**
 * The VLESS v0 and v1 wire format: message records, wire enums, the address codec, and Netty decoders and encoders
 * for the request and response headers. UDP frames and the CRUMFURS channel are in {@link dev.vless.codec.udp}.
 */
package dev.vless.codec;
