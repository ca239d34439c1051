// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import java.util.Locale;

/**
 * How the client carries UDP to the server (D27): one command-2 connection per remote address with CRUMFURS beside
 * them, or one multiplexed connection (command 5, UDP-MUX) for everything.
 *
 * <p>In {@link #MUX} mode the client opens <em>one</em> MUX connection per client, shared by every SOCKS5 UDP
 * association and demultiplexed to them exactly as CRUMFURS and command-2 datagrams are in {@link #PER_REMOTE}
 * mode: the server keeps one NAT context per user and client IP anyway, allows at most 8 MUX connections per context,
 * and one connection is what a client talking to a thousand peers needs. No CRUMFURS is opened in that mode. When
 * the server does not support the mode (no {@code 0x15} answer, MUX-5) the client falls back to per-remote and does
 * not ask that server again for 10 minutes (MUX-6).
 *
 * @see "spec/VLESS.md §23"
 */
public enum UdpMode {
    /** One command-2 connection per remote UDP address (CLI-1) and the CRUMFURS channel (CRF-5): the default. */
    PER_REMOTE,
    /** One UDP-MUX connection (command 5) for all datagrams of the client, falling back to per-remote (MUX-5). */
    MUX;

    /** The name on the command line: {@code per-remote} or {@code mux}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * The mode a command-line name stands for, case-insensitively.
     *
     * @throws IllegalArgumentException for any other text
     */
    public static UdpMode parse(String text) {
        for (UdpMode m : values()) {
            if (m.cliName().equalsIgnoreCase(text.strip())) {
                return m;
            }
        }
        throw new IllegalArgumentException("UDP mode '" + text + "' (expected: per-remote or mux)");
    }
}
