// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What a case sent and received, in order and in hex: the evidence a failure report carries, so that an implementer
 * can see exactly which bytes went where.
 */
public final class WireLog {

    private static final int MAX_BYTES_SHOWN = 96;

    private final long start = System.nanoTime();
    private final List<String> lines = new ArrayList<>();
    private boolean quiet;
    private int leftOut;

    /** Records bytes sent on {@code channel}. */
    public void sent(String channel, byte[] bytes, int off, int len) {
        add(channel + " → " + len + " B " + hex(bytes, off, len));
    }

    /** Records bytes received on {@code channel}. */
    public void received(String channel, byte[] bytes, int off, int len) {
        add(channel + " ← " + len + " B " + hex(bytes, off, len));
    }

    /** Records an event (connect, close, timeout, a datagram). */
    public synchronized void note(String text) {
        add(text);
    }

    /**
     * While on, lines are counted instead of recorded, so that a case that floods (thousands of datagrams) keeps its
     * evidence readable; turning it off records how many lines were left out.
     */
    public synchronized void quiet(boolean on) {
        if (!on && quiet) {
            quiet = false;
            if (leftOut > 0) {
                add("… " + leftOut + " lines left out");
            }
            leftOut = 0;
        }
        quiet = on;
    }

    private synchronized void add(String text) {
        if (quiet) {
            leftOut++;
            return;
        }
        lines.add(String.format("%7.3f s  %s", (System.nanoTime() - start) / 1e9, text));
    }

    /** Every line so far. */
    public synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    /** The log as one text block. */
    @Override
    public synchronized String toString() {
        return String.join("\n", lines);
    }

    /** Hex of up to 96 bytes, with the total when cut. */
    public static String hex(byte[] bytes, int off, int len) {
        if (len <= MAX_BYTES_SHOWN) {
            return HexFormat.of().formatHex(bytes, off, off + len);
        }
        return HexFormat.of().formatHex(bytes, off, off + MAX_BYTES_SHOWN) + "… (" + len + " B)";
    }

    /** Hex of all of {@code bytes}, cut like {@link #hex(byte[], int, int)}. */
    public static String hex(byte[] bytes) {
        return hex(bytes, 0, bytes.length);
    }
}
