// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.codec.MuxAck;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.udp.MuxFrameDecoder;
import dev.vless.server.DestinationFilter;
import dev.vless.server.DropReason;
import dev.vless.server.internal.BatchedFlush;
import dev.vless.server.internal.ChannelMove;
import dev.vless.server.internal.UserRegistry;
import dev.vless.server.nat.MuxLink;
import dev.vless.server.nat.MuxMember;
import dev.vless.server.nat.NatContext;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A UDP-MUX connection (command 5): joins its NAT context, answers {@code 0x15}, then carries every datagram of the
 * context both ways as frames (§23). Frames from the client leave by the mapping rules exactly as a command-2
 * connection's would (MUX-13); datagrams for the client arrive by the delivery order of MUX-17 and MUX-18.
 *
 * <p>Frames are parsed in place from the accumulated input: a frame to an IPv4 destination the context dialed before
 * costs a table lookup and a pooled copy of its payload, no address object. Toward the UDP sockets the client is
 * slowed down rather than dropped: once a socket is past its high water mark the connection stops parsing and reading
 * until it drains, as a command-2 connection does. Toward the client each datagram is checked against the unsent
 * limits (DLV-5, {@link ClientBacklog}) and flushed in batches.
 *
 * <p>Domain destinations are resolved once per connection, off the event loop, at most {@value #MAX_LOOKUPS} at a time;
 * frames to a name wait for it in order while frames to other destinations go on (MUX-15, MUX-16).
 *
 * @see "spec/VLESS.md §23"
 */
final class MuxRelay extends ChannelInboundHandlerAdapter implements MuxLink {

    private static final Logger log = LoggerFactory.getLogger(MuxRelay.class);

    /** Name lookups in flight per connection (MUX-22). */
    static final int MAX_LOOKUPS = 8;
    /** Names remembered per connection, least recently used forgotten first (MUX-22). */
    static final int MAX_NAMES = 1024;
    /**
     * What a waiting frame costs beyond its payload, against the unsent limit: empty frames to ever new names must not
     * make the waiting list (and the names kept for it) grow without bound.
     */
    static final int WAITING_OVERHEAD = 64;
    /** How long a failed or refused name stays failed (MUX-15). */
    static final long FAILURE_HOLD_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final ServerRuntime runtime;
    private final UUID user;
    private Channel channel;
    private ClientBacklog backlog;
    private BatchedFlush flush;
    /** Set once the connection is a member of its context and its 0x15 went out; loop only. */
    private MuxMember member;
    /** Client bytes not yet parsed: at most one partial frame, or more while paused. */
    private ByteBuf cumulation;
    /** Parsing and reading stopped until a full socket drains. */
    private boolean paused;
    /** The client ended its stream. */
    private boolean eof;
    private boolean closed;
    private volatile long lastActivityNanos = System.nanoTime();
    private final Runnable resume = this::resume;

    private final LinkedHashMap<String, Name> names = new LinkedHashMap<>(16, 0.75f, true);
    private final ArrayDeque<Name> lookupQueue = new ArrayDeque<>();
    private int lookupsInFlight;
    /** Frames (and their payload bytes) waiting for a name's lookup, bounded by the unsent limit. */
    private int waitingFrames;
    private long waitingBytes;

    MuxRelay(ServerRuntime runtime, UUID user) {
        this.runtime = runtime;
        this.user = user;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        backlog = new ClientBacklog(channel, runtime);
        flush = new BatchedFlush(channel, AbstractUdpRelay.CLIENT_FLUSH_INTERVAL_NANOS, backlog::sync);
        if (!channel.isActive()) {
            return; // closed while the header was handled: channelInactive has fired already
        }
        InetAddress client = ((InetSocketAddress) channel.remoteAddress()).getAddress();
        // On the context's loop every frame reaches the context's sockets, and every datagram this connection,
        // without a thread hop (see ChannelMove).
        ChannelMove.moveTo(channel, runtime.nat.loopFor(user, client), () -> attach(client));
    }

    private void attach(InetAddress client) {
        runtime.nat.withContext(user, client, c -> {
            if (!channel.isActive() || closed) {
                return;
            }
            if (!channel.eventLoop().inEventLoop()) {
                // The move failed and the channel went home: this connection and its context would be on two threads,
                // and neither may touch the other's state. (Same thread, not same loop object: an embedded channel
                // driven by the context loop's thread, in a benchmark, is served as it is.)
                log.debug("{}: not on its NAT context's event loop; closing MUX", channel);
                channel.close();
                return;
            }
            backlog.joinContext(c.unsent());
            lastActivityNanos = System.nanoTime(); // MUX-21: activity starts at the 0x15
            // Written from the context's loop just before the connection becomes a member, so that it precedes every
            // frame and a client that has read it receives every later datagram for the context (MUX-3, like CRF-1).
            channel.writeAndFlush(channel.alloc().ioBuffer(1).writeByte(MuxAck.VALUE));
            member = c.attachMux(this);
            if (member == null) {
                return;
            }
            channel.config().setAutoRead(true);
            process(); // the bytes that came with the header are frames (HDR-11)
        }, () -> {
            log.info("{}: user {}… has too many NAT contexts; closing MUX", channel, UserRegistry.shortId(user));
            channel.close();
        });
    }

    // ---- client to remote ------------------------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf) || closed) {
            ReferenceCountUtil.release(msg);
            return;
        }
        cumulation = cumulation == null ? buf
                : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, buf);
        if (member != null && !paused) {
            process();
        }
    }

    /** Sends every whole frame received, until a socket fills up; then what is left waits in {@link #cumulation}. */
    private void process() {
        while (!paused && !closed && cumulation != null) {
            int length;
            try {
                length = MuxFrameDecoder.frameLength(cumulation, MuxFrameDecoder.Direction.FROM_CLIENT);
            } catch (VlessProtocolException e) {
                frameError(e);
                return;
            }
            if (length < 0) {
                break;
            }
            frame(length);
        }
        if (cumulation != null) {
            if (!cumulation.isReadable()) {
                cumulation.release();
                cumulation = null;
            } else {
                cumulation.discardSomeReadBytes(); // payloads are copies: nothing else holds this buffer
            }
        }
        finishIfDone();
    }

    /** Handles the whole frame of {@code length} bytes at the start of {@link #cumulation}. */
    private void frame(int length) {
        ByteBuf in = cumulation;
        int start = in.readerIndex();
        int type = in.getByte(start);
        int portIndex = type == 1 ? start + 5 : type == 3 ? start + 17 : start + 2 + in.getUnsignedByte(start + 1);
        int port = in.getUnsignedShort(portIndex);
        int payloadLength = in.getUnsignedShort(portIndex + 2);
        lastActivityNanos = System.nanoTime();
        if (port == 0) {
            in.skipBytes(length); // MUX-10: a no-op, activity only
            return;
        }
        runtime.metrics.muxFramesIn.increment();
        if (payloadLength > runtime.config.maxDatagramSize()) {
            in.skipBytes(length);
            runtime.metrics.drop(DropReason.OVERSIZE);
            return;
        }
        // A pooled copy rather than a retained slice, as UdpFrameDecoder does: under Netty 4.2's default allocator a
        // slice is a new object per datagram, and it pins the cumulation buffer until the datagram has been sent.
        ByteBuf payload = channel.alloc().ioBuffer(payloadLength);
        in.getBytes(portIndex + 4, payload, payloadLength);
        boolean goOn;
        if (type == 1) {
            int ip = in.getInt(start + 1);
            in.skipBytes(length);
            goOn = member.sendIpv4(ip, port, payload);
        } else if (type == 3) {
            byte[] bytes = new byte[16];
            in.getBytes(start + 1, bytes);
            in.skipBytes(length);
            goOn = member.send(new InetSocketAddress(ipv6(bytes), port), payload);
        } else {
            String host = in.toString(start + 2, in.getUnsignedByte(start + 1), StandardCharsets.US_ASCII);
            in.skipBytes(length);
            goOn = toName(host, port, payload);
        }
        if (!goOn) {
            pause();
        }
    }

    private static InetAddress ipv6(byte[] bytes) {
        try {
            return VlessAddress.canonical(InetAddress.getByAddress(bytes)); // IPv4-mapped as IPv4 (ADR-4)
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // sixteen bytes are always an address
        }
    }

    private void pause() {
        if (paused) {
            return;
        }
        paused = true;
        runtime.metrics.clientPauses.increment();
        channel.config().setAutoRead(false);
        member.whenReady(resume);
    }

    private void resume() {
        if (!paused) {
            return;
        }
        paused = false;
        if (closed) {
            return;
        }
        process();
        if (!paused && !closed && !eof) {
            channel.config().setAutoRead(true);
        }
    }

    private void frameError(VlessProtocolException e) {
        // MUX-11: the stream is out of sync; close at once, no byte, no fallback (the header was valid).
        runtime.metrics.muxFrameErrors.increment();
        log.debug("{}: MUX frame error, closing: {}", channel, e.getMessage());
        closed = true;
        releaseCumulation();
        channel.close();
    }

    /** After the client's end of stream: closes once what was whole has been sent (MUX-12). */
    private void finishIfDone() {
        if (!eof || closed || paused || member == null || waitingFrames > 0) {
            return;
        }
        if (cumulation != null && cumulation.isReadable()) {
            runtime.metrics.drop(DropReason.TRUNCATED_FRAME); // MUX-12: a partial frame at the end
            log.debug("{}: MUX stream ended inside a frame, {} bytes in", channel, cumulation.readableBytes());
        }
        closed = true;
        releaseCumulation();
        channel.close();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
            eof = true;
            if (member != null && !paused) {
                process();
            }
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    // ---- names -----------------------------------------------------------------------------------------------------

    /** A domain destination as this connection knows it (MUX-15). */
    private static final class Name {
        final String key;
        /** The answer while it holds; {@code null} while resolving, failed or not yet asked. */
        InetAddress ip;
        long lastUsedNanos;
        /** Why its frames are dropped until {@link #failedUntil}, or {@code null}. */
        DropReason failure;
        long failedUntil;
        boolean resolving;
        boolean queued;
        /** Frames waiting for the lookup, in order: port, payload, port, payload… */
        ArrayDeque<Object> waiting;

        Name(String key) {
            this.key = key;
        }

        boolean busy() {
            return resolving || queued || (waiting != null && !waiting.isEmpty());
        }
    }

    /** Names compare case-insensitively and without a trailing dot (MUX-15). */
    static String normalise(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }

    /** A frame to a domain name; returns whether the client may be read on. */
    private boolean toName(String host, int port, ByteBuf payload) {
        String key = normalise(host);
        long now = System.nanoTime();
        Name n = names.get(key);
        if (n != null && n.ip != null) {
            // The answer holds while the address's dialed entry lives: traffic either way keeps both alive.
            if (now - n.lastUsedNanos <= runtime.config.udpLifetime().toNanos()
                    || member.dialed(new InetSocketAddress(n.ip, port))) {
                n.lastUsedNanos = now;
                return sendTo(n.ip, port, payload);
            }
            n.ip = null; // expired with its entry: resolved again
        }
        if (n != null && n.failure != null) {
            if (n.failedUntil - now > 0) {
                payload.release();
                runtime.metrics.drop(n.failure);
                return true;
            }
            n.failure = null;
        }
        if (waitingBytes + payload.readableBytes() + WAITING_OVERHEAD > runtime.config.maxUnsentBytes()) {
            // Before a name is added or queued: what waits, and so the names kept for it, stays bounded.
            payload.release();
            runtime.metrics.drop(DropReason.NAME_BACKLOG);
            return true;
        }
        if (n == null) {
            n = new Name(key);
            names.put(key, n);
            forgetNames();
        }
        if (n.waiting == null) {
            n.waiting = new ArrayDeque<>();
        }
        n.waiting.add(port);
        n.waiting.add(payload);
        waitingFrames++;
        waitingBytes += payload.readableBytes() + WAITING_OVERHEAD;
        if (!n.resolving && !n.queued) {
            if (lookupsInFlight < MAX_LOOKUPS) {
                lookup(n);
            } else {
                n.queued = true; // MUX-22: further names wait their turn
                lookupQueue.add(n);
            }
        }
        return true;
    }

    private boolean sendTo(InetAddress ip, int port, ByteBuf payload) {
        if (ip instanceof Inet4Address v4) {
            return member.sendIpv4(VlessAddress.ipv4Bits(v4), port, payload);
        }
        return member.send(new InetSocketAddress(ip, port), payload);
    }

    /** Forgets the least recently used names beyond {@link #MAX_NAMES}, never one that frames wait for. */
    private void forgetNames() {
        Iterator<Name> it = names.values().iterator();
        while (names.size() > MAX_NAMES && it.hasNext()) {
            if (!it.next().busy()) {
                it.remove();
            }
        }
    }

    private void lookup(Name n) {
        n.resolving = true;
        n.queued = false;
        lookupsInFlight++;
        runtime.metrics.muxLookups.increment();
        VlessAddress target;
        try {
            target = new VlessAddress(VlessAddressType.DOMAIN, n.key, 1);
        } catch (IllegalArgumentException e) {
            resolved(n, null, e); // "." alone: nothing left to resolve
            return;
        }
        Future<InetAddress> f = runtime.resolver.resolve(target, channel.eventLoop());
        f.addListener(x -> resolved(n, f.isSuccess() ? f.getNow() : null, f.cause()));
    }

    private void resolved(Name n, InetAddress answer, Throwable cause) {
        lookupsInFlight--;
        n.resolving = false;
        if (closed) {
            return; // channelInactive released what waited
        }
        long now = System.nanoTime();
        if (answer != null) {
            InetAddress ip = VlessAddress.canonical(answer);
            DestinationFilter.Refusal refusal = runtime.config.destinations().refusalOf(ip);
            if (refusal == null) {
                n.ip = ip;
                n.lastUsedNanos = now;
            } else {
                n.failure = DropReason.REFUSED_DESTINATION; // MUX-14, MUX-15: held 30 s like a failure
                n.failedUntil = now + FAILURE_HOLD_NANOS;
                runtime.operatorLog.refusedDestination(channel, new VlessAddress(VlessAddressType.DOMAIN, n.key, 1),
                        ip, refusal);
            }
        } else {
            n.failure = DropReason.UNRESOLVED;
            n.failedUntil = now + FAILURE_HOLD_NANOS;
            log.debug("{}: cannot resolve {}: {}", channel, n.key, String.valueOf(cause));
        }
        boolean goOn = true;
        ArrayDeque<Object> w = n.waiting;
        n.waiting = null;
        if (w != null) {
            while (!w.isEmpty()) {
                int port = (Integer) w.poll();
                ByteBuf payload = (ByteBuf) w.poll();
                waitingFrames--;
                waitingBytes -= payload.readableBytes() + WAITING_OVERHEAD;
                if (n.ip != null) {
                    goOn &= sendTo(n.ip, port, payload); // in order (MUX-16); the socket's own cap bounds a burst
                } else {
                    payload.release();
                    runtime.metrics.drop(n.failure);
                }
            }
        }
        while (lookupsInFlight < MAX_LOOKUPS && !lookupQueue.isEmpty()) {
            lookup(lookupQueue.poll());
        }
        if (!goOn) {
            pause();
        }
        finishIfDone();
    }

    private void releaseWaiting() {
        for (Name n : names.values()) {
            ArrayDeque<Object> w = n.waiting;
            n.waiting = null;
            if (w == null) {
                continue;
            }
            for (Object o : w) {
                if (o instanceof ByteBuf b) {
                    b.release();
                    runtime.metrics.drop(DropReason.NAME_BACKLOG);
                }
            }
        }
        lookupQueue.clear();
        waitingFrames = 0;
        waitingBytes = 0;
    }

    // ---- remote to client ------------------------------------------------------------------------------------------

    @Override
    public DropReason deliver(DatagramPacket packet) {
        if (closed) {
            packet.release();
            return DropReason.NO_RECEIVER;
        }
        // A server's frame is a UMFURS byte for byte: the true source first (MUX-8), then the payload.
        DropReason dropped = SourcedDatagrams.write(runtime, channel, backlog, flush, packet);
        if (dropped == null) {
            lastActivityNanos = System.nanoTime();
        }
        return dropped;
    }

    @Override
    public long lastActivityNanos() {
        return lastActivityNanos;
    }

    @Override
    public boolean admit(InetSocketAddress destination) {
        InetAddress ip = destination.getAddress();
        DestinationFilter.Refusal refusal = runtime.config.destinations().refusalOf(ip);
        if (refusal == null) {
            return true;
        }
        runtime.metrics.drop(DropReason.REFUSED_DESTINATION); // MUX-14: dropped, the connection stays open
        runtime.operatorLog.refusedDestination(channel, VlessAddress.of(destination), ip, refusal);
        log.debug("{}: MUX frame to refused destination {}: {}", channel, destination, refusal);
        return false;
    }

    @Override
    public void noSocket(Throwable cause) {
        runtime.operatorLog.noSocket(channel, "a UDP socket", cause);
        log.debug("{}: no UDP socket for a MUX frame: {}", channel, String.valueOf(cause));
    }

    @Override
    public void close(String reason) {
        log.debug("{}: closing MUX: {}", channel, reason);
        channel.close();
    }

    // ---- life --------------------------------------------------------------------------------------------------------

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        backlog.sync();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("{}: {}", ctx.channel(), cause.toString());
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed = true;
        backlog.close();
        releaseCumulation();
        releaseWaiting();
        MuxMember m = member;
        if (m != null) {
            NatContext c = m.context();
            if (c.executor().inEventLoop()) {
                m.leave();
            } else {
                c.executor().execute(m::leave);
            }
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseCumulation();
        releaseWaiting();
    }

    private void releaseCumulation() {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }
}
