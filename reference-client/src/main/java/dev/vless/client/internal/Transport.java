// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.SocketOption;

/** Native epoll where it is available, NIO otherwise: the channel types and event loops of one choice. */
public final class Transport {

    /** TCP keepalive idle time on connections to the server (TCP-4: 60 s or less). */
    static final int KEEPALIVE_IDLE_SECONDS = 60;
    static final int KEEPALIVE_INTERVAL_SECONDS = 10;
    static final int KEEPALIVE_PROBES = 3;

    private final boolean epoll;

    private Transport(boolean epoll) {
        this.epoll = epoll;
    }

    /** Epoll if asked for and available, else NIO. */
    public static Transport select(boolean preferNative) {
        return new Transport(preferNative && Epoll.isAvailable());
    }

    /** "epoll" or "nio". */
    public String name() {
        return epoll ? "epoll" : "nio";
    }

    /** A new event loop group of {@code threads} threads (0: Netty's default). */
    public EventLoopGroup newGroup(int threads, String name) {
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    /** The listening channel type. */
    public Class<? extends ServerChannel> serverChannel() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** The outbound TCP channel type. */
    Class<? extends SocketChannel> socketChannel() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** A factory of UDP channels of the family of {@code address}. */
    ChannelFactory<DatagramChannel> datagramChannel(InetAddress address) {
        SocketProtocolFamily family = address instanceof Inet6Address ? SocketProtocolFamily.INET6
                : SocketProtocolFamily.INET;
        return epoll ? () -> new EpollDatagramChannel(family) : () -> new NioDatagramChannel(family);
    }

    /** Turns TCP keepalive on with a 60 s idle time (TCP-4), through whichever option this transport has. */
    void keepAlive(Bootstrap b) {
        b.option(ChannelOption.SO_KEEPALIVE, true);
        if (epoll) {
            b.option(EpollChannelOption.TCP_KEEPIDLE, KEEPALIVE_IDLE_SECONDS);
            b.option(EpollChannelOption.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_SECONDS);
            b.option(EpollChannelOption.TCP_KEEPCNT, KEEPALIVE_PROBES);
        } else {
            nioOption(b, "TCP_KEEPIDLE", KEEPALIVE_IDLE_SECONDS);
            nioOption(b, "TCP_KEEPINTERVAL", KEEPALIVE_INTERVAL_SECONDS);
            nioOption(b, "TCP_KEEPCOUNT", KEEPALIVE_PROBES);
        }
    }

    // jdk.net.ExtendedSocketOptions exists on the usual JDKs but is not part of java.base: looked up, not linked.
    @SuppressWarnings("unchecked")
    private static void nioOption(Bootstrap b, String name, int value) {
        try {
            Class<?> options = Class.forName("jdk.net.ExtendedSocketOptions");
            SocketOption<Integer> option = (SocketOption<Integer>) options.getField(name).get(null);
            b.option(NioChannelOption.of(option), value);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // Without it the operating system's keepalive idle time applies.
        }
    }
}
