// SPDX-License-Identifier: Apache-2.0
/**
 * The live loopback load generator: VLESS v1 and v0 clients, UDP echo peers and TCP sinks, managed reference-server
 * and v2ray processes, and the reports comparing them with the direct path. Entry point: {@link
 * dev.vless.bench.load.LoadGenerator}.
 */
package dev.vless.bench.load;
