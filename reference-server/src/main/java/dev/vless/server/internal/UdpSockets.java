package dev.vless.server.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/** Opens the server's outbound UDP sockets, all with the same options. */
public final class UdpSockets {

    /** Receive buffer per read: room for the largest datagram, so nothing is ever truncated (UDP-4). */
    public static final int RECEIVE_BUFFER = 65536;

    private UdpSockets() {
    }

    /**
     * Binds a UDP socket for the family of {@code target} on {@code loop}, at {@code ipv4}/{@code ipv6} or the
     * wildcard when that is {@code null}, with an ephemeral port.
     */
    public static ChannelFuture open(Transport transport, EventLoop loop, boolean ipv6, InetAddress ipv4Bind,
            InetAddress ipv6Bind, ChannelHandler handler) {
        InetAddress bind = ipv6 ? (ipv6Bind != null ? ipv6Bind : any("::")) : (ipv4Bind != null ? ipv4Bind
                : any("0.0.0.0"));
        return new Bootstrap()
                .group(loop)
                .channelFactory(transport.datagramChannel(bind))
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(RECEIVE_BUFFER))
                .option(ChannelOption.SO_RCVBUF, 1 << 20)
                .option(ChannelOption.SO_SNDBUF, 1 << 20)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 << 10, 512 << 10))
                .handler(handler)
                .bind(new InetSocketAddress(bind, 0));
    }

    /** Whether {@code address} needs an IPv6 socket. */
    public static boolean isIpv6(InetSocketAddress address) {
        return address.getAddress() instanceof Inet6Address;
    }

    private static InetAddress any(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
