// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import dev.vless.client.ClientDropReason;
import dev.vless.client.socks.Socks5Datagram;
import dev.vless.client.socks.Socks5Replies;
import dev.vless.codec.VlessAddress;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A SOCKS5 UDP association (RFC 1928 §7): a relay socket on the address the application reached the front on, bound
 * to the application's TCP control connection, which it takes over from the SOCKS5 front. The association ends when
 * the control connection ends.
 *
 * <p>Only the association's client may use the relay socket: the IP address the request named, or else the control
 * connection's; and the port the request named, or else the port of the first datagram. Datagrams from any other
 * source, fragments (FRAG other than 0) and unreadable headers are dropped and counted. Everything about datagrams runs
 * on the {@link UdpHub}'s event loop.
 */
final class UdpAssociation extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(UdpAssociation.class);

    /** A UDP payload can be 65507 bytes, plus a SOCKS5 header of at most 262: read into buffers that hold both. */
    static final int RECEIVE_BUFFER = 65536 + 512;

    private final ClientRuntime runtime;
    private final UdpHub hub;
    private final VlessAddress hint;
    private Channel control;
    private Channel relay;
    private InetAddress clientIp;
    private int clientPort;
    private InetSocketAddress client;
    private boolean closed;

    UdpAssociation(ClientRuntime runtime, VlessAddress hint) {
        this.runtime = runtime;
        this.hub = runtime.hub;
        this.hint = hint;
    }

    // ---- the control connection (this handler sits in its pipeline) ----

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        control = ctx.channel();
        if (!control.isActive()) {
            closed = true;
            return; // gone before the request could be served; nothing was opened
        }
        InetSocketAddress local = (InetSocketAddress) control.localAddress();
        InetSocketAddress remote = (InetSocketAddress) control.remoteAddress();
        InetAddress hinted = hint.inetAddress();
        clientIp = hinted != null && !hinted.isAnyLocalAddress() ? hinted : VlessAddress.canonical(remote.getAddress());
        clientPort = hint.port();
        if (clientPort != 0) {
            client = new InetSocketAddress(clientIp, clientPort);
        }
        InetAddress bindIp = VlessAddress.canonical(local.getAddress());
        new Bootstrap()
                .group(hub.loop)
                .channelFactory(runtime.transport.datagramChannel(bindIp))
                .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(RECEIVE_BUFFER))
                .option(ChannelOption.SO_RCVBUF, 1 << 20)
                .option(ChannelOption.SO_SNDBUF, 1 << 20)
                .handler(new RelaySide())
                .bind(new InetSocketAddress(bindIp, 0))
                .addListener((ChannelFutureListener) f -> bound(f.isSuccess() ? f.channel() : null, f.cause()));
    }

    /** On the hub's loop: the relay socket is bound, or could not be. */
    private void bound(Channel ch, Throwable cause) {
        if (ch == null) {
            log.warn("{}: cannot open a UDP relay socket: {}", control, TcpTunnel.cause(cause));
            Socks5Replies.fail(control, Socks5CommandStatus.FAILURE);
            return;
        }
        relay = ch;
        if (!control.isActive()) {
            closed = true;
            ch.close();
            return;
        }
        runtime.metrics.udpAssociations.increment();
        hub.register(this);
        log.debug("{}: UDP association on {} for {}", control, ch.localAddress(),
                client != null ? client : clientIp + ":*");
        Socks5Replies.succeed(control, (InetSocketAddress) ch.localAddress()).addListener(
                (ChannelFutureListener) r -> {
                    if (!r.isSuccess()) {
                        control.close();
                    }
                });
        // The control connection may have closed in between; closing again is harmless.
        control.closeFuture().addListener(x -> close());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg); // nothing more is expected on the control connection
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            ctx.close(); // the application ended the control connection: the association ends with it
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        close();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("{}: {}", ctx.channel(), cause.toString());
        ctx.close();
    }

    /** Ends the association: unregisters it and closes the relay socket. Any thread. */
    void close() {
        if (!hub.loop.inEventLoop()) {
            try {
                hub.loop.execute(this::close);
            } catch (RejectedExecutionException e) {
                control.close(); // the client is stopping, and its loops have closed everything else
            }
            return;
        }
        if (closed) {
            return;
        }
        closed = true;
        if (relay != null) {
            hub.unregister(this);
            relay.close();
        }
        if (control.isActive()) {
            control.close();
        }
    }

    boolean isClosed() {
        return closed;
    }

    // ---- the relay socket ----

    private final class RelaySide extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof DatagramPacket packet) {
                fromApplication(packet);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // An ICMP error reported on the socket (the application's port went away): the socket stays usable.
            log.debug("{}: {}", ctx.channel(), cause.toString());
        }
    }

    private void fromApplication(DatagramPacket packet) {
        try {
            if (closed) {
                return;
            }
            InetSocketAddress sender = VlessAddress.canonical(packet.sender());
            if (!accepts(sender)) {
                runtime.metrics.drop(ClientDropReason.FOREIGN_SOURCE);
                return;
            }
            ByteBuf content = packet.content();
            Socks5Datagram.Header header;
            try {
                header = Socks5Datagram.decodeHeader(content);
            } catch (IllegalArgumentException e) {
                log.debug("{}: unreadable SOCKS5 UDP header from {}: {}", control, sender, e.getMessage());
                runtime.metrics.drop(ClientDropReason.MALFORMED);
                return;
            }
            if (header.fragment() != 0) {
                runtime.metrics.drop(ClientDropReason.FRAGMENTED);
                return;
            }
            if (header.address().port() == 0) {
                runtime.metrics.drop(ClientDropReason.BAD_DESTINATION); // HDR-8: VLESS has no port 0
                return;
            }
            int start = content.readerIndex() + header.length();
            ByteBuf payload = content.retainedSlice(start, content.writerIndex() - start);
            hub.send(this, header.address(), payload);
        } finally {
            packet.release();
        }
    }

    /** Whether {@code sender} is this association's client; the first datagram fixes the port if the request did not. */
    private boolean accepts(InetSocketAddress sender) {
        if (client != null) {
            return client.equals(sender);
        }
        if (!clientIp.equals(sender.getAddress())) {
            return false;
        }
        client = sender;
        return true;
    }

    /**
     * Hands one datagram from {@code source} to the application, taking over {@code payload}. On the hub's loop.
     */
    void toApplication(VlessAddress source, ByteBuf payload) {
        try {
            if (closed || client == null) {
                runtime.metrics.drop(ClientDropReason.NO_ASSOCIATION);
                return;
            }
            if (!relay.isWritable()) {
                runtime.metrics.drop(ClientDropReason.BACKLOG);
                return;
            }
            // One buffer rather than a composite: a datagram is at most 64 KiB, and every transport sends it as is.
            ByteBuf out = relay.alloc().ioBuffer(Socks5Datagram.headerLength(source) + payload.readableBytes());
            Socks5Datagram.encodeHeader(source, out);
            out.writeBytes(payload, payload.readerIndex(), payload.readableBytes());
            relay.writeAndFlush(new DatagramPacket(out, client), relay.voidPromise());
            runtime.metrics.datagramsIn.increment();
        } finally {
            payload.release();
        }
    }

    @Override
    public String toString() {
        return "UdpAssociation[" + (relay != null ? relay.localAddress() : "unbound") + " for "
                + (client != null ? client : clientIp + ":*") + "]";
    }
}
