// SPDX-License-Identifier: Apache-2.0
/**
 * Relaying: the per-connection pipeline, the handshake that acts on the request header, and the TCP, UDP and CRUMFURS
 * relays behind it.
 */
package dev.vless.server.relay;
