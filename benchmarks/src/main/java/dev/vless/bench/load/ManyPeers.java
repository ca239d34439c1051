// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.codec.CrumfursAck;
import dev.vless.codec.MuxAck;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.udp.CrumfursAckDecoder;
import dev.vless.codec.udp.MuxAckDecoder;
import dev.vless.codec.udp.MuxFrameDecoder;
import dev.vless.codec.udp.UdpFrameDecoder;
import dev.vless.codec.udp.UmfursDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The many-peers workload: one client talks to {@code peers} remotes (a DHT node's burst of lookups), a few datagrams
 * each, ping-pong per remote, all remotes at once. Per remote (v1 as a client must: CRUMFURS, then one command-2
 * connection, with its TLS handshake, per remote) or over one UDP-MUX connection (command 5), against a fresh server
 * each, so that what the server holds afterwards is this workload's alone.
 *
 * <p>Measured: set-up time (start until every remote's first echo is back, connections and handshakes included), total
 * time (until every datagram is echoed), the server's CPU per datagram round trip over the whole run, the client's
 * TCP connections, and the server's memory with everything still open (live heap after a full collection, RSS).
 */
final class ManyPeers {

    private static final int PAYLOAD = 128;
    private static final long RESEND_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long GIVE_UP_NANOS = TimeUnit.SECONDS.toNanos(180);

    /** The workload's shape: {@code PEERSxDATAGRAMS}, such as {@code 1000x4}. */
    record Spec(int peers, int datagrams) {
        Spec {
            if (peers < 1 || peers > 4000) {
                throw new IllegalArgumentException("peers: " + peers + " (expected: 1-4000)");
            }
            if (datagrams < 1 || datagrams > 1000) {
                throw new IllegalArgumentException("datagrams per peer: " + datagrams + " (expected: 1-1000)");
            }
        }

        static Spec parse(String text) {
            String[] f = text.trim().toLowerCase(Locale.ROOT).split("x");
            if (f.length != 2) {
                throw new IllegalArgumentException("many-peers workload '" + text + "' (expected: PEERSxDATAGRAMS, "
                        + "such as 1000x4)");
            }
            return new Spec(Integer.parseInt(f[0]), Integer.parseInt(f[1]));
        }

        String label() {
            return peers + " remotes × " + datagrams + " datagrams of " + PAYLOAD + " B";
        }
    }

    /**
     * One mode's figures.
     *
     * @param target          the server and mode
     * @param label           the workload in words
     * @param tcpConnections  the client's connections to the server
     * @param setupMs         until every remote's first echo was back
     * @param totalMs         until every datagram was echoed
     * @param serverCpuUsPerDatagram server CPU per round trip, over the whole run
     * @param heapBytes       the server's live heap added, or {@code null} when not a JVM
     * @param rssBytes        the server's resident memory added
     * @param resent          datagrams sent again after 1 s without an echo
     */
    record Row(String target, String label, int tcpConnections, double setupMs, double totalMs,
            Double serverCpuUsPerDatagram, Double heapBytes, double rssBytes, long resent) {
    }

    private final Net net;
    private final Peers peers;
    private final TlsMaterial tls;
    private final Progress progress;

    ManyPeers(Net net, Peers peers, TlsMaterial tls, Progress progress) {
        this.net = net;
        this.peers = peers;
        this.tls = tls;
        this.progress = progress;
    }

    Row run(ManagedServer server, Target target, Spec spec) throws Exception {
        // The measured remotes first, 16 more for the warm-up, whose entries must not be the measured ones'.
        List<InetSocketAddress> all = peers.udpEchoes(spec.peers() + 16);
        Attempt warm = new Attempt(target, all.subList(spec.peers(), spec.peers() + 16), 2);
        try {
            warm.start();
            warm.await();
        } finally {
            warm.close();
        }
        Thread.sleep(500);
        MemoryProbe.Snapshot before = MemoryProbe.snapshot(server);
        Attempt a = new Attempt(target, all.subList(0, spec.peers()), spec.datagrams());
        try {
            Cpu cpu = Cpu.start(target.pid());
            a.start();
            a.await();
            Cpu.Sample used = cpu.stop();
            MemoryProbe.Snapshot after = MemoryProbe.snapshot(server);
            long roundTrips = (long) spec.peers() * spec.datagrams();
            Row row = new Row(target.name(), spec.label(), a.connections.get(),
                    (a.firstAllNanos - a.startNanos) / 1e6, (a.doneNanos - a.startNanos) / 1e6,
                    used.serverMicrosPer(roundTrips),
                    before.heap() == null ? null : (double) (after.heap() - before.heap()),
                    after.rss() - before.rss(), a.resent.get());
            progress.line(String.format(Locale.ROOT, "  = %s: set-up %.0f ms, all %.0f ms, %d TCP connections%s",
                    row.target(), row.setupMs(), row.totalMs(), row.tcpConnections(),
                    row.serverCpuUsPerDatagram() == null ? ""
                            : String.format(Locale.ROOT, ", server %.1f µs CPU/datagram",
                                    row.serverCpuUsPerDatagram())));
            return row;
        } finally {
            a.close();
        }
    }

    /** One pass over a list of remotes. Counters are shared by the generator's loops, hence atomic. */
    private final class Attempt {
        final Target target;
        final List<InetSocketAddress> remotes;
        final int datagrams;
        final Remote[] state;
        final AtomicInteger firstEchoes = new AtomicInteger();
        final AtomicInteger finished = new AtomicInteger();
        final AtomicInteger connections = new AtomicInteger();
        final AtomicLong resent = new AtomicLong();
        final ConcurrentLinkedQueue<Channel> channels = new ConcurrentLinkedQueue<>();
        final List<ScheduledFuture<?>> tickers = new ArrayList<>();
        final SslContext ssl;
        volatile long startNanos;
        volatile long firstAllNanos;
        volatile long doneNanos;
        volatile Throwable failure;

        Attempt(Target target, List<InetSocketAddress> remotes, int datagrams) throws Exception {
            this.target = target;
            this.remotes = remotes;
            this.datagrams = datagrams;
            this.ssl = target.tls() ? tls.clientFor(target.link()) : null;
            state = new Remote[remotes.size()];
        }

        void start() throws Exception {
            startNanos = System.nanoTime();
            if (target.mux()) {
                Mux mux = new Mux();
                for (int i = 0; i < state.length; i++) {
                    state[i] = new Remote(i, remotes.get(i), null);
                    mux.bySource.put(UdpEcho.key(state[i].ipv4, state[i].address.getPort()), state[i]);
                }
                connect(net.loop(0), new ChannelHandler[] {new MuxAckDecoder(), mux}, new ClientHandler() {
                    @Override
                    void ready(ChannelHandlerContext ctx) {
                        // Mux sends the request itself, once TLS (if any) is up.
                    }
                });
                tickers.add(net.loop(0).scheduleAtFixedRate(() -> resendOverdue(0, 1), 200, 200,
                        TimeUnit.MILLISECONDS));
                return;
            }
            // As a v1 client must: CRUMFURS acknowledged before the first command-2 request (CRF-5).
            io.netty.util.concurrent.Promise<Void> acked = net.loop(0).newPromise();
            connect(net.loop(0), new ChannelHandler[] {new CrumfursAckDecoder(), new UmfursDecoder()},
                    new ClientHandler() {
                        @Override
                        void ready(ChannelHandlerContext ctx) {
                            ctx.writeAndFlush(UdpEcho.encode(VlessRequest.crumfurs(target.link().user()), ctx));
                        }

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            if (msg instanceof CrumfursAck) {
                                acked.trySuccess(null);
                            }
                            ReferenceCountUtil.release(msg);
                        }

                        @Override
                        void failed(ChannelHandlerContext ctx, Throwable cause) {
                            acked.tryFailure(cause);
                        }
                    });
            if (!acked.await(30, TimeUnit.SECONDS) || !acked.isSuccess()) {
                throw new IllegalStateException(target.name() + ": no CRUMFURS acknowledgement: " + acked.cause());
            }
            for (int i = 0; i < state.length; i++) {
                Remote r = new Remote(i, remotes.get(i), null);
                state[i] = r;
                connect(net.loop(i), new ChannelHandler[] {new UdpFrameDecoder()}, new PerRemote(r));
            }
            for (int l = 0; l < net.loopCount(); l++) {
                int loop = l;
                tickers.add(net.loop(l).scheduleAtFixedRate(() -> resendOverdue(loop, net.loopCount()), 200, 200,
                        TimeUnit.MILLISECONDS));
            }
        }

        private void connect(io.netty.channel.EventLoop loop, ChannelHandler[] decoders, ClientHandler last) {
            connections.incrementAndGet();
            ClientHandler.connect(net.tcp(loop, last), target.link().address(), ssl, () -> decoders, last)
                    .addListener(f -> {
                        if (f.isSuccess()) {
                            channels.add(((io.netty.channel.ChannelFuture) f).channel());
                        } else {
                            failure = f.cause();
                        }
                    });
        }

        /** Sends again what waited more than a second for its echo (loop {@code loop} of {@code of}). */
        private void resendOverdue(int loop, int of) {
            long now = System.nanoTime();
            for (int i = loop; i < state.length; i += of) {
                Remote r = state[i];
                if (r != null && r.channel != null && r.awaiting && now - r.sentAt > RESEND_NANOS) {
                    resent.incrementAndGet();
                    r.send(now);
                    r.channel.flush();
                }
            }
        }

        void await() throws Exception {
            long deadline = System.nanoTime() + GIVE_UP_NANOS;
            while (finished.get() < state.length) {
                if (failure != null) {
                    throw new IllegalStateException(target.name() + ": " + failure, failure);
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(target.name() + ": " + finished.get() + " of " + state.length
                            + " remotes done after " + TimeUnit.NANOSECONDS.toSeconds(GIVE_UP_NANOS) + " s");
                }
                Thread.sleep(5);
            }
        }

        void close() throws InterruptedException {
            tickers.forEach(t -> t.cancel(false));
            List<io.netty.util.concurrent.Future<?>> closing = new ArrayList<>();
            for (Channel c : channels) {
                closing.add(c.close());
            }
            for (io.netty.util.concurrent.Future<?> f : closing) {
                f.await(5, TimeUnit.SECONDS);
            }
        }

        /** One remote: how many echoes it has had; touched on its connection's loop (and by its resend ticker). */
        final class Remote {
            final int index;
            final InetSocketAddress address;
            final int ipv4;
            Channel channel;
            int echoes;
            boolean awaiting;
            long sentAt;
            /** Frame header bytes before the payload: 2 for command 2, 9 for a MUX frame to IPv4. */
            boolean mux;

            Remote(int index, InetSocketAddress address, Channel channel) {
                this.index = index;
                this.address = address;
                this.channel = channel;
                if (!(address.getAddress() instanceof Inet4Address v4)) {
                    throw new IllegalArgumentException("remote " + address + " (expected: IPv4)");
                }
                this.ipv4 = VlessAddress.ipv4Bits(v4);
            }

            /** Writes the next datagram (not flushed): the remote's index and its sequence number lead the payload. */
            void send(long now) {
                ByteBuf b = channel.alloc().ioBuffer((mux ? 9 : 2) + PAYLOAD);
                if (mux) {
                    b.writeByte(1).writeInt(ipv4).writeShort(address.getPort());
                }
                b.writeShort(PAYLOAD).writeInt(index).writeInt(echoes).writeZero(PAYLOAD - 8);
                awaiting = true;
                sentAt = now;
                channel.write(b, channel.voidPromise());
            }

            void echoed(long now) {
                if (!awaiting) {
                    return; // a late echo of a datagram sent again
                }
                awaiting = false;
                echoes++;
                if (echoes == 1 && firstEchoes.incrementAndGet() == state.length) {
                    firstAllNanos = now;
                }
                if (echoes == datagrams) {
                    if (finished.incrementAndGet() == state.length) {
                        doneNanos = now;
                    }
                } else {
                    send(now);
                }
            }
        }

        /** A command-2 connection to one remote: header and first datagram in one write. */
        final class PerRemote extends ClientHandler {
            final Remote remote;

            PerRemote(Remote remote) {
                this.remote = remote;
            }

            @Override
            void ready(ChannelHandlerContext ctx) {
                remote.channel = ctx.channel();
                ctx.write(UdpEcho.encode(new VlessRequest(target.version(), target.link().user(), new byte[0],
                        VlessCommand.UDP, VlessAddress.of(remote.address)), ctx));
                remote.send(System.nanoTime());
                ctx.flush();
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
                if (msg instanceof ByteBuf) {
                    remote.echoed(System.nanoTime());
                }
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) {
                ctx.flush();
            }

            @Override
            void failed(ChannelHandlerContext ctx, Throwable cause) {
                failure = cause;
            }
        }

        /** The one UDP-MUX connection: every remote's first datagram goes out in one burst after the 0x15. */
        final class Mux extends ByteToMessageDecoder {
            final LongObjectHashMap<Remote> bySource = new LongObjectHashMap<>();
            private boolean tlsReady;

            @Override
            public void channelActive(ChannelHandlerContext ctx) throws Exception {
                if (ssl == null) {
                    request(ctx);
                }
                super.channelActive(ctx);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
                if (evt instanceof io.netty.handler.ssl.SslHandshakeCompletionEvent e) {
                    if (e.isSuccess() && !tlsReady) {
                        tlsReady = true;
                        request(ctx);
                    } else if (!e.isSuccess()) {
                        failure = e.cause();
                    }
                }
                super.userEventTriggered(ctx, evt);
            }

            private void request(ChannelHandlerContext ctx) {
                ctx.writeAndFlush(UdpEcho.encode(VlessRequest.mux(target.link().user()), ctx));
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
                if (msg instanceof MuxAck) {
                    long now = System.nanoTime();
                    for (Remote r : state) {
                        r.channel = ctx.channel();
                        r.mux = true;
                        r.send(now); // no frame before the 0x15 (MUX-4)
                    }
                    ctx.flush();
                    return;
                }
                super.channelRead(ctx, msg);
            }

            @Override
            protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
                int length;
                long now = System.nanoTime();
                while ((length = MuxFrameDecoder.frameLength(in, MuxFrameDecoder.Direction.FROM_SERVER)) >= 0) {
                    int start = in.readerIndex();
                    Remote r = in.getByte(start) != 1 ? null
                            : bySource.get(UdpEcho.key(in.getInt(start + 1), in.getUnsignedShort(start + 5)));
                    in.skipBytes(length);
                    if (r != null) {
                        r.echoed(now);
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
                if (finished.get() < state.length) {
                    failure = new IllegalStateException("the server closed the UDP-MUX connection");
                }
                super.channelInactive(ctx);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                failure = cause;
                ctx.close();
            }
        }
    }
}
