// SPDX-License-Identifier: Apache-2.0
/**
 * The NAT table: one {@link dev.vless.server.nat.NatContext} per user and client IP, with its sockets, its dialed and
 * heard tables, mapping (§11), delivery (§12), lifetimes (§13) and limits (§14). Nowhere else keeps NAT state.
 */
package dev.vless.server.nat;
