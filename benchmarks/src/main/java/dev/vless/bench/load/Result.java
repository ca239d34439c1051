// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

/**
 * One workload measured against one target. Rates are per second over the measurement window; latencies are
 * microseconds; CPU is the server process's user + system time per operation, in microseconds.
 *
 * @param workload         {@code udp-echo}, {@code tcp-bulk} or {@code tcp-connect}
 * @param label            the workload's parameters in words
 * @param target           the target's name
 * @param rate             operations per second (round trips, megabytes, or connections)
 * @param rateUnit         what {@code rate} counts
 * @param mbitPerSecond    payload throughput each way, in Mbit/s
 * @param p50Us            median latency (round trip, or connection set-up), or {@code null}
 * @param p99Us            99th percentile latency, or {@code null}
 * @param p999Us           99.9th percentile latency, or {@code null}
 * @param loss             share of datagrams (or connections) that failed, or {@code null}
 * @param serverCpuUsPerOp server CPU microseconds per operation, or {@code null} when the process is not known
 * @param serverKernelShare the share of that CPU time spent in the kernel, or {@code null}
 * @param clientCpuUsPerOp the generator's own CPU microseconds per operation (client, peers and all)
 * @param operations       operations completed in the window
 * @param errors           operations that failed in the window (lost datagrams, failed connections)
 * @param seconds          the window's length
 */
record Result(String workload, String label, String target, double rate, String rateUnit, double mbitPerSecond,
        Double p50Us, Double p99Us, Double p999Us, Double loss, Double serverCpuUsPerOp, Double serverKernelShare,
        double clientCpuUsPerOp,
        long operations, long errors, double seconds) {
}
