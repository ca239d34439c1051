// SPDX-License-Identifier: Apache-2.0
/** Support for the benchmarks: event loops driven by the benchmark thread, channels with real addresses. */
package dev.vless.bench.internal;
