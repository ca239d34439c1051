// SPDX-License-Identifier: Apache-2.0
/** The server's moving parts that are not API: transport choice, counters, users, TLS material, resolution. */
package dev.vless.server.internal;
