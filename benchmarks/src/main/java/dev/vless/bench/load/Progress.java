// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * The progress lines a run prints while it waits: once a second, the phase and the rate of the last second; and
 * notes of what went wrong, a limited number per run.
 */
final class Progress {

    /** A count that only grows, read once a second. */
    interface Counter {
        long get();
    }

    private static final int MAX_NOTES = 20;

    private final PrintStream out;
    private final boolean perSecond;
    private int notes;

    Progress(PrintStream out) {
        this(out, true);
    }

    private Progress(PrintStream out, boolean perSecond) {
        this.out = out;
        this.perSecond = perSecond;
    }

    /** The same output without the per-second lines (for warm-ups). */
    Progress quiet() {
        return new Progress(out, false);
    }

    /** Waits {@code length}, printing a line a second about {@code what}. */
    void phase(String what, String phase, Duration length, Counter counter, String unit) throws InterruptedException {
        long start = System.nanoTime();
        long total = Math.max(1, (length.toMillis() + 999) / 1000);
        long last = counter.get();
        long lastAt = start;
        for (long second = 1; second <= total; second++) {
            long until = start + Math.min(second * 1_000_000_000L, length.toNanos());
            long wait = until - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            long at = System.nanoTime();
            long n = counter.get();
            if (perSecond) {
                out.printf(Locale.ROOT, "  [%s] %s %d/%d s: %s %s%n", what, phase, second, total,
                        human((n - last) * 1e9 / Math.max(1, at - lastAt)), unit);
            }
            last = n;
            lastAt = at;
        }
    }

    synchronized void note(String message) {
        if (notes++ < MAX_NOTES) {
            out.println("  ! " + message);
        } else if (notes == MAX_NOTES + 1) {
            out.println("  ! (more notes suppressed)");
        }
    }

    void line(String message) {
        out.println(message);
    }

    static String human(double v) {
        if (v >= 1e6) {
            return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        }
        if (v >= 1e3) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
