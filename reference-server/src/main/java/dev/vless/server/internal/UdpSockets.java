// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.AttributeKey;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Opens the server's outbound UDP sockets, all with the same options. */
public final class UdpSockets {

    /** Receive buffer per read: room for the largest datagram, so nothing is ever truncated (UDP-4). */
    public static final int RECEIVE_BUFFER = 65536;

    /**
     * Datagrams one wake-up reads from a socket before the loop serves its other channels (Netty's default is 16).
     * A context's socket receives the answers to everything its loop's client connections send, and one read of a
     * busy client connection can carry hundreds of frames: with 16 the loop sent far more than it read back, and
     * under load the kernel dropped most answers at the full receive buffer. Not more: at 1024 a flood of datagrams
     * at one context's socket held its loop for milliseconds per wake-up, and another user on that loop waited
     * (MemoryCapTest: that user's round trip went from 0.6 to 13-65 ms; at 256 it stays under 1 ms). The loop still
     * stops early once the socket is empty.
     */
    public static final int MAX_DATAGRAMS_PER_READ = 256;

    /**
     * The most bytes a UDP socket may have queued in Netty before datagrams for it are dropped (SOCKET_BACKLOG).
     * Client connections stop being read once their socket passes its high water mark (512 KiB), so only what the
     * clients' reads already decoded lands above it; this bounds even that.
     */
    public static final long MAX_QUEUED_BYTES = 4L << 20;

    /** Whether {@code ch} has more queued than {@link #MAX_QUEUED_BYTES}. */
    public static boolean overQueueLimit(Channel ch) {
        io.netty.channel.ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        return out != null && out.totalPendingWriteBytes() > MAX_QUEUED_BYTES;
    }

    /** The JDK channel under an NIO datagram channel, kept by {@link Transport} so that empty datagrams can be sent. */
    static final AttributeKey<java.nio.channels.DatagramChannel> JDK_CHANNEL =
            AttributeKey.valueOf(UdpSockets.class, "jdkChannel");

    /** A direct buffer that is only ever read from index 0 to 0: the payload of an empty datagram. */
    private static final ByteBuffer NOTHING = ByteBuffer.allocateDirect(1);

    private UdpSockets() {
    }

    /**
     * Sends {@code payload} to {@code target} from {@code ch}, taking the buffer over. Netty's datagram channels (NIO
     * and epoll alike) treat a write of zero bytes as done without sending anything, yet an empty datagram is valid
     * and must be relayed (UDP-2); those are handed to the socket directly, on its event loop so that they stay in
     * order with the datagrams written before them (unless those are still queued because the socket is full).
     */
    public static ChannelFuture send(DatagramChannel ch, ByteBuf payload, InetSocketAddress target) {
        if (payload.isReadable()) {
            return ch.writeAndFlush(new DatagramPacket(payload, target));
        }
        payload.release();
        ChannelPromise promise = ch.newPromise();
        if (ch.eventLoop().inEventLoop()) {
            sendEmpty(ch, target, promise);
        } else {
            ch.eventLoop().execute(() -> sendEmpty(ch, target, promise));
        }
        return promise;
    }

    private static void sendEmpty(DatagramChannel ch, InetSocketAddress target, ChannelPromise promise) {
        if (!ch.isActive()) {
            promise.setFailure(new ClosedChannelException());
            return;
        }
        try {
            if (ch instanceof UnixChannel unix && unix.fd() instanceof Socket socket) {
                // epoll and io_uring alike: the native socket takes a zero-length sendto.
                socket.sendTo(NOTHING, 0, 0, target.getAddress(), target.getPort());
            } else {
                java.nio.channels.DatagramChannel jdk = ch.attr(JDK_CHANNEL).get();
                if (jdk == null) {
                    throw new IOException("cannot send an empty datagram on " + ch.getClass().getSimpleName());
                }
                jdk.send(ByteBuffer.allocate(0), target);
            }
            promise.setSuccess();
        } catch (IOException | RuntimeException e) {
            promise.setFailure(e);
        }
    }

    /** SO_RCVBUF of a v0 connection's own socket: it serves one flow, so 1 MiB holds any burst of it. */
    public static final int FLOW_RECEIVE_BUFFER = 1 << 20;

    private static final Logger log = LoggerFactory.getLogger(UdpSockets.class);
    private static final AtomicBoolean CAP_REPORTED = new AtomicBoolean();
    private static final boolean LINUX = "linux".equals(PlatformDependent.normalizedOs());

    /**
     * Binds a UDP socket for the family of {@code target} on {@code loop}, at {@code ipv4}/{@code ipv6} or the
     * wildcard when that is {@code null}, with an ephemeral port and a receive buffer of {@code receiveBuffer} bytes
     * (capped by the kernel: the first socket that gets less logs a warning saying how to raise the cap).
     */
    public static ChannelFuture open(Transport transport, EventLoop loop, boolean ipv6, InetAddress ipv4Bind,
            InetAddress ipv6Bind, int receiveBuffer, ChannelHandler handler) {
        InetAddress bind = ipv6 ? (ipv6Bind != null ? ipv6Bind : any("::")) : (ipv4Bind != null ? ipv4Bind
                : any("0.0.0.0"));
        ChannelFuture bound = new Bootstrap()
                .group(loop)
                .channelFactory(transport.datagramChannel(bind))
                .option(ChannelOption.RCVBUF_ALLOCATOR,
                        new FixedRecvByteBufAllocator(RECEIVE_BUFFER).maxMessagesPerRead(MAX_DATAGRAMS_PER_READ))
                .option(ChannelOption.SO_RCVBUF, receiveBuffer)
                .option(ChannelOption.SO_SNDBUF, 1 << 20)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 << 10, 512 << 10))
                .handler(handler)
                .bind(new InetSocketAddress(bind, 0));
        if (!CAP_REPORTED.get()) {
            bound.addListener(f -> {
                if (f.isSuccess()) {
                    reportCap(bound.channel(), receiveBuffer);
                }
            });
        }
        return bound;
    }

    /** Logs once when the kernel gave a socket less receive buffer than asked (see {@link #granted}). */
    private static void reportCap(Channel ch, int asked) {
        int granted = granted(ch);
        if (granted < asked && CAP_REPORTED.compareAndSet(false, true)) {
            log.warn("UDP receive buffers are capped by the kernel at {} bytes, below the {} asked for "
                    + "(--udp-receive-buffer): bursts to one NAT context may be dropped (counted as udp-rx-overflows "
                    + "in the stats). Raise the cap with: sysctl -w net.core.rmem_max={}", granted, asked, asked);
        }
    }

    /**
     * The receive buffer the kernel granted {@code ch}. Linux reports twice what it granted (the second half pays for
     * its bookkeeping); the JDK halves that again for NIO's channels, Netty's native channels pass it on as it is.
     */
    static int granted(Channel ch) {
        int readBack = ((DatagramChannel) ch).config().getReceiveBufferSize();
        return LINUX && ch instanceof UnixChannel ? readBack / 2 : readBack;
    }

    /**
     * Whether {@link #open} got as far as a socket. When the socket cannot even be created (no free file descriptor),
     * Netty returns a failed future around a placeholder channel that is no {@link DatagramChannel}; callers must not
     * cast it, and the request that wanted the socket is refused.
     */
    public static boolean created(ChannelFuture bound) {
        return bound.channel() instanceof DatagramChannel;
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
