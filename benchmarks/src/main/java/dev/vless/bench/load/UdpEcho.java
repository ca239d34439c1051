// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.codec.CrumfursAck;
import dev.vless.codec.MuxAck;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessResponseHeaderDecoder;
import dev.vless.codec.VlessVersion;
import dev.vless.codec.udp.CrumfursAckDecoder;
import dev.vless.codec.udp.MuxAckDecoder;
import dev.vless.codec.udp.MuxFrameDecoder;
import dev.vless.codec.udp.UdpFrame;
import dev.vless.codec.udp.UdpFrameDecoder;
import dev.vless.codec.udp.UmfursDecoder;
import dev.vless.codec.udp.UmfursMessage;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * The UDP echo workload: {@code flows} flows, each to its own echo peer, each keeping {@code inFlight} datagrams of
 * {@code payload} bytes outstanding (closed loop: an echo sends the next), optionally paced to a total rate. Through a
 * VLESS target every flow is one command-2 connection (v1: after a CRUMFURS, as a v1 client must), or, for a UDP-MUX
 * target, a destination on the generator loop's one UDP-MUX connection (command 5; one per generator event loop, all
 * in the same NAT context, as one client whose datagrams leave from two threads); on the direct path it is one UDP
 * socket talking to the peer.
 *
 * <p>Every datagram carries its slot, a sequence number and its send time, so the round trip is measured per
 * datagram. Counted for the window: datagrams <em>sent</em> in it and their echoes, whenever they come (the drain
 * waits up to the loss timeout); a datagram not echoed within the loss timeout is lost, and its slot sends a new one.
 */
final class UdpEcho {

    /** A datagram is lost when its echo has not come within this time. */
    static final long LOSS_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int TAG_BYTES = 16;
    private static final long HIGHEST_RTT = TimeUnit.SECONDS.toNanos(10);

    /** One UDP workload's shape. */
    record Spec(int flows, int payload, int inFlight) {
        Spec {
            if (flows < 1 || flows > 4096) {
                throw new IllegalArgumentException("flows: " + flows + " (expected: 1-4096)");
            }
            if (payload < TAG_BYTES || payload > UdpFrame.MAX_IPV4_PAYLOAD) {
                throw new IllegalArgumentException("payload: " + payload + " (expected: " + TAG_BYTES + "-"
                        + UdpFrame.MAX_IPV4_PAYLOAD + " bytes; the first 16 carry the sequence and send time)");
            }
            if (inFlight < 1 || inFlight > 4096) {
                throw new IllegalArgumentException("in flight: " + inFlight + " (expected: 1-4096)");
            }
        }

        /** {@code FLOWSxPAYLOADxINFLIGHT}, such as {@code 64x1200x8}. */
        static Spec parse(String text) {
            String[] f = text.trim().toLowerCase(java.util.Locale.ROOT).split("x");
            if (f.length != 3) {
                throw new IllegalArgumentException("UDP workload '" + text + "' (expected: FLOWSxPAYLOADxINFLIGHT, "
                        + "such as 64x1200x8)");
            }
            return new Spec(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]));
        }

        String label() {
            return flows + (flows == 1 ? " flow" : " flows") + " × " + payload + " B × " + inFlight + " in flight";
        }
    }

    private final Net net;
    private final Peers peers;
    private final TlsMaterial tls;

    UdpEcho(Net net, Peers peers, TlsMaterial tls) {
        this.net = net;
        this.peers = peers;
        this.tls = tls;
    }

    Result run(Spec spec, Target target, Timing timing, Progress progress) throws Exception {
        return run("udp-echo", spec, target, timing, progress);
    }

    /** Runs the workload; {@code workload} names it in the result ({@code udp-echo}, {@code udp-scaling}). */
    Result run(String workload, Spec spec, Target target, Timing timing, Progress progress) throws Exception {
        if (target.mux() && target.users().size() > 1 && target.users().size() != spec.flows()) {
            // A MUX flow's echoes are read on its MUX connection's loop, which must be the flow's own loop.
            throw new IllegalArgumentException(target.name() + ": over UDP-MUX the flows are spread over one user "
                    + "or one user per flow (expected: 1 or " + spec.flows() + " users, not "
                    + target.users().size() + ")");
        }
        Run run = new Run(workload, spec, target, timing, progress);
        try {
            return run.execute();
        } finally {
            run.close();
        }
    }

    /** Per event loop: counters and the histogram its flows record into, touched on that loop only. */
    private static final class LoopState {
        final Histogram rtt = new Histogram(HIGHEST_RTT, 3);
        final ArrayDeque<long[]> pending = new ArrayDeque<>();
        final List<Run.Flow> flows = new ArrayList<>();
        RateLimiter limiter;
        long sentInWindow;
        long echoedInWindow;
        long timeouts;
        long late;
        long lastTimeoutCheck;
        /** Echoes seen so far, for the progress line (read from the controlling thread). */
        volatile long echoes;
        ScheduledFuture<?> ticker;
    }

    /** A token bucket: {@code perSecond} sends a second, bursts of at most 1 ms worth (at least one). */
    private static final class RateLimiter {
        final double perNano;
        final double burst;
        double tokens;
        long last = System.nanoTime();

        RateLimiter(double perSecond) {
            perNano = perSecond / 1e9;
            burst = Math.max(1, perSecond / 1000);
        }

        boolean tryTake(long now) {
            tokens = Math.min(burst, tokens + (now - last) * perNano);
            last = now;
            if (tokens >= 1) {
                tokens -= 1;
                return true;
            }
            return false;
        }
    }

    private final class Run {
        final String workload;
        final Spec spec;
        final Target target;
        final Timing timing;
        final Progress progress;
        final LoopState[] states;
        final List<Flow> flows = new ArrayList<>();
        final AtomicLong umfurs = new AtomicLong();
        final AtomicLong brokenFlows = new AtomicLong();
        /** The v1 CRUMFURS connections, one per user: a v1 client opens its context's CRUMFURS first. */
        final List<Channel> crumfurs = new ArrayList<>();
        /** Per generator loop, for a UDP-MUX target: the loop's MUX connection and its demultiplexer. */
        MuxConnection[] muxes;
        volatile long windowStart = Long.MAX_VALUE;
        volatile long windowEnd = Long.MAX_VALUE;
        volatile boolean stopping;

        Run(String workload, Spec spec, Target target, Timing timing, Progress progress) {
            this.workload = workload;
            this.spec = spec;
            this.target = target;
            this.timing = timing;
            this.progress = progress;
            states = new LoopState[net.loopCount()];
            for (int i = 0; i < states.length; i++) {
                states[i] = new LoopState();
            }
        }

        Result execute() throws Exception {
            List<InetSocketAddress> peerAddresses = peers.udpEchoes(spec.flows());
            if (target.mux()) {
                openMuxes();
            } else if (!target.isDirect() && target.version() == VlessVersion.V1) {
                openCrumfurs();
            }
            List<Future<Void>> ready = new ArrayList<>();
            for (int i = 0; i < spec.flows(); i++) {
                LoopState st = states[i % states.length];
                Flow flow = target.isDirect() ? new DirectFlow(i, st, peerAddresses.get(i))
                        : target.mux() ? new MuxFlow(i, st, peerAddresses.get(i))
                        : new VlessFlow(i, st, peerAddresses.get(i));
                flows.add(flow);
                st.flows.add(flow);
                ready.add(flow.open());
            }
            for (Future<Void> f : ready) {
                if (!f.await(30, TimeUnit.SECONDS) || !f.isSuccess()) {
                    throw new IllegalStateException(target.name() + ": a flow could not be set up: "
                            + (f.cause() != null ? f.cause() : "timed out"));
                }
            }
            for (int i = 0; i < states.length; i++) {
                LoopState st = states[i];
                if (timing.rate() > 0) {
                    st.limiter = new RateLimiter((double) timing.rate() * st.flows.size() / spec.flows());
                }
                long every = timing.rate() > 0 ? TimeUnit.MILLISECONDS.toNanos(1) : TimeUnit.MILLISECONDS.toNanos(100);
                st.ticker = net.loop(i).scheduleAtFixedRate(() -> tick(st), every, every, TimeUnit.NANOSECONDS);
            }
            for (Flow f : flows) {
                f.loop.execute(f::start);
            }
            String what = "udp " + spec.label() + " → " + target.name();
            Progress.Counter echoes = () -> {
                long n = 0;
                for (LoopState st : states) {
                    n += st.echoes;
                }
                return n;
            };
            progress.phase(what, "warm-up", timing.warmup(), echoes, "rt/s");
            UdpDrops.Snapshot serverDrops0 = UdpDrops.snapshot(target.pid());
            UdpDrops.Snapshot clientDrops0 = UdpDrops.snapshot(ProcessHandle.current().pid());
            Cpu cpu = Cpu.start(target.pid());
            windowStart = System.nanoTime();
            progress.phase(what, "measure", timing.duration(), echoes, "rt/s");
            windowEnd = System.nanoTime();
            stopping = true;
            Cpu.Sample used = cpu.stop();
            long wall = windowEnd - windowStart;
            double seconds = wall / 1e9;
            drain();
            // Read after the drain: a datagram sent in the window and dropped is dropped by the time its echo is due.
            Long serverDrops = UdpDrops.delta(serverDrops0, UdpDrops.snapshot(target.pid()));
            Long clientDrops = UdpDrops.delta(clientDrops0, UdpDrops.snapshot(ProcessHandle.current().pid()));

            Histogram rtt = new Histogram(HIGHEST_RTT, 3);
            long sent = 0;
            long echoed = 0;
            for (int i = 0; i < states.length; i++) {
                LoopState st = states[i];
                long[] counts = net.loop(i).submit(() -> {
                    rtt.add(st.rtt); // the controlling thread merges; each loop's histogram is read on its loop
                    return new long[] {st.sentInWindow, st.echoedInWindow};
                }).get();
                sent += counts[0];
                echoed += counts[1];
            }
            double rate = echoed / seconds;
            return new Result(workload, spec.label(), target.name(), rate, "round trips/s",
                    rate * spec.payload() * 8 / 1e6,
                    micros(rtt, 50), micros(rtt, 99), micros(rtt, 99.9),
                    sent == 0 ? null : (double) (sent - echoed) / sent,
                    used.serverMicrosPer(echoed), used.serverKernelShare(),
                    used.clientMicrosPer(echoed), echoed, sent - echoed + brokenFlows.get(),
                    seconds, target.server(), target.variant(), used.serverCores(wall), used.clientCores(wall),
                    serverDrops, clientDrops);
        }

        private void tick(LoopState st) {
            long now = System.nanoTime();
            if (st.limiter != null) {
                long[] p;
                while ((p = st.pending.peek()) != null && !stopping && st.limiter.tryTake(now)) {
                    st.pending.poll();
                    Flow f = flows.get((int) p[0]);
                    f.sendNow((int) p[1], now);
                    f.channel.flush();
                }
            }
            if (now - st.lastTimeoutCheck < TimeUnit.MILLISECONDS.toNanos(100)) {
                return;
            }
            st.lastTimeoutCheck = now;
            for (Flow f : st.flows) {
                f.checkTimeouts(now);
            }
        }

        /** Waits until every datagram sent in the window is echoed or past the loss timeout. */
        private void drain() throws Exception {
            long deadline = System.nanoTime() + LOSS_TIMEOUT_NANOS + TimeUnit.MILLISECONDS.toNanos(100);
            while (System.nanoTime() < deadline) {
                boolean done = true;
                for (int i = 0; i < states.length && done; i++) {
                    LoopState st = states[i];
                    done = net.loop(i).submit(() -> {
                        for (Flow f : st.flows) {
                            if (f.awaitsWindowEcho()) {
                                return false;
                            }
                        }
                        return true;
                    }).get();
                }
                if (done) {
                    return;
                }
                Thread.sleep(20);
            }
        }

        /** Opens a CRUMFURS for each user, at once, and waits for every acknowledgement. */
        private void openCrumfurs() throws Exception {
            List<UUID> users = target.distinctUsers();
            List<Promise<Void>> acks = new ArrayList<>();
            for (int i = 0; i < users.size(); i++) {
                acks.add(openCrumfurs(users.get(i), net.loop(i)));
            }
            for (Promise<Void> acked : acks) {
                if (!acked.await(10, TimeUnit.SECONDS) || !acked.isSuccess()) {
                    throw new IllegalStateException(target.name() + ": no CRUMFURS acknowledgement: "
                            + (acked.cause() != null ? acked.cause() : "timed out"));
                }
            }
        }

        private Promise<Void> openCrumfurs(UUID user, EventLoop loop) throws Exception {
            Promise<Void> acked = loop.newPromise();
            SslContext ssl = target.tls() ? tls.clientFor(target.link()) : null;
            io.netty.channel.ChannelFuture connected = net.tcp(loop, new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel c) {
                    ChannelPipeline p = c.pipeline();
                    if (ssl != null) {
                        p.addLast(ssl.newHandler(c.alloc()));
                    }
                    p.addLast(new CrumfursAckDecoder(), new UmfursDecoder(), new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            if (ssl == null) {
                                sendRequest(ctx);
                            }
                            ctx.fireChannelActive();
                        }

                        @Override
                        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                            if (evt instanceof SslHandshakeCompletionEvent e) {
                                if (e.isSuccess()) {
                                    sendRequest(ctx);
                                } else {
                                    acked.tryFailure(e.cause());
                                }
                            }
                            ctx.fireUserEventTriggered(evt);
                        }

                        private void sendRequest(ChannelHandlerContext ctx) {
                            ctx.writeAndFlush(encode(VlessRequest.crumfurs(user), ctx));
                        }

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            if (msg instanceof CrumfursAck) {
                                acked.trySuccess(null);
                            } else if (msg instanceof UmfursMessage) {
                                umfurs.incrementAndGet();
                            }
                            ReferenceCountUtil.release(msg);
                        }

                        @Override
                        public void channelInactive(ChannelHandlerContext ctx) {
                            acked.tryFailure(new IllegalStateException("the server closed the CRUMFURS"));
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            acked.tryFailure(cause);
                            ctx.close();
                        }
                    });
                }
            }).connect(target.link().address());
            synchronized (crumfurs) {
                crumfurs.add(connected.channel()); // closed at the end whether it connected or not
            }
            connected.addListener(f -> {
                if (!f.isSuccess()) {
                    acked.tryFailure(f.cause());
                }
            });
            return acked;
        }

        /**
         * Opens the UDP-MUX connections and waits for each one's 0x15: for one user, one per generator loop in use
         * (one client whose datagrams leave from several threads); for a user per flow, one per user, on its flow's
         * loop (each user a client, and a NAT context, of its own).
         */
        private void openMuxes() throws Exception {
            boolean perUser = target.users().size() > 1;
            int count = perUser ? target.users().size() : Math.min(states.length, spec.flows());
            muxes = new MuxConnection[count];
            SslContext ssl = target.tls() ? tls.clientFor(target.link()) : null;
            for (int i = 0; i < count; i++) {
                MuxConnection m = new MuxConnection(net.loop(i), perUser ? target.users().get(i) : target.userFor(0));
                muxes[i] = m;
                net.tcp(net.loop(i), new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel c) {
                        ChannelPipeline p = c.pipeline();
                        if (ssl != null) {
                            p.addLast(ssl.newHandler(c.alloc()));
                        }
                        p.addLast(new MuxAckDecoder(), m);
                    }
                }).connect(target.link().address()).addListener(f -> {
                    if (!f.isSuccess()) {
                        m.acked.tryFailure(f.cause());
                    }
                });
            }
            for (MuxConnection m : muxes) {
                if (!m.acked.await(10, TimeUnit.SECONDS) || !m.acked.isSuccess()) {
                    throw new IllegalStateException(target.name() + ": no UDP-MUX answer (0x15): "
                            + (m.acked.cause() != null ? m.acked.cause() : "timed out"));
                }
            }
        }

        /**
         * One UDP-MUX connection: after the 0x15, frames from the server are handed to the flow whose peer is the
         * frame's source, found by address and port without building an address object per datagram.
         */
        final class MuxConnection extends ByteToMessageDecoder {
            final Promise<Void> acked;
            final LongObjectHashMap<Flow> bySource = new LongObjectHashMap<>();
            final UUID user;
            Channel channel;

            MuxConnection(EventLoop loop, UUID user) {
                acked = loop.newPromise();
                this.user = user;
            }

            @Override
            public void channelActive(ChannelHandlerContext ctx) throws Exception {
                channel = ctx.channel();
                if (!target.tls()) {
                    ctx.writeAndFlush(encode(VlessRequest.mux(user), ctx));
                }
                super.channelActive(ctx);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
                if (evt instanceof SslHandshakeCompletionEvent e) {
                    if (e.isSuccess()) {
                        ctx.writeAndFlush(encode(VlessRequest.mux(user), ctx));
                    } else {
                        acked.tryFailure(e.cause());
                    }
                }
                super.userEventTriggered(ctx, evt);
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
                if (msg instanceof MuxAck) {
                    acked.trySuccess(null);
                    return;
                }
                super.channelRead(ctx, msg);
            }

            @Override
            protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
                int length;
                while ((length = MuxFrameDecoder.frameLength(in, MuxFrameDecoder.Direction.FROM_SERVER)) >= 0) {
                    int start = in.readerIndex();
                    if (in.getByte(start) != 1) {
                        in.skipBytes(length); // the peers are IPv4; nothing else is expected
                        umfurs.incrementAndGet();
                        continue;
                    }
                    long key = key(in.getInt(start + 1), in.getUnsignedShort(start + 5));
                    int payload = in.getUnsignedShort(start + 7);
                    Flow flow = bySource.get(key);
                    if (flow == null) {
                        umfurs.incrementAndGet(); // a datagram from a source no flow talks to
                        in.skipBytes(length);
                    } else {
                        ByteBuf content = in.retainedSlice(start + 9, payload);
                        in.skipBytes(length);
                        flow.echoed(content);
                    }
                }
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
                super.channelReadComplete(ctx);
                ctx.flush();
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) throws Exception {
                if (!stopping) {
                    brokenFlows.addAndGet(bySource.size());
                    progress.note(target.name() + ": the UDP-MUX connection was closed by the server");
                }
                acked.tryFailure(new IllegalStateException("the server closed the UDP-MUX connection"));
                super.channelInactive(ctx);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                if (!stopping) {
                    progress.note(target.name() + ": UDP-MUX connection: " + cause);
                }
                acked.tryFailure(cause);
                ctx.close();
            }
        }

        void close() throws InterruptedException {
            stopping = true;
            for (LoopState st : states) {
                if (st.ticker != null) {
                    st.ticker.cancel(false);
                }
            }
            List<Future<?>> closing = new ArrayList<>();
            for (Flow f : flows) {
                if (f.channel != null) {
                    closing.add(f.channel.close());
                }
            }
            synchronized (crumfurs) {
                for (Channel c : crumfurs) {
                    closing.add(c.close());
                }
            }
            if (muxes != null) {
                for (MuxConnection m : muxes) {
                    if (m != null && m.channel != null) {
                        closing.add(m.channel.close());
                    }
                }
            }
            for (Future<?> f : closing) {
                f.await(5, TimeUnit.SECONDS);
            }
        }

        /** One flow: its slots, each holding the datagram it waits for. Touched on its loop only. */
        abstract class Flow extends ChannelInboundHandlerAdapter {
            final int index;
            final LoopState st;
            final EventLoop loop;
            final InetSocketAddress peer;
            final int[] seq;
            final long[] sentAt;
            final boolean[] busy;
            final Promise<Void> ready;
            int nextSeq;
            Channel channel;

            Flow(int index, LoopState st, InetSocketAddress peer) {
                this.index = index;
                this.st = st;
                this.loop = net.loop(index);
                this.peer = peer;
                seq = new int[spec.inFlight()];
                sentAt = new long[spec.inFlight()];
                busy = new boolean[spec.inFlight()];
                ready = loop.newPromise();
            }

            /** Connects or binds; the future completes when datagrams can be sent. */
            abstract Future<Void> open();

            /** Bytes before the payload in each buffer written: the VLESS frame header, or none. */
            abstract int headroom();

            /** Writes the {@link #headroom()} bytes for a datagram of {@code payload} bytes. */
            void writeHeader(ByteBuf buf, int payload) {
                if (headroom() > 0) {
                    buf.writeShort(payload);
                }
            }

            /** What to write for a datagram whose buffer starts with the headroom. */
            abstract Object message(ByteBuf datagram);

            void start() {
                long now = System.nanoTime();
                for (int slot = 0; slot < busy.length; slot++) {
                    send(slot, now);
                }
                channel.flush();
            }

            /** Sends a new datagram in {@code slot}, now or when the rate allows. */
            void send(int slot, long now) {
                busy[slot] = false;
                if (stopping || !channel.isActive()) {
                    return;
                }
                if (st.limiter != null && (!st.pending.isEmpty() || !st.limiter.tryTake(now))) {
                    st.pending.add(new long[] {index, slot});
                    return;
                }
                sendNow(slot, now);
            }

            void sendNow(int slot, long now) {
                if (stopping || !channel.isActive()) {
                    return;
                }
                int s = ++nextSeq;
                seq[slot] = s;
                sentAt[slot] = now;
                busy[slot] = true;
                if (now - windowStart >= 0 && now - windowEnd < 0) {
                    st.sentInWindow++;
                }
                int payload = spec.payload();
                ByteBuf buf = channel.alloc().ioBuffer(headroom() + payload);
                writeHeader(buf, payload);
                buf.writeLong(((long) slot << 32) | (s & 0xffffffffL));
                buf.writeLong(now);
                buf.writeZero(payload - TAG_BYTES);
                channel.write(message(buf), channel.voidPromise());
            }

            /** An echo came back. */
            void echoed(ByteBuf content) {
                long now = System.nanoTime();
                if (content.readableBytes() < TAG_BYTES) {
                    content.release();
                    return;
                }
                long tag = content.getLong(content.readerIndex());
                long sent = content.getLong(content.readerIndex() + 8);
                content.release();
                if (sent - windowStart >= 0 && sent - windowEnd < 0) {
                    st.echoedInWindow++;
                    st.rtt.recordValue(Math.min(now - sent, HIGHEST_RTT));
                }
                st.echoes = st.echoes + 1; // one writer: this loop
                int slot = (int) (tag >>> 32);
                int s = (int) tag;
                if (slot >= 0 && slot < busy.length && busy[slot] && seq[slot] == s) {
                    send(slot, now);
                } else {
                    st.late++;
                }
            }

            void checkTimeouts(long now) {
                boolean sentAny = false;
                for (int slot = 0; slot < busy.length; slot++) {
                    if (busy[slot] && now - sentAt[slot] > LOSS_TIMEOUT_NANOS) {
                        st.timeouts++;
                        send(slot, now);
                        sentAny = true;
                    }
                }
                if (sentAny) {
                    channel.flush();
                }
            }

            boolean awaitsWindowEcho() {
                long now = System.nanoTime();
                for (int slot = 0; slot < busy.length; slot++) {
                    if (busy[slot] && sentAt[slot] - windowEnd < 0 && now - sentAt[slot] <= LOSS_TIMEOUT_NANOS) {
                        return true;
                    }
                }
                return false;
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) {
                ctx.flush();
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                if (!stopping) {
                    brokenFlows.incrementAndGet();
                    progress.note(target.name() + ": flow " + index + " closed by the other end");
                }
                ready.tryFailure(new IllegalStateException("closed before it was ready"));
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                if (!stopping) {
                    progress.note(target.name() + ": flow " + index + ": " + cause);
                }
                ready.tryFailure(cause);
                ctx.close();
            }
        }

        /** A flow straight to its peer over UDP. */
        final class DirectFlow extends Flow {
            DirectFlow(int index, LoopState st, InetSocketAddress peer) {
                super(index, st, peer);
            }

            @Override
            Future<Void> open() {
                net.udp(loop, this).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                        .addListener(f -> {
                            if (f.isSuccess()) {
                                channel = ((io.netty.channel.ChannelFuture) f).channel();
                                ready.trySuccess(null);
                            } else {
                                ready.tryFailure(f.cause());
                            }
                        });
                return ready;
            }

            @Override
            int headroom() {
                return 0;
            }

            @Override
            Object message(ByteBuf datagram) {
                return new DatagramPacket(datagram, peer);
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                echoed(((DatagramPacket) msg).content());
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                // An ICMP error surfaces here; UDP goes on.
            }
        }

        /** A flow as one VLESS command-2 connection to the peer. */
        final class VlessFlow extends Flow {
            VlessFlow(int index, LoopState st, InetSocketAddress peer) {
                super(index, st, peer);
            }

            @Override
            Future<Void> open() {
                SslContext ssl;
                try {
                    ssl = target.tls() ? tls.clientFor(target.link()) : null;
                } catch (javax.net.ssl.SSLException e) {
                    return ready.setFailure(e);
                }
                VlessFlow self = this;
                net.tcp(loop, new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel c) {
                        ChannelPipeline p = c.pipeline();
                        if (ssl != null) {
                            p.addLast(ssl.newHandler(c.alloc()));
                        }
                        if (target.version() == VlessVersion.V0) {
                            p.addLast(new VlessResponseHeaderDecoder());
                        }
                        p.addLast(new UdpFrameDecoder(), self);
                    }
                }).connect(target.link().address()).addListener(f -> {
                    if (!f.isSuccess()) {
                        ready.tryFailure(f.cause());
                    }
                });
                return ready;
            }

            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                channel = ctx.channel();
                if (!target.tls()) {
                    sendRequest(ctx);
                }
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof SslHandshakeCompletionEvent e) {
                    if (e.isSuccess()) {
                        sendRequest(ctx);
                    } else {
                        ready.tryFailure(e.cause());
                    }
                }
                ctx.fireUserEventTriggered(evt);
            }

            private void sendRequest(ChannelHandlerContext ctx) {
                VlessRequest request = new VlessRequest(target.version(), target.userFor(index), new byte[0],
                        VlessCommand.UDP, VlessAddress.of(peer));
                ctx.writeAndFlush(encode(request, ctx));
                ready.trySuccess(null);
            }

            @Override
            int headroom() {
                return UdpFrame.HEADER_LENGTH;
            }

            @Override
            Object message(ByteBuf datagram) {
                return datagram;
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof ByteBuf payload) {
                    echoed(payload);
                } else {
                    ReferenceCountUtil.release(msg); // the v0 response header
                }
            }
        }

        /** A flow as one destination on its loop's UDP-MUX connection: each datagram is one frame to the peer. */
        final class MuxFlow extends Flow {
            private final int peerIpv4;

            MuxFlow(int index, LoopState st, InetSocketAddress peer) {
                super(index, st, peer);
                if (!(peer.getAddress() instanceof Inet4Address v4)) {
                    throw new IllegalArgumentException("peer " + peer + " (expected: IPv4)");
                }
                peerIpv4 = VlessAddress.ipv4Bits(v4);
            }

            @Override
            Future<Void> open() {
                MuxConnection m = muxes[index % muxes.length];
                channel = m.channel;
                m.bySource.put(key(peerIpv4, peer.getPort()), this);
                return ready.setSuccess(null);
            }

            @Override
            int headroom() {
                return 1 + 4 + 2 + 2;
            }

            @Override
            void writeHeader(ByteBuf buf, int payload) {
                // A client frame to an IPv4 destination: type 1, address, port, length (MUX-7).
                buf.writeByte(1).writeInt(peerIpv4).writeShort(peer.getPort()).writeShort(payload);
            }

            @Override
            Object message(ByteBuf datagram) {
                return datagram;
            }
        }
    }

    /** A peer's IPv4 address and port as one map key. */
    static long key(int ipv4, int port) {
        return ((ipv4 & 0xffffffffL) << 16) | port;
    }

    static ByteBuf encode(VlessRequest request, ChannelHandlerContext ctx) {
        ByteBuf header = ctx.alloc().buffer(request.encodedLength());
        VlessClientEncoder.encode(request, header);
        return header;
    }

    private static Double micros(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? null : h.getValueAtPercentile(percentile) / 1000.0;
    }
}
