// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFactory;
import io.netty.channel.EventLoopGroup;
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
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Inet6Address;
import java.net.StandardProtocolFamily;
import java.nio.channels.spi.SelectorProvider;

/** Native epoll where it is available, NIO otherwise: the channel types and event loops of one choice. */
public final class Transport {

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

    /** A new event loop group of {@code threads} threads (0: one per core). */
    public EventLoopGroup newGroup(int threads, String name) {
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    /** Seconds of idle before the first keepalive probe: TCP-4 asks for 60 or less; Linux defaults to 7200. */
    public static final int KEEPALIVE_IDLE_SECONDS = 60;

    /**
     * The socket options that make TCP keepalive probe after {@link #KEEPALIVE_IDLE_SECONDS} (TCP-4), for this
     * transport's channels; apply them with {@code option}/{@code childOption}.
     */
    public java.util.Map<io.netty.channel.ChannelOption<Integer>, Integer> keepAliveOptions() {
        if (epoll) {
            return java.util.Map.of(io.netty.channel.epoll.EpollChannelOption.TCP_KEEPIDLE, KEEPALIVE_IDLE_SECONDS,
                    io.netty.channel.epoll.EpollChannelOption.TCP_KEEPINTVL, 15,
                    io.netty.channel.epoll.EpollChannelOption.TCP_KEEPCNT, 4);
        }
        return java.util.Map.of(
                io.netty.channel.socket.nio.NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE),
                KEEPALIVE_IDLE_SECONDS,
                io.netty.channel.socket.nio.NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPINTERVAL), 15,
                io.netty.channel.socket.nio.NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPCOUNT), 4);
    }

    /** The listening channel type. */
    public Class<? extends ServerChannel> serverChannel() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** The outbound TCP channel type. */
    public Class<? extends SocketChannel> socketChannel() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** A factory of UDP channels for the family of {@code address}. */
    public ChannelFactory<DatagramChannel> datagramChannel(InetAddress address) {
        SocketProtocolFamily family = address instanceof Inet6Address ? SocketProtocolFamily.INET6
                : SocketProtocolFamily.INET;
        if (epoll) {
            return () -> new EpollDatagramChannel(family);
        }
        // NIO: open the JDK channel here and keep it, because NioDatagramChannel never sends an empty datagram and
        // hides the channel that can (see UdpSockets.send).
        StandardProtocolFamily jdkFamily = family == SocketProtocolFamily.INET6 ? StandardProtocolFamily.INET6
                : StandardProtocolFamily.INET;
        return () -> {
            try {
                java.nio.channels.DatagramChannel jdk = SelectorProvider.provider().openDatagramChannel(jdkFamily);
                NioDatagramChannel ch = new NioDatagramChannel(jdk);
                ch.attr(UdpSockets.JDK_CHANNEL).set(jdk);
                return ch;
            } catch (IOException e) {
                throw new ChannelException("cannot open a UDP socket", e);
            }
        };
    }
}
