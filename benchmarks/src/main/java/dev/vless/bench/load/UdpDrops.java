// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.server.internal.KernelUdpDrops;
import java.nio.file.Path;
import java.util.Map;

/**
 * The kernel's datagram drops at one process's UDP sockets, from Linux's {@code /proc}: the {@code drops} column of
 * {@code /proc/<pid>/net/udp} and {@code udp6} (the socket's {@code sk_drops}: mostly datagrams that arrived when its
 * receive buffer was full), for the sockets whose inodes the process holds ({@code socket:[inode]} links in
 * {@code /proc/<pid>/fd}). A loss figure alone cannot say at which end a datagram went missing; these can.
 */
final class UdpDrops {

    private UdpDrops() {
    }

    /** The drop counters of a process's UDP sockets at one moment, by socket inode. */
    record Snapshot(Map<Long, Long> byInode) {

        /**
         * Drops since {@code before}. A socket opened in between counts from zero; one closed in between is not
         * counted (its counter went with it), which the workloads avoid by keeping their sockets for the window.
         */
        long since(Snapshot before) {
            long sum = 0;
            for (Map.Entry<Long, Long> e : byInode.entrySet()) {
                sum += e.getValue() - before.byInode.getOrDefault(e.getKey(), 0L);
            }
            return sum;
        }
    }

    /** The counters of {@code pid}'s UDP sockets now, or {@code null} when /proc cannot tell (not Linux, no pid). */
    static Snapshot snapshot(long pid) {
        if (pid <= 0 || !ProcStat.available()) {
            return null;
        }
        // The server's own reader of the tables, pointed at another process.
        return new Snapshot(KernelUdpDrops.byInode(Path.of("/proc", Long.toString(pid))));
    }

    /** Drops between two snapshots, or {@code null} when either is unknown. */
    static Long delta(Snapshot before, Snapshot after) {
        return before == null || after == null ? null : after.since(before);
    }
}
