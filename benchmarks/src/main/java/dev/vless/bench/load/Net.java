// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The generator's event loops (native epoll where available, as the reference server uses) and bootstraps with the
 * options every workload shares.
 */
final class Net implements AutoCloseable {

    /** Room for the largest datagram in every read, so that nothing is truncated. */
    static final int DATAGRAM_BUFFER = 65536;

    private final boolean epoll;
    private final EventLoopGroup group;
    private final List<EventLoop> loops = new ArrayList<>();

    Net(int threads) {
        epoll = Epoll.isAvailable();
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("vless-bench", true), factory);
        for (var e : group) {
            loops.add((EventLoop) e);
        }
    }

    String transport() {
        return epoll ? "epoll" : "nio";
    }

    int loopCount() {
        return loops.size();
    }

    /** The {@code i}-th loop, modulo their number: lets a workload spread flows evenly and know where each runs. */
    EventLoop loop(int i) {
        return loops.get(Math.floorMod(i, loops.size()));
    }

    EventLoopGroup group() {
        return group;
    }

    Class<? extends SocketChannel> socketChannel() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    Class<? extends ServerChannel> serverChannel() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    Class<? extends DatagramChannel> datagramChannel() {
        return epoll ? EpollDatagramChannel.class : NioDatagramChannel.class;
    }

    /** A TCP client bootstrap on {@code loop}: no Nagle, as a proxy client sends small frames. */
    Bootstrap tcp(EventLoop loop, ChannelHandler handler) {
        return new Bootstrap().group(loop).channel(socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(handler);
    }

    /** A UDP bootstrap on {@code loop} whose reads never truncate. */
    Bootstrap udp(EventLoop loop, ChannelHandler handler) {
        return new Bootstrap().group(loop).channel(datagramChannel())
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(DATAGRAM_BUFFER))
                .option(ChannelOption.SO_RCVBUF, 1 << 20)
                .option(ChannelOption.SO_SNDBUF, 1 << 20)
                .handler(handler);
    }

    /** A TCP server bootstrap whose connections run on the generator's loops. */
    ServerBootstrap tcpServer(ChannelHandler childHandler) {
        return new ServerBootstrap().group(group).channel(serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(childHandler);
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
