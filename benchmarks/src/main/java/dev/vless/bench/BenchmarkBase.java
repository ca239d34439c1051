// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The settings every benchmark inherits: average time per operation in nanoseconds, one fork with a fixed 1 GiB heap
 * (so that heap sizing does not move the GC figures between runs), and Netty's leak detector off, because at its
 * default level it samples allocations and would add both time and garbage that production with detection off does
 * not have. Benchmark threads are Netty {@code FastThreadLocalThread}s, as event loop threads are (see
 * {@link dev.vless.bench.internal.FastThreadLocalExecutor}). Command-line options ({@code -f}, {@code -wi}, {@code -i}, {@code -jvmArgsAppend}) override these.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseG1GC", "-Dio.netty.leakDetection.level=disabled",
    "-Djmh.executor=CUSTOM", "-Djmh.executor.class=dev.vless.bench.internal.FastThreadLocalExecutor"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public abstract class BenchmarkBase {

    /** Only benchmarks extend it. */
    protected BenchmarkBase() {
    }
}
