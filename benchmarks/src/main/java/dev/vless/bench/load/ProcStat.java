// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time and resident memory of a process, from Linux's {@code /proc}: {@code utime + stime} of
 * {@code /proc/<pid>/stat} (every thread, the exited ones included) and {@code VmRSS} of {@code /proc/<pid>/status}.
 */
final class ProcStat {

    /** Clock ticks per second of {@code /proc} times ({@code getconf CLK_TCK}); 100 on every Linux we target. */
    static final long CLOCK_TICKS = clockTicks();

    private ProcStat() {
    }

    /** The process's CPU time so far, user plus system, in nanoseconds (10 ms resolution). */
    static long cpuNanos(long pid) {
        long[] t = cpuNanosSplit(pid);
        return t[0] + t[1];
    }

    /** The process's user and system CPU time so far, in nanoseconds (10 ms resolution). */
    static long[] cpuNanosSplit(long pid) {
        try {
            // Line by line: some /proc files give Files.readString only their first byte (rmem_max does here).
            String stat = String.join(" ", Files.readAllLines(Path.of("/proc", Long.toString(pid), "stat")));
            // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" +");
            long user = Long.parseLong(f[11]); // field 14: utime
            long system = Long.parseLong(f[12]); // field 15: stime
            return new long[] {user * 1_000_000_000L / CLOCK_TICKS, system * 1_000_000_000L / CLOCK_TICKS};
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read the CPU time of process " + pid + ": " + e, e);
        }
    }

    /** The process's resident set size in bytes. */
    static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
            throw new IllegalStateException("no VmRSS line");
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read the memory of process " + pid + ": " + e, e);
        }
    }

    /** Whether /proc can tell us about processes (Linux). */
    static boolean available() {
        return Files.isReadable(Path.of("/proc/self/stat"));
    }

    private static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor();
            return Long.parseLong(out);
        } catch (IOException | RuntimeException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }
}
