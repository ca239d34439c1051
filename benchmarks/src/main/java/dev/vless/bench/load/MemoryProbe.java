// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.codec.CrumfursAck;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessResponseHeaderDecoder;
import dev.vless.codec.VlessVersion;
import dev.vless.codec.udp.CrumfursAckDecoder;
import dev.vless.codec.udp.UdpFrameDecoder;
import dev.vless.codec.udp.UmfursDecoder;
import dev.vless.codec.udp.UmfursMessage;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Memory per idle connection and per UDP mapping, on a server process started for this alone (plaintext, limits
 * raised so that nothing is evicted). Method: measure, open N of a kind, wait until the server has set up all of
 * them, measure again; the difference over N is the cost of one. Heap is the live heap after a full collection
 * ({@code jcmd GC.class_histogram}: Java servers only); RSS is {@code VmRSS} from {@code /proc}, which includes
 * direct buffers, socket structures of the JVM and everything else the process touches, and moves in pages.
 *
 * <ul>
 *   <li>idle TCP connection: a command-1 connection to the TCP sink that carries nothing after its header (the
 *       server holds the client connection and its own connection to the sink);</li>
 *   <li>UDP connection: a command-2 connection to its own echo peer after one datagram there and back (client
 *       connection, relay, NAT flow, dialed and heard entries);</li>
 *   <li>heard mapping (v1 only): a datagram from a new source to the context's mapped address, which adds one heard
 *       entry and is delivered as a UMFURS; no connection is added.</li>
 * </ul>
 */
final class MemoryProbe {

    /**
     * One kind's cost.
     *
     * @param target       the server
     * @param item         what was added
     * @param count        how many
     * @param heapBytesPer live heap per item, or {@code null} when not a JVM
     * @param rssBytesPer  resident memory per item
     */
    record Row(String target, String item, int count, Double heapBytesPer, double rssBytesPer) {
    }

    private final Net net;
    private final Peers peers;
    private final Progress progress;

    MemoryProbe(Net net, Peers peers, Progress progress) {
        this.net = net;
        this.peers = peers;
        this.progress = progress;
    }

    List<Row> run(ManagedServer server, Target target, int n) throws Exception {
        List<Row> rows = new ArrayList<>();
        List<Channel> open = new ArrayList<>();
        // Peers 0..n-1 for the measurement, 16 more for the warm-up: a peer the warm-up used would already have
        // its table entries, and the measurement would miss them.
        List<InetSocketAddress> all = peers.udpEchoes(n + 16);
        List<InetSocketAddress> udpPeers = all.subList(0, n);
        InetSocketAddress sink = peers.tcpSink();
        try {
            // Warm up the code paths first, so that class loading and lazily built tables are in the baseline.
            List<Channel> warm = new ArrayList<>();
            int sinkBase = peers.sinkOpenConnections();
            openTcp(target, sink, 16, warm);
            AtomicLong warmEchoes = new AtomicLong();
            openUdp(target, all.subList(n, n + 16), warm, warmEchoes);
            await(warmEchoes::get, 16, "warm-up echoes");
            closeAll(warm);
            awaitSinkConnections(sinkBase);
            Thread.sleep(500);

            Snapshot before = snapshot(server);
            int sinkBefore = peers.sinkOpenConnections();
            openTcp(target, sink, n, open);
            awaitSinkConnections(sinkBefore + n);
            Snapshot after = snapshot(server);
            rows.add(row(target, "idle TCP connection (client + outbound)", n, before, after));
            progress.line("  memory " + target.name() + ": " + n + " idle TCP connections measured");
            closeAll(open);
            awaitSinkConnections(sinkBefore);
            Thread.sleep(1000);

            AtomicLong umfurs = new AtomicLong();
            Channel crumfurs = target.version() == VlessVersion.V1 ? openCrumfurs(target, umfurs) : null;
            Snapshot beforeUdp = snapshot(server);
            AtomicLong echoes = new AtomicLong();
            openUdp(target, udpPeers, open, echoes);
            await(echoes::get, n, "echoes of " + n + " UDP connections");
            Snapshot afterUdp = snapshot(server);
            rows.add(row(target, "UDP connection with its mapping", n, beforeUdp, afterUdp));
            progress.line("  memory " + target.name() + ": " + n + " UDP connections measured");

            if (crumfurs != null) {
                InetSocketAddress mapped = peers.lastSender(0);
                sendFromNewSources(mapped, n);
                await(umfurs::get, n, n + " UMFURS from new sources");
                Snapshot afterHeard = snapshot(server);
                rows.add(row(target, "heard mapping (no connection)", n, afterUdp, afterHeard));
                progress.line("  memory " + target.name() + ": " + n + " heard mappings measured");
                open.add(crumfurs);
            }
            return rows;
        } finally {
            closeAll(open);
        }
    }

    /** The server's live heap ({@code null} when not a JVM) and resident memory at one moment. */
    record Snapshot(Long heap, long rss) {
    }

    static Snapshot snapshot(ManagedServer server) throws IOException, InterruptedException {
        Thread.sleep(300); // let the last writes and reads settle
        Long heap = server.isJava() ? server.liveHeapBytes() : null;
        return new Snapshot(heap, ProcStat.rssBytes(server.pid()));
    }

    private static Row row(Target target, String item, int n, Snapshot before, Snapshot after) {
        Double heap = before.heap() == null ? null : (double) (after.heap() - before.heap()) / n;
        return new Row(target.name(), item, n, heap, (double) (after.rss() - before.rss()) / n);
    }

    private void openTcp(Target target, InetSocketAddress sink, int n, List<Channel> out) throws Exception {
        for (int i = 0; i < n; i++) {
            ClientHandler h = new ClientHandler() {
                @Override
                void ready(ChannelHandlerContext ctx) {
                    ctx.writeAndFlush(UdpEcho.encode(new VlessRequest(target.version(), target.link().user(),
                            new byte[0], VlessCommand.TCP, VlessAddress.of(sink)), ctx));
                }

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ReferenceCountUtil.release(msg);
                }
            };
            out.add(ClientHandler.connect(net.tcp(net.loop(i), h), target.link().address(), null,
                    () -> new ChannelHandler[0], h).sync().channel());
        }
    }

    private void openUdp(Target target, List<InetSocketAddress> to, List<Channel> out, AtomicLong echoes)
            throws Exception {
        for (int i = 0; i < to.size(); i++) {
            InetSocketAddress peer = to.get(i);
            ClientHandler h = new ClientHandler() {
                @Override
                void ready(ChannelHandlerContext ctx) {
                    ByteBuf b = UdpEcho.encode(new VlessRequest(target.version(), target.link().user(),
                            new byte[0], VlessCommand.UDP, VlessAddress.of(peer)), ctx);
                    b.writeShort(64).writeZero(64);
                    ctx.writeAndFlush(b);
                }

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof ByteBuf) {
                        echoes.incrementAndGet();
                    }
                    ReferenceCountUtil.release(msg);
                }
            };
            boolean v0 = target.version() == VlessVersion.V0;
            out.add(ClientHandler.connect(net.tcp(net.loop(i), h), target.link().address(), null,
                    () -> v0 ? new ChannelHandler[] {new VlessResponseHeaderDecoder(), new UdpFrameDecoder()}
                            : new ChannelHandler[] {new UdpFrameDecoder()}, h).sync().channel());
        }
    }

    private Channel openCrumfurs(Target target, AtomicLong umfurs) throws Exception {
        AtomicLong acks = new AtomicLong();
        ClientHandler h = new ClientHandler() {
            @Override
            void ready(ChannelHandlerContext ctx) {
                ctx.writeAndFlush(UdpEcho.encode(VlessRequest.crumfurs(target.link().user()), ctx));
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof CrumfursAck) {
                    acks.incrementAndGet();
                } else if (msg instanceof UmfursMessage) {
                    umfurs.incrementAndGet();
                }
                ReferenceCountUtil.release(msg);
            }
        };
        Channel ch = ClientHandler.connect(net.tcp(net.loop(0), h), target.link().address(), null,
                () -> new ChannelHandler[] {new CrumfursAckDecoder(), new UmfursDecoder()}, h).sync().channel();
        await(acks::get, 1, "the CRUMFURS acknowledgement");
        return ch;
    }

    /** One datagram from each of {@code n} addresses never used before (127.1.x.y), each from its own socket. */
    private static void sendFromNewSources(InetSocketAddress to, int n) throws IOException {
        ByteBuffer payload = ByteBuffer.allocate(64);
        for (int j = 0; j < n; j++) {
            int k = j / 254 * 256 + j % 254 + 1; // skip .0 and .255 in the last byte
            InetAddress source = InetAddress.getByAddress(new byte[] {127, 1, (byte) (k >> 8), (byte) k});
            try (DatagramChannel ch = DatagramChannel.open()) {
                ch.bind(new InetSocketAddress(source, 0));
                payload.clear();
                ch.send(payload, to);
            }
        }
    }

    private void awaitSinkConnections(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (peers.sinkOpenConnections() != count) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out waiting for " + count + " connections open at the sink "
                        + "(have " + peers.sinkOpenConnections() + ")");
            }
            Thread.sleep(20);
        }
    }

    /** Waits until {@code value} reaches {@code target}, for at most a minute. */
    private static void await(LongSupplier value, long target, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (value.getAsLong() < target) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out waiting for " + what + " (have " + value.getAsLong()
                        + ")");
            }
            Thread.sleep(20);
        }
    }

    private static void closeAll(List<Channel> channels) throws InterruptedException {
        for (Channel ch : channels) {
            ch.close().await(5, TimeUnit.SECONDS);
        }
        channels.clear();
    }
}
