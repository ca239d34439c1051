// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Lets through at most one log line per interval and counts the ones it held back, for the next line to report. A
 * client that connects a thousand times a second with a wrong user ID must not fill the disk, nor hide every other
 * line; one line every ten seconds, with the count, says as much.
 */
public final class LogLimiter {

    private final long intervalNanos;
    private final LongSupplier nanoClock;
    // Read without the lock: a line held back (the common case under a flood, possibly once per datagram on several
    // event loops) costs a volatile read and a counter increment, not a lock.
    private volatile boolean started;
    private volatile long lastLine;
    private final LongAdder heldBack = new LongAdder();

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
    public long tryAcquire() {
        long now = nanoClock.getAsLong();
        if (started && now - lastLine < intervalNanos) {
            heldBack.increment();
            return -1;
        }
        synchronized (this) {
            if (started && now - lastLine < intervalNanos) { // another thread let a line through just now
                heldBack.increment();
                return -1;
            }
            lastLine = now;
            started = true;
            return heldBack.sumThenReset();
        }
    }

    /** {@code line}, with the count of lines held back before it when there were any: the one wording every log uses. */
    public static String withHeldBack(String line, long heldBack) {
        return heldBack == 0 ? line : line + " (" + heldBack + " more like this since the last such line were not"
                + " logged)";
    }
}
