// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Datagrams the kernel dropped at a local UDP port because its receive buffer was full, from {@code /proc/net/udp}
 * and {@code /proc/net/udp6}: loss at the server's context sockets that the server itself cannot count (issue 14
 * adds a counter for it). Linux only; for reports.
 */
final class KernelUdpDrops {

    private KernelUdpDrops() {
    }

    /** Drops at the IPv{@code family} socket bound to {@code port}, or -1 if none is found (or no /proc). */
    static long at(int family, int port) {
        String local = String.format(Locale.ROOT, ":%04X", port);
        try {
            for (String line : Files.readAllLines(Path.of(family == 6 ? "/proc/net/udp6" : "/proc/net/udp"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 12 && f[1].endsWith(local)) {
                    return Long.parseLong(f[f.length - 1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
