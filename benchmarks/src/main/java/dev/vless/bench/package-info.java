// SPDX-License-Identifier: Apache-2.0
/**
 * Benchmarks of the VLESS codec and the reference server: JMH microbenchmarks ({@code codec}, {@code relay}, and
 * {@code dev.vless.server.nat.NatContextBenchmark}) and a live loopback load generator ({@code load}).
 */
package dev.vless.bench;
