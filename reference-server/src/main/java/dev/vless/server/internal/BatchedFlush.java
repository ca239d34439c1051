package dev.vless.server.internal;

import io.netty.channel.Channel;
import java.util.concurrent.RejectedExecutionException;
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

    /** A batcher for {@code channel}'s writes. */
    public BatchedFlush(Channel channel) {
        this.channel = channel;
    }

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
        if (++run == queued.get()) {
            channel.flush();
        }
    }
}
