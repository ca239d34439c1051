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
 * @param server           the target without its variant: {@code direct}, {@code reference v1 mux [epoll]}, ...
 * @param variant          what the target varies in a run, comparable across servers: {@code ""}, {@code TLS},
 *                         {@code 64 users}, {@code 1 user, TLS}, ...
 * @param serverCores      the server's CPU time over the window's wall time (1.0 = one core busy), or {@code null}
 * @param clientCores      the generator's CPU time over the window's wall time
 * @param serverDrops      datagrams the kernel dropped at the server's UDP sockets (full receive buffers) from the
 *                         window's start until its last echo was in; {@code null} when not UDP or not known
 * @param clientDrops      the same at the generator's own UDP sockets (its echo peers, and the direct path's flows)
 */
record Result(String workload, String label, String target, double rate, String rateUnit, double mbitPerSecond,
        Double p50Us, Double p99Us, Double p999Us, Double loss, Double serverCpuUsPerOp, Double serverKernelShare,
        double clientCpuUsPerOp,
        long operations, long errors, double seconds,
        String server, String variant, Double serverCores, Double clientCores, Long serverDrops, Long clientDrops) {
}
