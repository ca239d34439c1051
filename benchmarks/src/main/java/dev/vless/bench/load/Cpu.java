// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

/**
 * CPU time used over a measurement window by the server process (when it runs on this host and its ID is known) and
 * by the generator itself, which includes its clients, echo peers and sinks.
 */
final class Cpu {

    private static final long SELF = ProcessHandle.current().pid();

    private final long serverPid;
    private final long[] server0;
    private final long client0;

    private Cpu(long serverPid) {
        this.serverPid = ProcStat.available() && serverPid > 0 ? serverPid : -1;
        this.server0 = this.serverPid > 0 ? ProcStat.cpuNanosSplit(this.serverPid) : new long[2];
        this.client0 = ProcStat.available() ? ProcStat.cpuNanos(SELF) : 0;
    }

    static Cpu start(long serverPid) {
        return new Cpu(serverPid);
    }

    Sample stop() {
        long client = ProcStat.available() ? ProcStat.cpuNanos(SELF) - client0 : -1;
        if (serverPid < 0) {
            return new Sample(-1, -1, client);
        }
        long[] now = ProcStat.cpuNanosSplit(serverPid);
        long system = now[1] - server0[1];
        return new Sample(now[0] - server0[0] + system, system, client);
    }

    /** CPU nanoseconds used in the window (the server's in all and in the kernel); -1 when unknown. */
    record Sample(long serverNanos, long serverSystemNanos, long clientNanos) {

        /** The share of the server's CPU time spent in the kernel (system calls, the loopback network stack). */
        Double serverKernelShare() {
            return serverNanos <= 0 ? null : (double) serverSystemNanos / serverNanos;
        }

        Double serverMicrosPer(long operations) {
            return serverNanos < 0 || operations == 0 ? null : serverNanos / 1000.0 / operations;
        }

        /** The server's CPU time over {@code wallNanos}: how many cores it kept busy on average; null if unknown. */
        Double serverCores(long wallNanos) {
            return serverNanos < 0 || wallNanos <= 0 ? null : (double) serverNanos / wallNanos;
        }

        Double clientCores(long wallNanos) {
            return clientNanos < 0 || wallNanos <= 0 ? null : (double) clientNanos / wallNanos;
        }

        double clientMicrosPer(long operations) {
            return clientNanos < 0 || operations == 0 ? Double.NaN : clientNanos / 1000.0 / operations;
        }
    }
}
