// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import dev.vless.server.TransportChoice;
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
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Inet6Address;
import java.net.StandardProtocolFamily;
import java.nio.channels.spi.SelectorProvider;

/**
 * The channel types and event loops of one Netty transport: io_uring, epoll or NIO. A native transport that was asked
 * for but does not load here falls back to the next ({@link #fallback} says why), so a server configured for io_uring
 * still starts on a kernel without it.
 */
public final class Transport {

    private final TransportChoice kind;
    private final String fallback;

    private Transport(TransportChoice kind, String fallback) {
        this.kind = kind;
        this.fallback = fallback;
    }

    /** Native epoll if asked for and available, else NIO (the reference client's and benchmarks' choice). */
    public static Transport select(boolean preferNative) {
        return select(preferNative ? TransportChoice.EPOLL : TransportChoice.NIO);
    }

    /**
     * The transport for {@code choice}. {@code AUTO} is epoll: against io_uring it was ahead in 8 of 12 UDP workload
     * pairs (plaintext and TLS, per remote and UDP-MUX) and in TLS set-up, behind in 2 (benchmarks/README.md).
     * io_uring falls back to epoll and epoll to NIO when they do not load.
     */
    public static Transport select(TransportChoice choice) {
        String why = null;
        if (choice == TransportChoice.IO_URING) {
            if (IoUring.isAvailable()) {
                return new Transport(TransportChoice.IO_URING, null);
            }
            why = "io_uring is unavailable here (" + IoUring.unavailabilityCause() + ")";
            choice = TransportChoice.EPOLL;
        }
        if (choice == TransportChoice.AUTO || choice == TransportChoice.EPOLL) {
            if (Epoll.isAvailable()) {
                return new Transport(TransportChoice.EPOLL, why);
            }
            if (choice == TransportChoice.EPOLL) {
                why = (why == null ? "" : why + "; ") + "epoll is unavailable here (" + Epoll.unavailabilityCause()
                        + ")";
            }
        }
        return new Transport(TransportChoice.NIO, why);
    }

    /** Why the transport asked for is not the one in use, or {@code null} when it is. */
    public String fallback() {
        return fallback;
    }

    /** "io_uring", "epoll" or "nio". */
    public String name() {
        return kind.flagName();
    }

    /** A new event loop group of {@code threads} threads (0: one per core). */
    public EventLoopGroup newGroup(int threads, String name) {
        IoHandlerFactory factory = switch (kind) {
            case IO_URING -> IoUringIoHandler.newFactory();
            case EPOLL -> EpollIoHandler.newFactory();
            default -> NioIoHandler.newFactory();
        };
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    /** Seconds of idle before the first keepalive probe: TCP-4 asks for 60 or less; Linux defaults to 7200. */
    public static final int KEEPALIVE_IDLE_SECONDS = 60;

    /**
     * The socket options that make TCP keepalive probe after {@link #KEEPALIVE_IDLE_SECONDS} (TCP-4), for this
     * transport's channels; apply them with {@code option}/{@code childOption}.
     */
    public java.util.Map<io.netty.channel.ChannelOption<Integer>, Integer> keepAliveOptions() {
        if (kind == TransportChoice.IO_URING) {
            return java.util.Map.of(IoUringChannelOption.TCP_KEEPIDLE, KEEPALIVE_IDLE_SECONDS,
                    IoUringChannelOption.TCP_KEEPINTVL, 15, IoUringChannelOption.TCP_KEEPCNT, 4);
        }
        if (kind == TransportChoice.EPOLL) {
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
        return switch (kind) {
            case IO_URING -> IoUringServerSocketChannel.class;
            case EPOLL -> EpollServerSocketChannel.class;
            default -> NioServerSocketChannel.class;
        };
    }

    /** The outbound TCP channel type. */
    public Class<? extends SocketChannel> socketChannel() {
        return switch (kind) {
            case IO_URING -> IoUringSocketChannel.class;
            case EPOLL -> EpollSocketChannel.class;
            default -> NioSocketChannel.class;
        };
    }

    /** A factory of UDP channels for the family of {@code address}. */
    public ChannelFactory<DatagramChannel> datagramChannel(InetAddress address) {
        SocketProtocolFamily family = address instanceof Inet6Address ? SocketProtocolFamily.INET6
                : SocketProtocolFamily.INET;
        if (kind == TransportChoice.IO_URING) {
            return () -> new IoUringDatagramChannel(family);
        }
        if (kind == TransportChoice.EPOLL) {
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
