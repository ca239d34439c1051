// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.server.DropReason;
import dev.vless.server.internal.DirectMemory;
import dev.vless.server.internal.UnsentTotal;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The unsent bytes of one client connection (UDP or CRUMFURS) as they count toward its NAT context's and the server's
 * totals, and the check made before each datagram is copied into a frame for it. The per-connection limit alone
 * (the channel's high water mark, DLV-5) let many never-reading connections hold a megabyte each without bound; the
 * totals bound a context, and so a user, and the server.
 *
 * <p>The count is what Netty itself has queued for the channel (including what TLS holds before encrypting), read
 * back instead of tracked per frame, so no promise or listener is needed per datagram. It is read back before each
 * frame, after each flush, when the channel's writability changes, and every {@link #RESYNC_MILLIS} ms while above
 * zero, so that bytes written while no datagram came do not stay counted.
 */
final class ClientBacklog {

    private static final long RESYNC_MILLIS = 100;

    private final Channel channel;
    private final ServerRuntime runtime;
    /** The NAT context's total, once the connection joined one (v0 connections never do). */
    private volatile UnsentTotal context;
    /** What this connection added to the totals so far. */
    private final AtomicLong counted = new AtomicLong();
    private volatile boolean closed;
    private boolean resyncScheduled;
    private final Runnable resync = () -> {
        resyncScheduled = false;
        sync();
    };

    ClientBacklog(Channel channel, ServerRuntime runtime) {
        this.channel = channel;
        this.runtime = runtime;
    }

    /** Counts this connection toward {@code total} from now on. */
    void joinContext(UnsentTotal total) {
        long now = counted.get();
        total.add(now);
        context = total;
    }

    /**
     * Whether a frame of {@code bytes} may be queued now.
     *
     * @return {@code null} if so, else why the datagram is dropped
     */
    DropReason admit(int bytes) {
        if (closed || !channel.isActive()) {
            return DropReason.NO_RECEIVER; // closing: nobody will read it, whatever its backlog
        }
        if (!channel.isWritable()) {
            return DropReason.CLIENT_BACKLOG; // DLV-5
        }
        sync();
        UnsentTotal c = context;
        if (c != null && c.wouldExceed(bytes)) {
            return DropReason.CONTEXT_BACKLOG;
        }
        if (runtime.metrics.unsentBytes.get() + bytes > runtime.config.maxUnsentBytesTotal()) {
            return DropReason.SERVER_BACKLOG;
        }
        long maxDirect = runtime.config.maxDirectMemory();
        if (maxDirect > 0 && DirectMemory.used() + bytes > maxDirect) {
            return DropReason.DIRECT_MEMORY;
        }
        return null;
    }

    /** Reads the channel's queued bytes back into the totals. */
    void sync() {
        if (closed) {
            return;
        }
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        long now = out == null ? 0 : out.totalPendingWriteBytes();
        long delta = now - counted.getAndSet(now);
        if (delta != 0) {
            apply(delta);
        }
        if (now > 0 && !resyncScheduled && channel.eventLoop().inEventLoop()) {
            resyncScheduled = true;
            try {
                channel.eventLoop().schedule(resync, RESYNC_MILLIS, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                resyncScheduled = false; // shutting down; close() takes the count back
            }
        }
    }

    /** The context's unsent bytes now, for the log line; 0 without a context. */
    long contextBytes() {
        UnsentTotal c = context;
        return c == null ? 0 : c.bytes();
    }

    /** The connection closed: what it had queued no longer counts. */
    void close() {
        closed = true;
        long had = counted.getAndSet(0);
        if (had != 0) {
            apply(-had);
        }
    }

    private void apply(long delta) {
        runtime.metrics.unsentBytes.addAndGet(delta);
        UnsentTotal c = context;
        if (c != null) {
            c.add(delta);
        }
    }
}
