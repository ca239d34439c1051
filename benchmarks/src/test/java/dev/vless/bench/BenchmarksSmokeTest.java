// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.bench.codec.CodecBenchmark;
import dev.vless.bench.internal.FastThreadLocalExecutor;
import dev.vless.bench.relay.RelayBenchmark;
import dev.vless.server.nat.NatContextBenchmark;
import java.util.Collection;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs every benchmark once, very briefly and in this JVM, so that the build notices a benchmark that no longer sets
 * up or fails mid-run. The figures mean nothing here (no fork, 100 ms, leak detection at paranoid).
 */
class BenchmarksSmokeTest {

    static {
        // What BenchmarkBase's forks get from their command line; JMH reads it once, when it first loads.
        System.setProperty("jmh.executor", "CUSTOM");
        System.setProperty("jmh.executor.class", FastThreadLocalExecutor.class.getName());
    }

    @Test
    void codecBenchmarksRun() throws RunnerException {
        Collection<RunResult> results = run(CodecBenchmark.class.getName(), "kind", "V1_DOMAIN", "size", "1200");
        assertThat(results).hasSize(14);
    }

    @Test
    void natContextBenchmarksRun() throws RunnerException {
        Collection<RunResult> results = run(NatContextBenchmark.class.getName(), "mappings", "1000");
        assertThat(results).hasSize(4);
    }

    @Test
    void relayBenchmarksRun() throws RunnerException {
        Collection<RunResult> results = run(RelayBenchmark.class.getName(), "size", "1200");
        assertThat(results).hasSize(6);
    }

    private static Collection<RunResult> run(String benchmarkClass, String... params) throws RunnerException {
        OptionsBuilder b = new OptionsBuilder();
        b.include("^" + benchmarkClass.replace(".", "\\.") + "\\.")
                .forks(0)
                .warmupIterations(1)
                .warmupTime(TimeValue.milliseconds(100))
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(100))
                .shouldFailOnError(true);
        for (int i = 0; i < params.length; i += 2) {
            b.param(params[i], params[i + 1]);
        }
        Options options = b.build();
        Collection<RunResult> results = new Runner(options).run();
        for (RunResult r : results) {
            assertThat(r.getPrimaryResult().getScore()).as(r.getParams().getBenchmark()).isPositive();
        }
        return results;
    }
}
