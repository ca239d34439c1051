// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
        Path proc = Path.of("/proc", Long.toString(pid));
        try {
            Set<Long> inodes = socketInodes(proc.resolve("fd"));
            Map<Long, Long> drops = new HashMap<>();
            // The process's own view of the tables (its network namespace), not necessarily the generator's.
            for (String table : List.of("udp", "udp6")) {
                Path file = proc.resolve("net").resolve(table);
                if (Files.isReadable(file)) {
                    parse(Files.readAllLines(file), inodes, drops);
                }
            }
            return new Snapshot(drops);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the UDP sockets of process " + pid + " from /proc: " + e, e);
        }
    }

    /** Drops between two snapshots, or {@code null} when either is unknown. */
    static Long delta(Snapshot before, Snapshot after) {
        return before == null || after == null ? null : after.since(before);
    }

    /**
     * Adds the {@code drops} of the lines of one {@code /proc/net/udp}-format table whose inode is in {@code inodes}.
     * Fields: sl, local, remote, st, tx:rx queue, tr:when, retrnsmt, uid, timeout, inode, ref, pointer, drops.
     */
    static void parse(List<String> lines, Set<Long> inodes, Map<Long, Long> out) {
        for (int i = 1; i < lines.size(); i++) { // the first line names the columns
            String[] f = lines.get(i).trim().split("\\s+");
            if (f.length < 13) {
                continue;
            }
            long inode = Long.parseLong(f[9]);
            if (inodes.contains(inode)) {
                out.merge(inode, Long.parseLong(f[12]), Long::sum);
            }
        }
    }

    private static Set<Long> socketInodes(Path fdDir) throws IOException {
        Set<Long> inodes = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDir)) {
            for (Path fd : fds) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (NoSuchFileException e) {
                    continue; // closed while we listed
                }
                if (target.startsWith("socket:[")) {
                    inodes.add(Long.parseLong(target.substring(8, target.length() - 1)));
                }
            }
        }
        return inodes;
    }
}
