// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import io.netty.channel.Channel;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Flushes a channel once per batch of writes instead of once per write. The UDP relay writes one message per
 * datagram; flushing each costs a system call each (a TCP write per frame, a {@code sendmsg} per datagram), while
 * datagrams mostly come in bursts: several from one socket read or one TCP read. The writer calls {@link #afterWrite()}
 * after each {@code write}; every call queues this task on the channel's event loop after that write, and only the
 * last of the tasks queued so far flushes, so every write is flushed by a task that runs after it, and a batch
 * leaves in one flush (several datagrams in one {@code sendmmsg}, several frames in one TCP write). A lone write
 * waits only for what its loop is already doing. Writes made on the loop itself (the usual case: a connection and
 * its NAT context share a loop) queue one task per batch, not one per write.
 */
public final class BatchedFlush implements Runnable {

    private final Channel channel;
    /** Tasks queued so far, by any thread. */
    private final AtomicLong queued = new AtomicLong();
    /** Tasks run so far; on the channel's event loop only. */
    private long run;
    /** A task queued from the loop itself has not run yet; on the channel's event loop only. */
    private boolean pendingFromLoop;

    /** Flushes no more often than this, in nanoseconds; 0 for no limit. */
    private final long minIntervalNanos;
    /** When the last flush ran (long enough ago at first); on the channel's event loop only. */
    private long lastFlushNanos = System.nanoTime() - TimeUnit.SECONDS.toNanos(1);
    /** A delayed flush is scheduled; on the channel's event loop only. */
    private boolean delayed;
    private final Runnable delayedFlush = () -> {
        delayed = false;
        flushNow(System.nanoTime());
    };

    /** A batcher for {@code channel}'s writes that flushes as soon as a batch is complete. */
    public BatchedFlush(Channel channel) {
        this(channel, 0);
    }

    /**
     * A batcher that also spaces flushes at least {@code minIntervalNanos} apart: a write within that time of the
     * last flush waits for the rest of the interval, so that a busy connection sends one TCP segment per interval
     * instead of one per datagram. On one event loop datagrams from the target come one per wake-up, and a flush
     * each cost a TCP write each, the largest system call of the relay (it runs the receiving side's TCP stack on
     * loopback). A connection idle for the interval flushes at once, so sparse traffic waits for nothing.
     */
    public BatchedFlush(Channel channel, long minIntervalNanos) {
        this(channel, minIntervalNanos, null);
    }

    /** As {@link #BatchedFlush(Channel, long)}, running {@code afterFlush} (if not null) after every flush. */
    public BatchedFlush(Channel channel, long minIntervalNanos, Runnable afterFlush) {
        this.channel = channel;
        this.minIntervalNanos = minIntervalNanos;
        this.afterFlush = afterFlush;
    }

    /** Run after each flush, for those who count what is still queued; may be null. */
    private final Runnable afterFlush;

    /** Call from any thread after each {@code channel.write}: a flush follows it on the channel's event loop. */
    public void afterWrite() {
        if (channel.eventLoop().inEventLoop()) {
            if (pendingFromLoop) {
                return; // a task queued by an earlier write on the loop has not run yet, so it runs after this one
            }
            pendingFromLoop = true;
        }
        queued.incrementAndGet();
        try {
            // From another thread the write itself is a task queued before this one; on the loop it is done already.
            channel.eventLoop().execute(this);
        } catch (RejectedExecutionException e) {
            channel.close(); // the loop is shutting down, and with it the channel
        }
    }

    @Override
    public void run() {
        pendingFromLoop = false;
        // Tasks queued after this one will flush; when none is, this is the last of the batch.
        if (++run != queued.get() || delayed) {
            return; // a later task or the delayed flush takes this batch along
        }
        if (minIntervalNanos == 0) {
            channel.flush();
            if (afterFlush != null) {
                afterFlush.run();
            }
            return;
        }
        long now = System.nanoTime();
        long wait = lastFlushNanos + minIntervalNanos - now;
        if (wait > 0) {
            delayed = true;
            try {
                channel.eventLoop().schedule(delayedFlush, wait, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                channel.close(); // the loop is shutting down, and with it the channel
            }
        } else {
            flushNow(now);
        }
    }

    private void flushNow(long now) {
        lastFlushNanos = now;
        channel.flush();
        if (afterFlush != null) {
            afterFlush.run();
        }
    }
}
