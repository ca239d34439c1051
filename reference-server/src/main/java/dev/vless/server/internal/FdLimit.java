// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * The process's file descriptor limit, and the defaults derived from it. Every client connection can hold two
 * descriptors (itself and its outbound TCP connection or UDP socket), and every cooling-down UDP port one more; a
 * default above what the process may open turns a busy server into one that fails every new connection with "Too
 * many open files" instead of refusing the surplus cleanly at accept.
 */
public final class FdLimit {

    /** Descriptors kept for the JVM and Netty themselves: jars, epoll and event fds, listeners, log files. */
    public static final int RESERVE = 256;
    /** The defaults when the limit cannot be read (not a Unix JVM). */
    public static final int UNKNOWN_MAX_CONNECTIONS = 65536;
    public static final int UNKNOWN_MAX_COOLING = 16384;

    private FdLimit() {
    }

    /** {@code ulimit -n} of this process, or -1 where the JVM cannot tell. */
    public static long processLimit() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            long n = unix.getMaxFileDescriptorCount();
            return n > 0 ? n : -1;
        }
        return -1;
    }

    /** Descriptors open now, or -1 where the JVM cannot tell. */
    public static long openNow() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return unix.getOpenFileDescriptorCount();
        }
        return -1;
    }

    /** A quarter of what is left after the reserve goes to cooling-down ports (LIF-7). */
    public static int defaultMaxCoolingSockets(long fdLimit) {
        if (fdLimit <= 0) {
            return UNKNOWN_MAX_COOLING;
        }
        return (int) Math.max(16, Math.min(UNKNOWN_MAX_COOLING, (fdLimit - RESERVE) / 4));
    }

    /** Half of what the cooling ports leave, since each connection may hold two descriptors. */
    public static int defaultMaxConnections(long fdLimit, int maxCoolingSockets) {
        if (fdLimit <= 0) {
            return UNKNOWN_MAX_CONNECTIONS;
        }
        return (int) Math.max(16, Math.min(UNKNOWN_MAX_CONNECTIONS, (fdLimit - RESERVE - maxCoolingSockets) / 2));
    }

    /** The most descriptors a server with these limits may need. */
    public static long needed(int maxConnections, int maxCoolingSockets) {
        return 2L * maxConnections + maxCoolingSockets + RESERVE;
    }

    /** Whether {@code cause} (or one of its causes) is the process or system running out of descriptors. */
    public static boolean isExhaustion(Throwable cause) {
        Throwable t = cause;
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) { // bounded: causes may form a loop
            String m = t.getMessage();
            if (m != null && (m.contains("Too many open files") || m.contains("EMFILE") || m.contains("ENFILE"))) {
                return true;
            }
        }
        return false;
    }
}
