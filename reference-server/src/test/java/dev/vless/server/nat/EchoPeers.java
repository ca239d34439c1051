// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.server.nat.IsolationLedger.Kind;
import dev.vless.server.nat.IsolationLedger.Tag;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The remote side of a load test, on loopback: echo peers that send back every datagram to where it came from (the
 * server's port) and tell an {@link IsolationLedger} what they saw, and strangers that send unsolicited tagged
 * datagrams to the server ports the peers have seen for each user. Endpoint indices follow the order of the
 * addresses given to {@link #bind}: echo peers first, then strangers.
 */
final class EchoPeers implements AutoCloseable {

    private static final InetAddress LOOPBACK4 = ip("127.0.0.1");
    private static final InetAddress LOOPBACK6 = ip("::1");

    private final EventLoopGroup group;
    private final boolean epoll;
    private final List<Channel> channels = new ArrayList<>();
    private final List<InetSocketAddress> addresses = new ArrayList<>();
    private final int strangersFrom;
    private final LongAdder echoesDropped = new LongAdder();
    private volatile IsolationLedger ledger;
    private volatile AtomicLongArray strangerSent = new AtomicLongArray(0);
    private ScheduledFuture<?> strangerTask;
    /** Numbers the strangers' datagrams; touched on the first stranger's event loop only. */
    private long strangerSeq;
    private final LongAdder errors = new LongAdder();

    private EchoPeers(int threads, int strangersFrom) {
        this.epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("iso-peers", true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.strangersFrom = strangersFrom;
    }

    /** Echo peers on {@code echoIps} and strangers on {@code strangerIps}, each on an ephemeral port. */
    static EchoPeers bind(List<String> echoIps, List<String> strangerIps, int threads) throws Exception {
        EchoPeers peers = new EchoPeers(threads, echoIps.size());
        try {
            List<String> all = new ArrayList<>(echoIps);
            all.addAll(strangerIps);
            for (int i = 0; i < all.size(); i++) {
                peers.bindOne(i, InetAddress.getByName(all.get(i)), i < echoIps.size());
            }
            return peers;
        } catch (Exception e) {
            peers.close();
            throw e;
        }
    }

    private void bindOne(int index, InetAddress ip, boolean echo) throws InterruptedException {
        // The family set explicitly, so that an IPv4 peer has an IPv4 socket and sees plain IPv4 sources.
        SocketProtocolFamily family = ip instanceof Inet6Address ? SocketProtocolFamily.INET6
                : SocketProtocolFamily.INET;
        ChannelFactory<DatagramChannel> factory = epoll ? () -> new EpollDatagramChannel(family)
                : () -> new NioDatagramChannel(family);
        Channel ch = new Bootstrap().group(group).channelFactory(factory)
                .option(ChannelOption.SO_RCVBUF, 4 << 20)
                .option(ChannelOption.SO_SNDBUF, 4 << 20)
                .handler(new Peer(index, echo))
                .bind(new InetSocketAddress(ip, 0)).sync().channel();
        channels.add(ch);
        addresses.add((InetSocketAddress) ch.localAddress());
    }

    /** Every endpoint's address, echo peers first, then strangers. */
    List<InetSocketAddress> addresses() {
        return List.copyOf(addresses);
    }

    /** Where the peers report from now on. */
    void reportTo(IsolationLedger ledger) {
        this.ledger = ledger;
    }

    /** Echoes not sent because the peer's socket could not take them: loss on the peers' side, for the report. */
    long echoesDropped() {
        return echoesDropped.sum();
    }

    /**
     * From now on, every millisecond each stranger sends one tagged datagram to each server port of its family that
     * the peers have seen for each of {@code users} users.
     */
    void startStrangers(int users) {
        strangerSent = new AtomicLongArray(users);
        Channel first = channels.get(strangersFrom);
        strangerTask = first.eventLoop().scheduleAtFixedRate(() -> strangerRound(users), 1, 1, TimeUnit.MILLISECONDS);
    }

    /** Each stranger sends one tagged datagram to each server port of its family seen for each user, now. */
    void strangersOnce(int users) {
        channels.get(strangersFrom).eventLoop().execute(() -> strangerRound(users));
    }

    private void strangerRound(int users) {
        for (int s = strangersFrom; s < channels.size(); s++) {
            Channel ch = channels.get(s);
            boolean v6 = addresses.get(s).getAddress() instanceof Inet6Address;
            // The server's ports as the peers saw them: from the loopback address of the family.
            InetAddress server = v6 ? LOOPBACK6 : LOOPBACK4;
            for (int u = 0; u < users; u++) {
                for (int port : ledger.ports(u, v6 ? 6 : 4)) {
                    ByteBuf b = ch.alloc().ioBuffer(TaggedClient.PAYLOAD);
                    new Tag(u, Kind.STRANGER, s, strangerSeq++).write(b);
                    b.writeZero(TaggedClient.PAYLOAD - Tag.LENGTH);
                    ch.write(new DatagramPacket(b, new InetSocketAddress(server, port)), ch.voidPromise());
                    if (strangerSent.length() > u) {
                        strangerSent.incrementAndGet(u);
                    }
                }
            }
            ch.flush();
        }
    }

    /** Stops the strangers. */
    void stopStrangers() {
        if (strangerTask != null) {
            strangerTask.cancel(false);
        }
    }

    /** Errors the endpoints' sockets reported, such as ICMP port unreachable; for the report. */
    long errors() {
        return errors.sum();
    }

    /** Unsolicited datagrams the strangers sent to {@code user}'s ports. */
    long strangerSent(int user) {
        return strangerSent.length() > user ? strangerSent.get(user) : 0;
    }

    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        stopStrangers();
        for (Channel ch : channels) {
            ch.close();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    }

    /** One endpoint: reports what it receives and, if it is an echo peer, sends it back. */
    private final class Peer extends SimpleChannelInboundHandler<DatagramPacket> {
        private final int index;
        private final boolean echo;

        Peer(int index, boolean echo) {
            this.index = index;
            this.echo = echo;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
            IsolationLedger l = ledger;
            if (l != null) {
                l.atPeer(index, p.sender(), Tag.read(p.content()));
            }
            if (!echo) {
                return;
            }
            if (ctx.channel().isWritable()) {
                ctx.write(new DatagramPacket(p.content().retain(), p.sender()), ctx.voidPromise());
            } else {
                echoesDropped.increment();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP port unreachable and the like: a UDP endpoint keeps going; the ledger sees what is missing.
            errors.increment();
        }
    }
}
