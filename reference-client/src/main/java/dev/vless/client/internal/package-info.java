// SPDX-License-Identifier: Apache-2.0
/**
 * The client's machinery behind the SOCKS5 front: connections to the VLESS server, the TCP relay, UDP associations,
 * one command-2 connection per remote address, the CRUMFURS channel with its re-opening, and the UDP-MUX connection
 * with its fall-back and re-opening. Not API.
 */
package dev.vless.client.internal;
