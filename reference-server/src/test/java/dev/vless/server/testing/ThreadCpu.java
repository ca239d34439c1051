// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.testing;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * CPU time of this JVM's threads between two samples, so that a load test can show how many cores an in-process
 * server used (its event loops are threads of this process) apart from the test's own client and peer threads, and,
 * on Linux, how long those threads waited for a CPU while runnable ({@code /proc/self/task/<tid>/schedstat}): on a
 * shared machine that tells a server starved of CPU from one that was idle. For reports, never for assertions: the
 * figures say what happened, not what must.
 */
public final class ThreadCpu {

    /** The reference server's threads: its event loops ("vless-io-…", "vless-accept-…") and helpers. */
    public static final Predicate<String> SERVER_THREADS = name -> name.startsWith("vless-");

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /**
     * One sample.
     *
     * @param wallNanos  {@link System#nanoTime()} when taken
     * @param processCpu CPU time of the whole process so far, or -1 where the JVM does not report it
     * @param threads    thread id to name and CPU time, for every live thread
     * @param waits      Linux thread id to name and time spent runnable but waiting for a CPU; empty elsewhere
     */
    public record Sample(long wallNanos, long processCpu, Map<Long, Named> threads, Map<Long, Named> waits) {
    }

    /** A thread's name and CPU time (ns). */
    public record Named(String name, long cpuNanos) {
    }

    private ThreadCpu() {
    }

    /** Whether per-thread CPU time can be measured here. */
    public static boolean supported() {
        return THREADS.isThreadCpuTimeSupported();
    }

    /** The CPU time of every live thread, and of the process, now. */
    public static Sample sample() {
        if (supported() && !THREADS.isThreadCpuTimeEnabled()) {
            THREADS.setThreadCpuTimeEnabled(true);
        }
        Map<Long, Named> threads = new HashMap<>();
        for (ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (info == null) {
                continue; // ended since the id list was taken
            }
            long cpu = supported() ? THREADS.getThreadCpuTime(info.getThreadId()) : -1;
            if (cpu >= 0) {
                threads.put(info.getThreadId(), new Named(info.getThreadName(), cpu));
            }
        }
        long process = -1;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            process = os.getProcessCpuTime();
        }
        return new Sample(System.nanoTime(), process, threads, runQueueWaits());
    }

    /** Per Linux thread: its name (the kernel's, at most 15 characters) and nanoseconds spent waiting to run. */
    private static Map<Long, Named> runQueueWaits() {
        Map<Long, Named> waits = new HashMap<>();
        String[] tids = new File("/proc/self/task").list();
        if (tids == null) {
            return waits;
        }
        for (String tid : tids) {
            try {
                Path dir = Path.of("/proc/self/task", tid);
                String name = Files.readString(dir.resolve("comm")).trim();
                String[] stat = Files.readString(dir.resolve("schedstat")).trim().split("\\s+");
                waits.put(Long.parseLong(tid), new Named(name, Long.parseLong(stat[1])));
            } catch (IOException | RuntimeException e) {
                // the thread ended meanwhile, or no schedstat: leave it out
            }
        }
        return waits;
    }

    /**
     * One line: how many cores the threads {@code selected} used from {@code from} to {@code to} (CPU time over wall
     * time), each thread's share, and the whole process's. A thread started in between counts from zero.
     */
    public static String report(String label, Sample from, Sample to, Predicate<String> selected) {
        double wall = (to.wallNanos() - from.wallNanos()) / 1e9;
        long total = 0;
        List<String> each = new ArrayList<>();
        List<Map.Entry<Long, Named>> sorted = new ArrayList<>(to.threads().entrySet());
        sorted.sort(Map.Entry.comparingByValue((a, b) -> a.name().compareTo(b.name())));
        for (Map.Entry<Long, Named> e : sorted) {
            if (!selected.test(e.getValue().name())) {
                continue;
            }
            Named before = from.threads().get(e.getKey());
            long used = e.getValue().cpuNanos() - (before == null ? 0 : before.cpuNanos());
            total += used;
            if (used > 0) {
                each.add(String.format(Locale.ROOT, "%s %.2f", e.getValue().name(), used / 1e9 / wall));
            }
        }
        long waited = 0;
        for (Map.Entry<Long, Named> e : to.waits().entrySet()) {
            if (selected.test(e.getValue().name())) {
                Named before = from.waits().get(e.getKey());
                waited += e.getValue().cpuNanos() - (before == null ? 0 : before.cpuNanos());
            }
        }
        String wait = to.waits().isEmpty() ? "" : String.format(Locale.ROOT,
                ", and %.2f thread-seconds per second runnable but waiting for a CPU", waited / 1e9 / wall);
        String process = from.processCpu() < 0 ? "unknown" : String.format(Locale.ROOT, "%.2f cores",
                (to.processCpu() - from.processCpu()) / 1e9 / wall);
        return String.format(Locale.ROOT, "%s: %.2f s wall, selected threads %.2f cores (%s)%s; whole process %s "
                + "(%d cores available)", label, wall, total / 1e9 / wall, each.isEmpty() ? "none busy"
                : String.join(", ", each), wait, process, Runtime.getRuntime().availableProcessors());
    }
}
