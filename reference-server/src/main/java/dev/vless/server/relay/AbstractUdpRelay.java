// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.codec.udp.UdpFrame;
import dev.vless.server.DropReason;
import dev.vless.server.internal.BatchedFlush;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What both kinds of command-2 connection share: frames from the client go to the target once a socket is ready
 * (held, up to the unsent limit, until then); datagrams for the client go out as frames unless its backlog, its
 * context's or the server's is over the limit (DLV-5, {@link ClientBacklog}); the client's end of stream closes the
 * connection (UDP-8).
 *
 * <p>Toward the target the client is slowed down rather than dropped: once the UDP socket has more queued than its
 * high water mark (the kernel's send buffer is full), the connection stops reading the client until the socket has
 * drained, so the client's TCP window, not a drop counter, absorbs a burst.
 */
abstract class AbstractUdpRelay extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(AbstractUdpRelay.class);

    /**
     * The shortest time between two flushes of frames to the client: a busy connection sends its frames in one TCP
     * segment per 50 µs rather than one each (see {@link BatchedFlush}); the most a frame waits, far below any
     * network's round trip.
     */
    static final long CLIENT_FLUSH_INTERVAL_NANOS = 50_000;

    final ServerRuntime runtime;
    final InetSocketAddress target;
    Channel channel;
    private BatchedFlush flush;
    ClientBacklog backlog;
    /** Reading the client is paused until the socket drains. Channel loop only. */
    private boolean paused;
    private final Runnable resume = this::resume;
    volatile long lastActivityNanos = System.nanoTime();
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    private int heldBytes;
    private boolean ready;
    /** The client ended its stream before the socket was ready: close once the held frames have gone out. */
    private boolean closeWhenReady;

    AbstractUdpRelay(ServerRuntime runtime, InetSocketAddress target) {
        this.runtime = runtime;
        this.target = target;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        backlog = new ClientBacklog(channel, runtime);
        flush = new BatchedFlush(channel, CLIENT_FLUSH_INTERVAL_NANOS, backlog::sync);
        if (!channel.isActive()) {
            // The client left while its header was being resolved: channelInactive has fired already and will not
            // again, so nothing opened now would ever be closed (a v0 socket and its budget stayed held for good).
            return;
        }
        open(ctx);
    }

    /** Finds or opens the socket; calls {@link #ready()} on the channel's loop once frames can be sent. */
    abstract void open(ChannelHandlerContext ctx);

    /**
     * Sends one datagram's payload to the target, taking it over.
     *
     * @return whether the socket can take more now; if not, reading stops until {@link #whenSocketWritable}
     */
    abstract boolean send(ByteBuf payload);

    /** Runs {@code r} on the channel's loop once the socket can take more (or has closed). */
    abstract void whenSocketWritable(Runnable r);

    private void sendOrPause(ByteBuf payload) {
        if (!send(payload) && !paused) {
            paused = true;
            runtime.metrics.clientPauses.increment();
            channel.config().setAutoRead(false); // what this read already decoded is still sent, then nothing more
            whenSocketWritable(resume);
        }
    }

    private void resume() {
        if (!channel.eventLoop().inEventLoop()) {
            channel.eventLoop().execute(resume);
            return;
        }
        if (paused) {
            paused = false;
            if (channel.isActive() && ready) {
                channel.config().setAutoRead(true);
            }
        }
    }

    /** The socket is ready: send what was held and read on. */
    final void ready() {
        assert channel.eventLoop().inEventLoop();
        ready = true;
        while (!held.isEmpty()) {
            sendOrPause(held.poll());
        }
        heldBytes = 0;
        if (closeWhenReady) {
            channel.close(); // UDP-8, after the frames that came before the end were sent (UDP-3)
            return;
        }
        if (!paused) {
            channel.config().setAutoRead(true);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf payload)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        lastActivityNanos = System.nanoTime();
        if (payload.readableBytes() > runtime.config.maxDatagramSize()) {
            payload.release();
            runtime.metrics.drop(DropReason.OVERSIZE);
        } else if (ready) {
            sendOrPause(payload);
        } else if (heldBytes + payload.readableBytes() > runtime.config.maxUnsentBytes()) {
            payload.release();
            runtime.metrics.drop(DropReason.SOCKET_BACKLOG);
        } else {
            heldBytes += payload.readableBytes();
            held.add(payload);
        }
    }

    /**
     * Writes a datagram to the client as one frame; called on the channel's event loop (where the NAT context or the
     * v0 socket delivers). Takes over {@code content}.
     *
     * @return {@code null} when it was queued, else why it was dropped: over the connection's, the context's or the
     *         server's unsent limit, or direct memory (DLV-5), or the connection is closing ({@code NO_RECEIVER})
     */
    final DropReason writeFrame(ByteBuf content) {
        Channel ch = channel;
        try {
            int length = content.readableBytes();
            DropReason refused = backlog.admit(UdpFrame.HEADER_LENGTH + length);
            if (refused != null) {
                logCap(refused);
                return refused;
            }
            lastActivityNanos = System.nanoTime();
            // One right-sized buffer: the 64 KiB receive buffer goes back to the pool at once.
            ByteBuf frame = ch.alloc().ioBuffer(UdpFrame.HEADER_LENGTH + length);
            try {
                UdpFrame.checkLength(length);
                frame.writeShort(length).writeBytes(content);
            } catch (RuntimeException e) {
                frame.release();
                throw e;
            }
            beforeFrame(ch);
            ch.write(frame, ch.voidPromise());
            flush.afterWrite(); // one flush per batch of datagrams, not one TCP write each (see BatchedFlush)
            return null;
        } finally {
            content.release();
        }
    }

    /** The operator's line for a cap above the connection's own (rate-limited in {@link OperatorLog}). */
    final void logCap(DropReason reason) {
        logCap(runtime, channel, reason, backlog);
    }

    static void logCap(ServerRuntime runtime, Channel channel, DropReason reason, ClientBacklog backlog) {
        switch (reason) {
            case CONTEXT_BACKLOG -> runtime.operatorLog.unsentCap(channel, reason, backlog.contextBytes(),
                    runtime.config.maxUnsentBytesPerContext());
            case SERVER_BACKLOG -> runtime.operatorLog.unsentCap(channel, reason, runtime.metrics.unsentBytes.get(),
                    runtime.config.maxUnsentBytesTotal());
            case DIRECT_MEMORY -> runtime.operatorLog.unsentCap(channel, reason,
                    dev.vless.server.internal.DirectMemory.used(), runtime.config.maxDirectMemory());
            default -> {
            }
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        backlog.sync();
        ctx.fireChannelWritabilityChanged();
    }

    /** A hook for what must precede the first frame (the v0 response header). */
    void beforeFrame(Channel ch) {
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
            if (ready) {
                ctx.close(); // UDP-8
            } else {
                // A client may send its header, a frame and its end of stream in one go; closing now dropped the
                // held frames unsent. ready() closes once they are out.
                closeWhenReady = true;
            }
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("{}: {}", ctx.channel(), cause.toString());
        ctx.close();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        for (ByteBuf b : held) {
            b.release();
        }
        held.clear();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        backlog.close();
        handlerRemoved(ctx);
        closed();
        ctx.fireChannelInactive();
    }

    /** The client connection closed. */
    abstract void closed();
}
