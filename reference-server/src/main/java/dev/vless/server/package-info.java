// SPDX-License-Identifier: Apache-2.0
/**
 * The reference server's API: {@link dev.vless.server.VlessServer}, its builder and configuration, and the counters
 * it reports. Relaying is in {@code .relay}, the NAT table in {@code .nat}, the command line in {@code .cli}.
 */
package dev.vless.server;
