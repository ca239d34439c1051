// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import io.netty.channel.SelectStrategy;
import io.netty.channel.SelectStrategyFactory;
import io.netty.util.IntSupplier;

/**
 * An event loop that keeps polling for a short while after it last had work, instead of going to sleep in
 * epoll_wait at once. A datagram's answer often comes back within tens of microseconds; a loop that slept must be
 * woken by the kernel for it, which on a virtual machine costs about as much as the relay's own work. Spinning trades
 * CPU for that wake-up: after {@code spinNanos} without events or tasks the loop blocks as usual, so an idle server
 * uses no CPU. Off by default ({@code --busy-poll}).
 */
public final class SpinningSelectStrategy implements SelectStrategy {

    private final long spinNanos;
    private long lastWork = System.nanoTime();

    private SpinningSelectStrategy(long spinNanos) {
        this.spinNanos = spinNanos;
    }

    /** A factory making one strategy per event loop (each keeps its own time of last work). */
    public static SelectStrategyFactory factory(long spinNanos) {
        return () -> new SpinningSelectStrategy(spinNanos);
    }

    @Override
    public int calculateStrategy(IntSupplier selectSupplier, boolean hasTasks) throws Exception {
        int ready = selectSupplier.get();
        long now = System.nanoTime();
        if (ready > 0 || hasTasks) {
            lastWork = now;
            return ready;
        }
        // Nothing ready: poll again (the loop runs its tasks in between) until the spin time is up, then sleep.
        return now - lastWork < spinNanos ? SelectStrategy.CONTINUE : SelectStrategy.SELECT;
    }
}
