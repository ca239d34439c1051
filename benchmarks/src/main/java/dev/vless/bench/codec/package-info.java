// SPDX-License-Identifier: Apache-2.0
/** JMH benchmarks of the codec: request headers, UDP frames and UMFURS, static and in a pipeline. */
package dev.vless.bench.codec;
