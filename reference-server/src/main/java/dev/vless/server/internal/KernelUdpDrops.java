// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Datagrams the kernel dropped because one of this process's UDP sockets had a full receive buffer: the {@code drops}
 * column of {@code /proc/self/net/udp} and {@code udp6} for the sockets whose inodes this process holds. Netty's
 * transports do not expose SO_RXQ_OVFL, and the table needs no change to the read path. A socket's drops are counted
 * while it is open (each {@link #total} call reads them); what it dropped after the last call before it closed is not.
 * Reading walks every open descriptor, so it is done on the caller's thread, never on an event loop; on systems
 * without these files the count stays 0 and {@link #supported} says so.
 */
public final class KernelUdpDrops {

    private static final List<Path> TABLES = List.of(Path.of("/proc/self/net/udp"), Path.of("/proc/self/net/udp6"));

    /** Last drops seen per open socket inode. */
    private final Map<Long, Long> seen = new HashMap<>();
    /** Drops of sockets that have closed since. */
    private long retired;

    /** Whether this system has the tables. */
    public static boolean supported() {
        return Files.isReadable(TABLES.get(0)) && Files.isDirectory(Path.of("/proc/self/fd"));
    }

    /** Drops at this process's UDP sockets since this object was made (never decreasing). */
    public synchronized long total() {
        if (!supported()) {
            return 0;
        }
        Map<Long, Long> now = byInode(Path.of("/proc/self"));
        for (Map.Entry<Long, Long> e : seen.entrySet()) {
            if (!now.containsKey(e.getKey())) {
                retired += e.getValue();
            }
        }
        seen.clear();
        seen.putAll(now);
        long sum = retired;
        for (long d : now.values()) {
            sum += d;
        }
        return sum;
    }

    /**
     * The drops of each UDP socket a process holds now, by socket inode, from its {@code /proc} directory
     * ({@code /proc/self} or {@code /proc/<pid>}): the sockets are the {@code socket:[inode]} links in its
     * {@code fd} directory, the counters its own view of the tables (its network namespace). Empty when /proc cannot
     * tell (not Linux, or the process is gone).
     */
    public static Map<Long, Long> byInode(Path process) {
        Set<Long> mine = socketInodes(process.resolve("fd"));
        Map<Long, Long> drops = new HashMap<>();
        for (String table : List.of("udp", "udp6")) {
            readTable(process.resolve("net").resolve(table), mine, drops);
        }
        return drops;
    }

    /**
     * Drops at the socket bound to {@code port} (IPv6 when {@code ipv6}) in this network namespace, whoever holds it;
     * -1 when there is none (or no /proc).
     */
    public static long atPort(boolean ipv6, int port) {
        String local = String.format(java.util.Locale.ROOT, ":%04X", port);
        try {
            for (String line : Files.readAllLines(ipv6 ? TABLES.get(1) : TABLES.get(0))) {
                String[] f = row(line);
                if (f != null && f[1].endsWith(local)) {
                    return Long.parseLong(f[12]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private static Set<Long> socketInodes(Path fdDir) {
        Set<Long> inodes = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDir)) {
            for (Path fd : fds) {
                try {
                    String link = Files.readSymbolicLink(fd).toString();
                    if (link.startsWith("socket:[")) {
                        inodes.add(Long.parseLong(link, 8, link.length() - 1, 10));
                    }
                } catch (IOException | RuntimeException e) {
                    // Closed between listing and reading: no longer held.
                }
            }
        } catch (IOException e) {
            return inodes;
        }
        return inodes;
    }

    /** Adds the drops of the sockets in {@code mine} listed in {@code table}. */
    private static void readTable(Path table, Set<Long> mine, Map<Long, Long> into) {
        List<String> lines;
        try {
            lines = Files.readAllLines(table);
        } catch (IOException e) {
            return;
        }
        for (String line : lines) {
            parseLine(line, mine, into);
        }
    }

    /**
     * One row: {@code sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops}. The header row and
     * rows of other processes' sockets are skipped.
     */
    static void parseLine(String line, Set<Long> mine, Map<Long, Long> into) {
        String[] f = row(line);
        if (f == null) {
            return;
        }
        try {
            long inode = Long.parseLong(f[9]);
            if (mine.contains(inode)) {
                into.merge(inode, Long.parseLong(f[12]), Long::sum);
            }
        } catch (NumberFormatException e) {
            // Not a socket row.
        }
    }

    /** The fields of a socket row ({@code sl} ends with a colon, {@code drops} is the 13th), or null for any other. */
    private static String[] row(String line) {
        String[] f = line.trim().split("\\s+");
        return f.length >= 13 && f[0].endsWith(":") ? f : null;
    }
}
