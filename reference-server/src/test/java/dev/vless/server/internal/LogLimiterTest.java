// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** One line per interval, and the count of those held back in the next one, on a clock the test turns. */
class LogLimiterTest {

    private final AtomicLong now = new AtomicLong(123_456_789L);
    private final LogLimiter limiter = new LogLimiter(Duration.ofSeconds(10), now::get);

    @Test
    void theFirstLineGoesOutAndTheRestOfTheIntervalIsCounted() {
        assertThat(limiter.tryAcquire()).isZero();
        for (int i = 0; i < 99; i++) {
            now.addAndGet(Duration.ofMillis(100).toNanos() - 1); // 99 lines within 9.9 s
            assertThat(limiter.tryAcquire()).isEqualTo(-1);
        }
        now.set(123_456_789L + Duration.ofSeconds(10).toNanos());
        assertThat(limiter.tryAcquire()).as("exactly one interval later: out, with the count").isEqualTo(99);
        assertThat(limiter.tryAcquire()).isEqualTo(-1);
    }

    @Test
    void oneNanosecondShortOfTheIntervalIsHeldBack() {
        assertThat(limiter.tryAcquire()).isZero();
        now.addAndGet(Duration.ofSeconds(10).toNanos() - 1);
        assertThat(limiter.tryAcquire()).isEqualTo(-1);
        now.incrementAndGet();
        assertThat(limiter.tryAcquire()).isEqualTo(1);
    }

    @Test
    void theCountStartsAgainAfterEachLineAndALongQuietReportsNothing() {
        assertThat(limiter.tryAcquire()).isZero();
        assertThat(limiter.tryAcquire()).isEqualTo(-1);
        now.addAndGet(Duration.ofSeconds(11).toNanos());
        assertThat(limiter.tryAcquire()).isEqualTo(1);
        now.addAndGet(Duration.ofHours(1).toNanos());
        assertThat(limiter.tryAcquire()).as("nothing was held back since").isZero();
    }

    @Test
    void theClockMayStartAnywhereEvenNegative() {
        now.set(Long.MIN_VALUE + 5); // System.nanoTime() has an arbitrary origin
        assertThat(limiter.tryAcquire()).isZero();
        assertThat(limiter.tryAcquire()).isEqualTo(-1);
        now.addAndGet(Duration.ofSeconds(10).toNanos());
        assertThat(limiter.tryAcquire()).isEqualTo(1);
    }
}
