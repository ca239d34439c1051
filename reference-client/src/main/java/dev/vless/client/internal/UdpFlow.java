// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import dev.vless.client.ClientDropReason;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessResponseHeaderDecoder;
import dev.vless.codec.udp.UdpFrameDecoder;
import dev.vless.codec.udp.UdpFrameEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The command-2 connection to one remote UDP address (CLI-1), shared by every association that sends there. Opened on
 * the first datagram for the address, after the first CRUMFURS acknowledgement (CRF-5); until it is up, datagrams wait
 * in a small bounded queue. Once open, a datagram the connection cannot take at once (not writable) is dropped and
 * counted: UDP may lose datagrams, memory may not grow. Closed after the configured idle time (CLI-3), when the server
 * closes it, or when the association that used it last ends. Runs on the hub's loop.
 */
final class UdpFlow {

    private static final Logger log = LoggerFactory.getLogger(UdpFlow.class);

    /** Datagrams held at most while the connection is being opened. */
    static final int MAX_PENDING_DATAGRAMS = 64;
    /** Bytes held at most while the connection is being opened. */
    static final int MAX_PENDING_BYTES = 256 * 1024;
    /** Unsent bytes above which the connection stops taking datagrams. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    private enum State { WAITING, CONNECTING, OPEN, CLOSED }

    private final UdpHub hub;
    /** The destination as the application named it: the label of every datagram from it. */
    final VlessAddress target;
    /** The destination as the hub's map knows it. */
    final VlessAddress key;
    /** The association that sent here last; datagrams from the target go to it. */
    UdpAssociation owner;
    private State state = State.WAITING;
    private Channel channel;
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
    private int pendingBytes;
    private long lastActivity = System.nanoTime();
    private ScheduledFuture<?> waitTimer;

    UdpFlow(UdpHub hub, VlessAddress target, VlessAddress key) {
        this.hub = hub;
        this.target = target;
        this.key = key;
    }

    /** Opens the connection once UDP is allowed; a CRUMFURS that does not come up in time fails this flow. */
    void open() {
        Future<Void> allowed = hub.udpAllowed();
        if (allowed.isSuccess()) {
            connect();
            return;
        }
        long timeout = hub.runtime.config.connectTimeout().toMillis();
        waitTimer = hub.loop.schedule(() -> fail("no CRUMFURS acknowledgement within " + timeout + " ms (CRF-5)"),
                timeout, TimeUnit.MILLISECONDS);
        allowed.addListener(f -> {
            if (state == State.WAITING && f.isSuccess()) {
                connect();
            }
        });
    }

    private void connect() {
        if (waitTimer != null) {
            waitTimer.cancel(false);
        }
        state = State.CONNECTING;
        hub.runtime.upstream.connect(hub.loop, p -> {
            p.channel().config().setWriteBufferWaterMark(WATER_MARK);
            if (hub.runtime.upstream.v0()) {
                p.addLast("vless-response", new VlessResponseHeaderDecoder());
            }
            p.addLast("frame-decoder", new UdpFrameDecoder());
            p.addLast("vless-encoder", VlessClientEncoder.INSTANCE);
            p.addLast("frame-encoder", UdpFrameEncoder.INSTANCE);
            p.addLast("flow", new Handler());
        }).addListener(this::connected);
    }

    private void connected(Future<? super Channel> f) {
        if (state == State.CLOSED) {
            if (f.isSuccess()) {
                ((Channel) f.getNow()).close();
            }
            return;
        }
        if (!f.isSuccess()) {
            fail("cannot reach the VLESS server: " + TcpTunnel.cause(f.cause()));
            return;
        }
        channel = (Channel) f.getNow();
        state = State.OPEN;
        hub.runtime.metrics.udpFlowsOpened.increment();
        hub.runtime.metrics.udpFlowsOpen.increment();
        log.debug("{}: UDP connection up", hub.runtime.upstream.describe(target));
        // v1: the header goes with the first frames, in one flush; no answer to wait for (RSP-1).
        channel.write(hub.runtime.upstream.request(VlessCommand.UDP, target));
        while (!pending.isEmpty()) {
            channel.write(pending.poll(), channel.voidPromise());
            hub.runtime.metrics.datagramsOut.increment();
        }
        pendingBytes = 0;
        channel.flush();
        channel.closeFuture().addListener(x -> close());
    }

    /** Sends one datagram's payload to the target, taking it over. */
    void send(ByteBuf payload) {
        lastActivity = System.nanoTime();
        switch (state) {
            case OPEN:
                if (channel.isWritable()) {
                    channel.writeAndFlush(payload, channel.voidPromise());
                    hub.runtime.metrics.datagramsOut.increment();
                } else {
                    payload.release();
                    hub.runtime.metrics.drop(ClientDropReason.BACKLOG);
                }
                break;
            case WAITING:
            case CONNECTING:
                if (pending.size() >= MAX_PENDING_DATAGRAMS
                        || pendingBytes + payload.readableBytes() > MAX_PENDING_BYTES) {
                    payload.release();
                    hub.runtime.metrics.drop(ClientDropReason.BACKLOG);
                } else {
                    pending.add(payload);
                    pendingBytes += payload.readableBytes();
                }
                break;
            case CLOSED:
                payload.release();
                hub.runtime.metrics.drop(ClientDropReason.UPSTREAM_FAILED);
                break;
            default:
                throw new AssertionError(state);
        }
    }

    /** Nanoseconds since the last datagram either way, or 0 while the connection is not open yet. */
    long idleSince(long now) {
        return state == State.OPEN ? now - lastActivity : 0;
    }

    void closeIdle() {
        log.debug("{}: closing the UDP connection, idle for {} ms (CLI-3)", hub.runtime.upstream.describe(target),
                hub.runtime.config.udpIdle().toMillis());
        close();
    }

    private void fail(String why) {
        if (state == State.CLOSED) {
            return;
        }
        log.warn("{}: {}; {} waiting datagrams dropped", hub.runtime.upstream.describe(target), why, pending.size());
        for (int i = pending.size(); i > 0; i--) {
            hub.runtime.metrics.drop(ClientDropReason.UPSTREAM_FAILED);
        }
        close();
    }

    /** Closes the connection and forgets the flow; the next datagram to the target opens a new one. */
    void close() {
        if (state == State.CLOSED) {
            return;
        }
        if (state == State.OPEN) {
            hub.runtime.metrics.udpFlowsOpen.decrement();
        }
        state = State.CLOSED;
        if (waitTimer != null) {
            waitTimer.cancel(false);
        }
        while (!pending.isEmpty()) {
            pending.poll().release();
        }
        pendingBytes = 0;
        if (channel != null) {
            channel.close();
        }
        hub.flowClosed(this);
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf payload && state == State.OPEN) {
                lastActivity = System.nanoTime();
                hub.fromFlow(UdpFlow.this, payload);
            } else {
                ReferenceCountUtil.release(msg); // v0's response header, or a frame after close
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
                ctx.close(); // the server ended the connection
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (state == State.OPEN) {
                log.debug("{}: {}", hub.runtime.upstream.describe(target), TcpTunnel.cause(cause));
            }
            ctx.close();
        }
    }
}
