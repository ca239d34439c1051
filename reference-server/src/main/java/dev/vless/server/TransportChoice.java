// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import java.util.Locale;

/** Which Netty transport the server runs on ({@code --transport}). */
public enum TransportChoice {
    /** The fastest this machine has: see {@code dev.vless.server.internal.Transport#select}. */
    AUTO,
    /** Native epoll (Linux). */
    EPOLL,
    /** Native io_uring (Linux 5.14+ with io_uring enabled). */
    IO_URING,
    /** Java NIO: works everywhere. */
    NIO;

    /** The name the command line uses: auto, epoll, io_uring, nio. */
    public String flagName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a command-line name; the message lists the choices. */
    public static TransportChoice parse(String text) {
        for (TransportChoice c : values()) {
            if (c.flagName().equals(text.trim().toLowerCase(Locale.ROOT).replace('-', '_'))) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown transport '" + text + "' (expected: auto, epoll, io_uring or nio)");
    }
}
