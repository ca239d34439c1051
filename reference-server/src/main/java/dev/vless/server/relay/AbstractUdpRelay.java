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
 * (held, up to the unsent limit, until then); datagrams for the client go out as frames unless its backlog is over
 * the limit (DLV-5); the client's end of stream closes the connection (UDP-8).
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
        flush = new BatchedFlush(channel, CLIENT_FLUSH_INTERVAL_NANOS);
        if (!channel.isActive()) {
            // The client left while its header was being resolved: channelInactive has fired already and will not
            // again, so nothing opened now would ever be closed (a v0 socket and its budget stayed held for good).
            return;
        }
        open(ctx);
    }

    /** Finds or opens the socket; calls {@link #ready()} on the channel's loop once frames can be sent. */
    abstract void open(ChannelHandlerContext ctx);

    /** Sends one datagram's payload to the target, taking it over. */
    abstract void send(ByteBuf payload);

    /** The socket is ready: send what was held and read on. */
    final void ready() {
        assert channel.eventLoop().inEventLoop();
        ready = true;
        while (!held.isEmpty()) {
            send(held.poll());
        }
        heldBytes = 0;
        if (closeWhenReady) {
            channel.close(); // UDP-8, after the frames that came before the end were sent (UDP-3)
            return;
        }
        channel.config().setAutoRead(true);
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
            send(payload);
        } else if (heldBytes + payload.readableBytes() > runtime.config.maxUnsentBytes()) {
            payload.release();
            runtime.metrics.drop(DropReason.SOCKET_BACKLOG);
        } else {
            heldBytes += payload.readableBytes();
            held.add(payload);
        }
    }

    /**
     * Writes a datagram to the client as one frame; called from any thread. Takes over {@code content}.
     *
     * @return whether it was queued; {@code false} when over the client's unsent limit (DLV-5)
     */
    final boolean writeFrame(ByteBuf content) {
        Channel ch = channel;
        try {
            if (!ch.isActive() || !ch.isWritable()) {
                return false;
            }
            lastActivityNanos = System.nanoTime();
            int length = content.readableBytes();
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
            return true;
        } finally {
            content.release();
        }
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
        handlerRemoved(ctx);
        closed();
        ctx.fireChannelInactive();
    }

    /** The client connection closed. */
    abstract void closed();
}
