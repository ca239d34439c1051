// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import dev.vless.client.ClientDropReason;
import dev.vless.client.UdpMode;
import dev.vless.codec.MuxAck;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.udp.MuxAckDecoder;
import dev.vless.codec.udp.MuxFrame;
import dev.vless.codec.udp.MuxFrameDecoder;
import dev.vless.codec.udp.MuxFrameEncoder;
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
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's one UDP-MUX connection (command 5, spec §23), shared by every SOCKS5 association of the client: the
 * server keeps one NAT context per user and client IP, so one connection carries all of it, and what comes back is
 * demultiplexed by the {@link UdpHub} exactly as UMFURS are.
 *
 * <p>Life of the connection:
 * <ul>
 * <li>opened when the first association registers; the request {@code 01 uuid 05} goes out alone, and no frame
 *     follows before the {@code 0x15} has been read (MUX-4). Datagrams wait meanwhile in a bounded queue (4096
 *     datagrams, 1 MiB; beyond that, or after waiting longer than the connect timeout, they are dropped and counted);
 * <li>end of stream, a first byte other than {@code 0x15}, or nothing within the answer timeout (5 s by default)
 *     means the server does not have the mode (MUX-5): the connection closes, the hub opens CRUMFURS and carries the
 *     queued and all later datagrams per remote address, and the mode is not asked for again for 10 minutes (MUX-6).
 *     After that the next datagram starts a new attempt in the background; datagrams keep going per remote until
 *     its {@code 0x15} arrives;
 * <li>once established, a datagram goes out as one frame, if the connection is writable; otherwise it is dropped and
 *     counted (backpressure: UDP may lose datagrams, memory may not grow). Frames written in one turn of the event
 *     loop leave in one flush;
 * <li>a connection that closes after its {@code 0x15} is re-opened with the CRF-7 back-off, 1 s doubling to 60 s and
 *     back to 1 s once one stayed up for 60 s (MUX-24), unless no association is left (then the next one opens it).
 *     A frame error from the server (MUX-11) closes it and counts as a protocol error; it is re-opened the same way.
 * </ul>
 * Runs on the hub's loop.
 */
final class MuxManager {

    private static final Logger log = LoggerFactory.getLogger(MuxManager.class);

    /** How long a server that did not answer {@code 0x15} is not asked for the mode again (MUX-6). */
    static final Duration UNAVAILABLE_HOLD = Duration.ofMinutes(10);
    /** {@link #UNAVAILABLE_HOLD} in nanoseconds; only tests shorten it, to see the attempt after the hold. */
    static volatile long unavailableHoldNanos = UNAVAILABLE_HOLD.toNanos();
    /** Datagrams held at most while the connection is being opened or re-opened. */
    static final int MAX_QUEUED_DATAGRAMS = 4096;
    /** Payload bytes held at most while the connection is being opened or re-opened. */
    static final int MAX_QUEUED_BYTES = 1024 * 1024;
    /** Unsent bytes above which the connection takes no more datagrams; the server's own limit is 1 MiB (MUX-22). */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(256 * 1024, 1024 * 1024);

    private enum State {
        /** Nothing opened yet, or the connection closed with no association left. */
        IDLE,
        /** Connecting, or waiting for {@code 0x15}. */
        OPENING,
        /** Established: frames both ways. */
        OPEN,
        /** Waiting out the back-off before re-opening. */
        WAITING,
        /** The server did not answer {@code 0x15}: datagrams go per remote until {@link #unavailableUntil}. */
        UNAVAILABLE,
        /** Stopped for good. */
        CLOSED
    }

    /** A datagram waiting for the connection. */
    private record Queued(UdpAssociation from, VlessAddress destination, VlessAddress key, ByteBuf payload,
            long nanos) {
    }

    private final UdpHub hub;
    private final ClientMetrics metrics;
    private State state = State.IDLE;
    /** An attempt made after the mode was found unavailable: datagrams keep going per remote while it runs. */
    private boolean probing;
    /** The connection being opened or open. */
    private Channel channel;
    private long establishedAt;
    private long unavailableUntil;
    private long nextDelayMillis = CrumfursManager.MIN_BACKOFF.toMillis();
    /** The answer deadline while opening, the re-open while waiting. */
    private ScheduledFuture<?> timer;
    private final ArrayDeque<Queued> queue = new ArrayDeque<>();
    private int queuedBytes;
    private boolean flushScheduled;
    private final Runnable flushTask = this::flush;

    MuxManager(UdpHub hub) {
        this.hub = hub;
        this.metrics = hub.runtime.metrics;
        metrics.udpMode = UdpMode.MUX;
    }

    /** An association registered: open the connection now, so that it is up before the first datagram. */
    void start() {
        if (state == State.IDLE) {
            connect(false);
        } else if (state == State.UNAVAILABLE && holdOver()) {
            connect(true);
        }
    }

    /**
     * Takes a datagram from {@code from} to {@code destination} ({@code key} its canonical form), taking over
     * {@code payload}: sends it as a frame, queues it, or drops and counts it. Returns {@code false}, having taken
     * nothing, when the datagram must go per remote because the mode is unavailable.
     */
    boolean offer(UdpAssociation from, VlessAddress destination, VlessAddress key, ByteBuf payload) {
        switch (state) {
            case OPEN:
                write(destination, key, payload);
                return true;
            case IDLE:
                connect(false);
                enqueue(from, destination, key, payload);
                return true;
            case OPENING:
                if (probing) {
                    return false;
                }
                enqueue(from, destination, key, payload);
                return true;
            case WAITING:
                enqueue(from, destination, key, payload);
                return true;
            case UNAVAILABLE:
                if (holdOver()) {
                    connect(true);
                }
                return false;
            case CLOSED:
                payload.release();
                metrics.muxDrop(ClientDropReason.UPSTREAM_FAILED);
                return true;
            default:
                throw new AssertionError(state);
        }
    }

    private boolean holdOver() {
        return System.nanoTime() - unavailableUntil >= 0;
    }

    // ---- opening ----

    private void connect(boolean probe) {
        cancelTimer();
        probing = probe;
        state = State.OPENING;
        dropStale();
        hub.runtime.upstream.connect(hub.loop, p -> {
            p.channel().config().setWriteBufferWaterMark(WATER_MARK);
            p.addLast("vless-encoder", VlessClientEncoder.INSTANCE);
            p.addLast("ack", new MuxAckDecoder());
            p.addLast("frames", new MuxFrameDecoder(MuxFrameDecoder.Direction.FROM_SERVER));
            p.addLast("mux", new Handler());
        }).addListener(this::connected);
    }

    private void connected(Future<? super Channel> f) {
        if (state != State.OPENING || channel != null) {
            if (f.isSuccess()) {
                ((Channel) f.getNow()).close(); // closed, or stale: nobody waits for this connection any more
            }
            return;
        }
        if (!f.isSuccess()) {
            String cause = TcpTunnel.cause(f.cause());
            if (probing) {
                giveUpProbe("cannot reach the server: " + cause);
            } else {
                log.warn("{}: cannot open the UDP-MUX connection: {}; trying again in {} s", describe(), cause,
                        nextDelayMillis / 1000.0);
                scheduleReopen();
            }
            return;
        }
        Channel ch = (Channel) f.getNow();
        channel = ch;
        ch.closeFuture().addListener(x -> closed(ch));
        // MUX-4: the request goes alone; the first frame waits for 0x15.
        ch.writeAndFlush(hub.runtime.upstream.muxRequest());
        long timeout = hub.runtime.config.muxAnswerTimeout().toMillis();
        timer = hub.loop.schedule(() -> unavailable(ch, "no answer within " + timeout + " ms"), timeout,
                TimeUnit.MILLISECONDS);
    }

    private void established(Channel ch) {
        if (channel != ch || state != State.OPENING) {
            return;
        }
        cancelTimer();
        state = State.OPEN;
        establishedAt = System.nanoTime();
        metrics.muxEstablished.increment();
        metrics.muxLive = true;
        metrics.udpMode = UdpMode.MUX;
        log.info("{}: UDP-MUX established{}", describe(), probing ? "; UDP goes over it again from now on" : "");
        probing = false;
        dropStale();
        while (!queue.isEmpty()) {
            Queued q = queue.poll();
            queuedBytes -= q.payload().readableBytes();
            write(q.destination(), q.key(), q.payload());
        }
        queuedBytes = 0;
    }

    /** MUX-5: the server does not have the mode (or a fallback answered). Fall back to per-remote (MUX-6). */
    private void unavailable(Channel ch, String why) {
        if (channel != ch || state != State.OPENING) {
            return;
        }
        cancelTimer();
        channel = null;
        ch.close();
        metrics.muxFallbacks.increment();
        boolean wasProbe = probing;
        probing = false;
        state = State.UNAVAILABLE;
        unavailableUntil = System.nanoTime() + unavailableHoldNanos;
        metrics.udpMode = UdpMode.PER_REMOTE;
        log.warn("{}: UDP-MUX unavailable ({}){}; UDP goes per remote address (command 2 and CRUMFURS), and the "
                + "mode is not asked for again for {} (MUX-5, MUX-6)", describe(), why, wasProbe ? " again" : "",
                holdText());
        hub.fallBack();
        while (!queue.isEmpty()) {
            Queued q = queue.poll();
            if (q.from().isClosed()) {
                q.payload().release();
                metrics.drop(ClientDropReason.NO_ASSOCIATION);
            } else {
                hub.sendPerRemote(q.from(), q.destination(), q.key(), q.payload());
            }
        }
        queuedBytes = 0;
    }

    /** A new attempt after the hold could not even connect: stay per remote for another hold. */
    private void giveUpProbe(String why) {
        probing = false;
        state = State.UNAVAILABLE;
        unavailableUntil = System.nanoTime() + unavailableHoldNanos;
        log.info("{}: asking for UDP-MUX again failed ({}); UDP stays per remote for {}", describe(), why,
                holdText());
    }

    // ---- open and closed ----

    private void closed(Channel ch) {
        if (channel != ch) {
            return;
        }
        if (state == State.OPENING) {
            // Closed before any answer byte: the end of stream of MUX-5 (a reset counts the same).
            unavailable(ch, "the server closed the connection without answering");
            return;
        }
        channel = null;
        metrics.muxLive = false;
        cancelTimer();
        if (state != State.OPEN) {
            return;
        }
        if (System.nanoTime() - establishedAt >= CrumfursManager.MAX_BACKOFF.toNanos()) {
            nextDelayMillis = CrumfursManager.MIN_BACKOFF.toMillis();
        }
        if (!hub.hasAssociations()) {
            state = State.IDLE; // nobody to receive for: the next association opens it again
            log.info("{}: UDP-MUX closed; no UDP association left, so it is not re-opened until one starts",
                    describe());
            return;
        }
        log.info("{}: UDP-MUX closed; re-opening in {} s (MUX-24)", describe(), nextDelayMillis / 1000.0);
        scheduleReopen();
    }

    private void scheduleReopen() {
        state = State.WAITING;
        long delay = nextDelayMillis;
        nextDelayMillis = Math.min(nextDelayMillis * 2, CrumfursManager.MAX_BACKOFF.toMillis());
        timer = hub.loop.schedule(() -> {
            timer = null;
            if (state != State.WAITING) {
                return;
            }
            if (hub.hasAssociations()) {
                connect(false);
            } else {
                state = State.IDLE; // the last association ended meanwhile: the next one opens it
                dropQueue(ClientDropReason.NO_ASSOCIATION);
            }
        }, delay, TimeUnit.MILLISECONDS);
    }

    /** Stops for good: closes the connection and drops what waits. */
    void close() {
        state = State.CLOSED;
        cancelTimer();
        if (channel != null) {
            channel.close();
            channel = null;
        }
        while (!queue.isEmpty()) {
            queue.poll().payload().release();
        }
        queuedBytes = 0;
        metrics.muxLive = false;
    }

    private void dropQueue(ClientDropReason reason) {
        while (!queue.isEmpty()) {
            queue.poll().payload().release();
            metrics.muxDrop(reason);
        }
        queuedBytes = 0;
    }

    // ---- datagrams ----

    /** Sends one datagram as a frame; the flush comes once this turn of the event loop is done. */
    private void write(VlessAddress destination, VlessAddress key, ByteBuf payload) {
        Channel ch = channel;
        try {
            if (!ch.isWritable()) {
                metrics.muxDrop(ClientDropReason.BACKLOG);
                return;
            }
            // A domain goes as the application named it (the server resolves it, MUX-15); an IP canonical (ADR-4).
            VlessAddress address = destination.type() == VlessAddressType.DOMAIN ? destination : key;
            int length = payload.readableBytes();
            ByteBuf frame = ch.alloc().ioBuffer(MuxFrameEncoder.headerLength(address) + length);
            MuxFrameEncoder.encodeHeader(address, length, frame);
            frame.writeBytes(payload, payload.readerIndex(), length);
            ch.write(frame, ch.voidPromise());
            metrics.muxFramesOut.increment();
            metrics.datagramsOut.increment();
            if (!flushScheduled) {
                flushScheduled = true;
                hub.loop.execute(flushTask);
            }
        } finally {
            payload.release();
        }
    }

    private void flush() {
        flushScheduled = false;
        if (channel != null && state == State.OPEN) {
            channel.flush();
        }
    }

    private void enqueue(UdpAssociation from, VlessAddress destination, VlessAddress key, ByteBuf payload) {
        dropStale();
        int size = payload.readableBytes();
        if (queue.size() >= MAX_QUEUED_DATAGRAMS || queuedBytes + size > MAX_QUEUED_BYTES) {
            payload.release();
            metrics.muxDrop(ClientDropReason.BACKLOG);
            return;
        }
        queue.add(new Queued(from, destination, key, payload, System.nanoTime()));
        queuedBytes += size;
    }

    /** Drops datagrams that waited longer than the connect timeout: late datagrams are worse than lost ones. */
    private void dropStale() {
        long limit = hub.runtime.config.connectTimeout().toNanos();
        long now = System.nanoTime();
        while (!queue.isEmpty() && now - queue.peek().nanos() > limit) {
            Queued q = queue.poll();
            queuedBytes -= q.payload().readableBytes();
            q.payload().release();
            metrics.muxDrop(ClientDropReason.UPSTREAM_FAILED);
        }
    }

    private static String holdText() {
        long seconds = TimeUnit.NANOSECONDS.toSeconds(unavailableHoldNanos);
        return seconds % 60 == 0 && seconds > 0 ? seconds / 60 + " min" : seconds + " s";
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private String describe() {
        return hub.runtime.upstream.describe("UDP-MUX");
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof MuxAck) {
                established(ctx.channel());
            } else if (msg instanceof MuxFrame frame) {
                try {
                    if (ctx.channel() == channel && state == State.OPEN) {
                        metrics.muxFramesIn.increment();
                        hub.fromMux(frame.address(), frame.content().retain()); // MUX-23: labelled with its source
                    }
                } finally {
                    frame.release();
                }
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
                if (state == State.OPENING) {
                    unavailable(ctx.channel(), "end of stream before the answer byte");
                }
                ctx.close(); // the server ended it: a limit (MUX-22), idleness (MUX-21), or shutdown
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Channel ch = ctx.channel();
            if (ch == channel && state == State.OPENING) {
                unavailable(ch, cause instanceof VlessProtocolException e
                        && e.error() == ProtocolError.MUX_UNAVAILABLE ? e.getMessage() : TcpTunnel.cause(cause));
            } else if (ch == channel && state == State.OPEN) {
                if (cause instanceof VlessProtocolException e && e.error() != ProtocolError.TRUNCATED) {
                    // MUX-11: a frame error leaves the stream out of sync; close at once, re-open with back-off.
                    metrics.muxProtocolErrors.increment();
                    log.warn("{}: {}; closing", describe(), cause.getMessage());
                } else {
                    log.debug("{}: {}", describe(), TcpTunnel.cause(cause));
                }
            }
            ctx.close();
        }
    }
}
