// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.codec.CrumfursAck;
import dev.vless.codec.MuxAck;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.udp.CrumfursAckDecoder;
import dev.vless.codec.udp.MuxAckDecoder;
import dev.vless.codec.udp.MuxFrame;
import dev.vless.codec.udp.MuxFrameDecoder;
import dev.vless.codec.udp.MuxFrameEncoder;
import dev.vless.codec.udp.UdpFrameDecoder;
import dev.vless.codec.udp.UmfursDecoder;
import dev.vless.codec.udp.UmfursMessage;
import dev.vless.server.nat.IsolationLedger.Kind;
import dev.vless.server.nat.IsolationLedger.Tag;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * v1 client connections for a load test, spoken with the spec module's codec on Netty so that a few threads can
 * drive dozens of connections as fast as the server's backpressure lets them: CRUMFURS, command-2 and UDP-MUX
 * connections that send {@link Tag tagged} datagrams and report every datagram they receive to an
 * {@link IsolationLedger}. Anything unexpected on a connection (a protocol error, a close by the server) is kept in
 * {@link #failures()}.
 */
final class TaggedClient implements AutoCloseable {

    /** Bytes of every datagram a connection sends: a tag and zeros. */
    static final int PAYLOAD = 512;
    /** Datagrams written per turn of the event loop before it reads again. */
    private static final int BATCH = 32;
    private static final long CONNECT_MILLIS = 10_000;

    private final InetSocketAddress server;
    private final IsolationLedger ledger;
    private final EventLoopGroup group;
    private final Class<? extends SocketChannel> channelType;
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private final Queue<String> failures = new ConcurrentLinkedQueue<>();
    private volatile boolean closing;

    /** A client of the server at {@code server} on {@code threads} event loops of its own. */
    TaggedClient(InetSocketAddress server, IsolationLedger ledger, int threads) {
        this.server = server;
        this.ledger = ledger;
        boolean epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("iso-client", true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.channelType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** A CRUMFURS connection of {@code user} (tagged {@code tag}), returned once its 0x14 has arrived. */
    Connection crumfurs(UUID user, int tag) throws Exception {
        return open(new Connection(VlessRequest.crumfurs(user), tag, -1, null));
    }

    /** A command-2 connection of {@code user} to endpoint {@code target}, returned once its header is written. */
    Connection commandTwo(UUID user, int tag, int target) throws Exception {
        VlessRequest request = VlessRequest.v1(user, VlessCommand.UDP, VlessAddress.of(ledger.endpoint(target)));
        return open(new Connection(request, tag, target, null));
    }

    /** A UDP-MUX connection of {@code user} sending to the endpoints {@code destinations}, once its 0x15 arrived. */
    Connection mux(UUID user, int tag, int... destinations) throws Exception {
        return open(new Connection(VlessRequest.mux(user), tag, -1, destinations));
    }

    private Connection open(Connection c) throws Exception {
        connections.add(c);
        // Small buffers on the client's side, so that the server's backpressure reaches the sender soon and little
        // is still in flight when the load stops: the server works through that backlog before the test goes on.
        new Bootstrap().group(group).channel(channelType)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_SNDBUF, 64 << 10)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(16 << 10, 32 << 10))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        c.initPipeline(ch.pipeline());
                    }
                })
                .connect(server);
        c.ready.get(CONNECT_MILLIS, TimeUnit.MILLISECONDS);
        return c;
    }

    /** Starts or stops the connections of user {@code tag} sending as fast as backpressure allows. */
    void sending(int tag, boolean on) {
        for (Connection c : connections) {
            if (c.user == tag) {
                c.sending(on);
            }
        }
    }

    /** What went wrong on any connection: protocol errors, exceptions, closes by the server. */
    List<String> failures() {
        return List.copyOf(failures);
    }

    @Override
    public void close() throws InterruptedException {
        closing = true;
        for (Connection c : connections) {
            Channel ch = c.channel;
            if (ch != null) {
                ch.close();
            }
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    }

    /** One connection: its request, what it sends and where it reports what it receives. */
    final class Connection extends ChannelInboundHandlerAdapter {

        final int user;
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        private final VlessRequest request;
        private final int target;
        private final int[] destinations;
        private final VlessAddress[] destinationAddresses;
        /** Datagrams received, by the endpoint their tag names as source (valid tags of this user only). */
        private final AtomicLongArray fromEndpoint;
        private volatile Channel channel;
        private volatile boolean sending;
        private boolean pumpScheduled;
        private long seq;
        private int next;
        private volatile long sent;

        Connection(VlessRequest request, int user, int target, int[] destinations) {
            this.request = request;
            this.user = user;
            this.target = target;
            this.destinations = destinations;
            this.fromEndpoint = new AtomicLongArray(ledger.endpoints());
            if (destinations == null) {
                destinationAddresses = null;
            } else {
                destinationAddresses = new VlessAddress[destinations.length];
                for (int i = 0; i < destinations.length; i++) {
                    destinationAddresses[i] = VlessAddress.of(ledger.endpoint(destinations[i]));
                }
            }
        }

        void initPipeline(ChannelPipeline p) {
            switch (request.command()) {
                case CRUMFURS -> p.addLast(new CrumfursAckDecoder(), new UmfursDecoder());
                case UDP_MUX -> p.addLast(new MuxAckDecoder(),
                        new MuxFrameDecoder(MuxFrameDecoder.Direction.FROM_SERVER));
                default -> p.addLast(new UdpFrameDecoder());
            }
            p.addLast(this);
        }

        /** Datagrams this connection received whose tag names endpoint {@code endpoint} as their source. */
        long receivedFrom(int endpoint) {
            return fromEndpoint.get(endpoint);
        }

        /** Sends one datagram to each destination now, whether or not the connection is sending. */
        void sendRound() {
            Channel ch = channel;
            ch.eventLoop().execute(() -> {
                if (ch.isActive()) {
                    ch.writeAndFlush(datagrams(ch, destinations == null ? 1 : destinations.length),
                            ch.voidPromise());
                }
            });
        }

        void sending(boolean on) {
            sending = on;
            Channel ch = channel;
            if (on && (destinations != null || target >= 0)) {
                ch.eventLoop().execute(this::schedulePump);
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channel = ctx.channel();
            ByteBuf header = ctx.alloc().buffer(request.encodedLength());
            VlessClientEncoder.encode(request, header);
            ctx.writeAndFlush(header).addListener(f -> {
                if (!f.isSuccess()) {
                    ready.completeExceptionally(f.cause());
                } else if (request.command() == VlessCommand.UDP) {
                    ready.complete(null); // v1 answers command 2 with no byte at all (RSP-1)
                }
            });
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof CrumfursAck || msg instanceof MuxAck) {
                    ready.complete(null);
                } else if (msg instanceof UmfursMessage m) {
                    Tag tag = Tag.read(m.content());
                    ledger.onCrumfurs(user, m.source(), tag);
                    count(tag);
                } else if (msg instanceof MuxFrame f) {
                    Tag tag = Tag.read(f.content());
                    ledger.onMux(user, f.address().toInetSocketAddress(), tag);
                    count(tag);
                } else if (msg instanceof ByteBuf b) {
                    Tag tag = Tag.read(b);
                    ledger.onCommandTwo(user, target, tag);
                    count(tag);
                } else {
                    fail("unexpected message " + msg);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void count(Tag tag) {
            if (tag != null && tag.user() == user) {
                fromEndpoint.incrementAndGet(tag.endpoint());
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                schedulePump();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            ready.completeExceptionally(new IllegalStateException(this + " closed before it was ready"));
            fail("closed by the server");
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ready.completeExceptionally(cause);
            fail(cause.toString());
            ctx.close();
        }

        private void fail(String what) {
            if (!closing) {
                failures.add(this + ": " + what);
            }
        }

        // One pump task at a time: writes a few batches while the channel is writable, then yields to reads; the
        // writability event restarts it once the server's backpressure lets go.
        private void schedulePump() {
            if (!pumpScheduled) {
                pumpScheduled = true;
                channel.eventLoop().execute(this::pump);
            }
        }

        private void pump() {
            pumpScheduled = false;
            Channel ch = channel;
            if (!sending || !ch.isActive()) {
                return;
            }
            for (int i = 0; i < 4 && ch.isWritable(); i++) {
                ch.write(datagrams(ch, BATCH), ch.voidPromise());
            }
            ch.flush();
            if (ch.isWritable()) {
                schedulePump();
            }
        }

        /**
         * The next {@code n} datagrams in one buffer, as command-2 frames (UDP-1) or as MUX frames to the next
         * destinations in turn (MUX-7). One buffer for many frames: the stream does not care, and with the leak
         * detector at PARANOID every buffer costs a stack trace, which would make the test client the bottleneck.
         */
        private ByteBuf datagrams(Channel ch, int n) {
            // 1 + 16 + 2 + 2: the longest MUX header (IPv6); a command-2 header is 2.
            ByteBuf b = ch.alloc().ioBuffer(n * (21 + PAYLOAD));
            for (int k = 0; k < n; k++) {
                Tag tag;
                if (destinations != null) {
                    int i = next++ % destinations.length;
                    MuxFrameEncoder.encodeHeader(destinationAddresses[i], PAYLOAD, b);
                    tag = new Tag(user, Kind.MUX, destinations[i], seq++);
                } else {
                    b.writeShort(PAYLOAD);
                    tag = new Tag(user, Kind.FLOW, target, seq++);
                }
                tag.write(b);
                b.writeZero(PAYLOAD - Tag.LENGTH);
            }
            sent = seq;
            return b;
        }

        /** Datagrams written so far. */
        long sent() {
            return sent;
        }

        /** Whether the connection can take more now, or is held back by the server (for the report). */
        boolean writable() {
            Channel ch = channel;
            return ch != null && ch.isWritable();
        }

        @Override
        public String toString() {
            String what = switch (request.command()) {
                case CRUMFURS -> "CRUMFURS";
                case UDP_MUX -> "MUX connection";
                default -> "command-2 connection to endpoint " + target;
            };
            return "user " + user + "'s " + what;
        }
    }
}
