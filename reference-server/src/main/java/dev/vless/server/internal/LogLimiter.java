// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Lets through at most one log line per interval and counts the ones it held back, for the next line to report. A
 * client that connects a thousand times a second with a wrong user ID must not fill the disk, nor hide every other
 * line; one line every ten seconds, with the count, says as much.
 */
public final class LogLimiter {

    private final long intervalNanos;
    private final LongSupplier nanoClock;
    private boolean started;
    private long lastLine;
    private long heldBack;

    /** A limiter on {@link System#nanoTime()}. */
    public LogLimiter(Duration interval) {
        this(interval, System::nanoTime);
    }

    /** A limiter on {@code nanoClock}, for tests. */
    public LogLimiter(Duration interval, LongSupplier nanoClock) {
        this.intervalNanos = interval.toNanos();
        this.nanoClock = nanoClock;
    }

    /**
     * Whether a line may be written now.
     *
     * @return {@code -1} when the line is to be held back (and counted); otherwise how many were held back since the
     *         last line let through, which this call resets
     */
    public synchronized long tryAcquire() {
        long now = nanoClock.getAsLong();
        if (started && now - lastLine < intervalNanos) {
            heldBack++;
            return -1;
        }
        started = true;
        lastLine = now;
        long n = heldBack;
        heldBack = 0;
        return n;
    }
}
