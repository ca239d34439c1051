// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import dev.vless.codec.VlessAddress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The kernel's table of TCP sockets ({@code /proc/net/tcp} and {@code tcp6}), read to see what a target on this
 * machine set on its own sockets: whether a socket's keepalive timer runs, and when it fires. Nothing on the wire shows
 * that until the first probe, 60 s or more away.
 */
public final class ProcNetTcp {

    /** USER_HZ: the unit of the table's timer column. */
    private static final long TICKS_PER_SECOND = 100;
    private static final List<Path> TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));

    /**
     * One socket's timer.
     *
     * @param timer   the kernel's timer kind: 0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero-window probe
     * @param whenMs  how long until it fires
     */
    public record Timer(int timer, long whenMs) {
        public boolean keepalive() {
            return timer == 2;
        }

        /** What breaks TCP-4 on this socket ({@code null}: a keepalive probe due within 60 s). */
        public String keepaliveProblem() {
            if (!keepalive()) {
                return "no keepalive timer (timer kind " + timer + ": keepalive is off)";
            }
            if (whenMs > 60_000) {
                return "the first keepalive probe is due in " + whenMs / 1000 + " s (idle time above 60 s)";
            }
            return null;
        }
    }

    private ProcNetTcp() {
    }

    /** Why the table cannot be read here, or {@code null} when it can. */
    public static String unavailableReason() {
        return Files.isReadable(TABLES.get(0)) ? null : "this machine has no readable /proc/net/tcp (not Linux?)";
    }

    /**
     * The timer of the socket whose local end is {@code local} and remote end {@code remote}, or {@code null} when no
     * such socket is in the table (a target in another network namespace, or one that closed it).
     */
    public static Timer timerOf(InetSocketAddress local, InetSocketAddress remote) throws IOException {
        for (Path table : TABLES) {
            if (!Files.isReadable(table)) {
                continue;
            }
            List<String> lines = Files.readAllLines(table);
            for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 6) {
                    continue;
                }
                if (same(f[1], local) && same(f[2], remote)) {
                    String[] t = f[5].split(":");
                    return new Timer(Integer.parseInt(t[0], 16), Long.parseLong(t[1], 16) * 1000 / TICKS_PER_SECOND);
                }
            }
        }
        return null;
    }

    /** Whether the table's {@code hexaddr:hexport} names {@code a} (an IPv4-mapped IPv6 address counts as IPv4). */
    private static boolean same(String field, InetSocketAddress a) {
        int colon = field.indexOf(':');
        if (colon < 0 || Integer.parseInt(field.substring(colon + 1), 16) != a.getPort()) {
            return false;
        }
        InetAddress parsed = address(field.substring(0, colon));
        return parsed != null && VlessAddress.canonical(parsed).equals(VlessAddress.canonical(a.getAddress()));
    }

    /** The address of a table field: 32-bit words printed in host byte order. */
    private static InetAddress address(String hex) {
        if (hex.length() != 8 && hex.length() != 32) {
            return null;
        }
        byte[] b = new byte[hex.length() / 2];
        for (int word = 0; word < b.length / 4; word++) {
            for (int i = 0; i < 4; i++) {
                int v = Integer.parseInt(hex.substring(word * 8 + i * 2, word * 8 + i * 2 + 2), 16);
                int at = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? 3 - i : i;
                b[word * 4 + at] = (byte) v;
            }
        }
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
