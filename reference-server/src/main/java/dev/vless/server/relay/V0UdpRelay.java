// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessResponseHeader;
import dev.vless.codec.udp.UdpFrame;
import dev.vless.server.DropReason;
import dev.vless.server.internal.BatchedFlush;
import dev.vless.server.internal.UdpSockets;
import dev.vless.server.internal.V0UdpBudget;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A v0 command-2 connection: a socket of its own, datagrams only to and from its target (UDP-7), the v0 response
 * header before the first frame (RSP-2), closed when idle for the lifetime (LIF-5).
 */
final class V0UdpRelay extends AbstractUdpRelay {

    private static final Logger log = LoggerFactory.getLogger(V0UdpRelay.class);

    private DatagramChannel socket;
    private BatchedFlush socketFlush;
    private boolean headerSent;
    private boolean closing;
    private ScheduledFuture<?> idleCheck;
    /** The paused connection's resume, run once the socket drains; socket loop only. */
    private Runnable waitingForWritable;
    private final UUID user;
    private InetAddress clientIp;
    /** Whether this connection holds one socket of its user's v0 budget, given back when it closes. */
    private boolean budgetHeld;

    V0UdpRelay(ServerRuntime runtime, UUID user, InetSocketAddress target) {
        super(runtime, target);
        this.user = user;
    }

    @Override
    void open(ChannelHandlerContext ctx) {
        clientIp = VlessAddress.canonical(((InetSocketAddress) ctx.channel().remoteAddress()).getAddress());
        V0UdpBudget.Refusal refusal = runtime.v0Budget.tryAcquire(user, clientIp);
        if (refusal != null) {
            // This request only: what the user already has open stays, and no byte goes out (no frame, no header).
            runtime.metrics.v0UdpRefusedBudget.increment();
            runtime.operatorLog.v0UdpBudget(ctx.channel(), user, refusal,
                    refusal == V0UdpBudget.Refusal.PER_CLIENT_IP ? runtime.v0Budget.perClientIp()
                            : runtime.v0Budget.perUser());
            ctx.channel().close();
            return;
        }
        budgetHeld = true;
        ChannelFuture bound = UdpSockets.open(runtime.transport, ctx.channel().eventLoop(), UdpSockets.isIpv6(target),
                runtime.config.outboundIpv4(), runtime.config.outboundIpv6(), UdpSockets.FLOW_RECEIVE_BUFFER,
                new SimpleChannelInboundHandler<DatagramPacket>(DatagramPacket.class, false) {
                    @Override
                    protected void channelRead0(ChannelHandlerContext c, DatagramPacket packet) {
                        received(packet);
                    }

                    @Override
                    public void channelWritabilityChanged(ChannelHandlerContext c) {
                        if (c.channel().isWritable()) {
                            wakeWaiter();
                        }
                        c.fireChannelWritabilityChanged();
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext c) {
                        wakeWaiter();
                        c.fireChannelInactive();
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
                        // ICMP errors must not end the flow (RFC 4787 REQ-12); anything else is a failed send,
                        // reported here by the void promise send() writes with.
                        if (!(cause instanceof java.net.PortUnreachableException)) {
                            runtime.metrics.drop(DropReason.SEND_FAILED);
                        }
                    }
                });
        if (!UdpSockets.created(bound)) {
            refuseNoSocket(bound.cause()); // no free descriptor: a refusal of this request, never an exception
            return;
        }
        socket = (DatagramChannel) bound.channel();
        socketFlush = new BatchedFlush(socket);
        runtime.metrics.liveSockets.increment();
        socket.closeFuture().addListener(f -> runtime.metrics.liveSockets.decrement());
        bound.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                refuseNoSocket(f.cause());
            } else if (!channel.isActive()) {
                socket.close();
            } else {
                ready();
            }
        });
        long every = Math.max(20_000_000L, runtime.config.udpLifetime().toNanos() / 4);
        idleCheck = ctx.executor().scheduleWithFixedDelay(() -> {
            if (System.nanoTime() - lastActivityNanos > runtime.config.udpLifetime().toNanos()) {
                channel.close(); // LIF-5
            }
        }, every, every, TimeUnit.NANOSECONDS);
    }

    private void refuseNoSocket(Throwable cause) {
        runtime.metrics.refusedNoSocket.increment();
        runtime.operatorLog.noSocket(channel, "a v0 UDP socket", cause);
        log.debug("{}: no UDP socket for {}: {}", channel, target, String.valueOf(cause));
        channel.close();
    }

    private void received(DatagramPacket packet) {
        runtime.metrics.datagramsIn.increment();
        if (closing) {
            runtime.metrics.drop(DropReason.COOL_DOWN);
            packet.release();
        } else if (!VlessAddress.canonical(packet.sender()).equals(target)) {
            runtime.metrics.drop(DropReason.FOREIGN_SOURCE);
            packet.release();
        } else {
            try {
                DropReason dropped = writeFrame(packet.content());
                if (dropped != null) {
                    runtime.metrics.drop(dropped);
                }
            } catch (RuntimeException e) {
                // As NatContext: remote input never reaches exceptionCaught or a log above DEBUG.
                runtime.metrics.drop(DropReason.DELIVERY_ERROR);
                log.debug("{}: delivering a datagram from {} failed", channel, target, e);
            }
        }
    }

    @Override
    void beforeFrame(Channel ch) {
        if (!headerSent) {
            headerSent = true;
            ch.write(VlessResponseHeader.DEFAULT, ch.voidPromise());
        }
    }

    @Override
    boolean send(ByteBuf payload) {
        int max = UdpSockets.isIpv6(target) ? UdpFrame.MAX_IPV6_PAYLOAD : UdpFrame.MAX_IPV4_PAYLOAD;
        if (payload.readableBytes() > max) {
            payload.release();
            runtime.metrics.drop(DropReason.OVERSIZE);
            return true;
        }
        if (!socket.isActive()) {
            payload.release();
            runtime.metrics.drop(DropReason.SEND_FAILED);
            return true;
        }
        if (UdpSockets.overQueueLimit(socket)) {
            // Only what the client's last read decoded lands past the high water mark; this bounds even that.
            payload.release();
            runtime.metrics.drop(DropReason.SOCKET_BACKLOG);
            return false;
        }
        runtime.metrics.datagramsOut.increment();
        if (payload.isReadable()) {
            // As Mapping.send: no promise per datagram, one flush (one sendmmsg) per batch of frames.
            socket.write(new DatagramPacket(payload, target), socket.voidPromise());
            socketFlush.afterWrite();
        } else {
            socket.flush(); // what came before first: the empty datagram (UDP-2) does not wait for a flush
            UdpSockets.send(socket, payload, target).addListener(f -> {
                if (!f.isSuccess()) {
                    runtime.metrics.drop(DropReason.SEND_FAILED);
                }
            });
        }
        return socket.isWritable();
    }

    @Override
    void whenSocketWritable(Runnable r) {
        // Same loop as the socket (opened on this connection's loop); the socket may have drained meanwhile.
        if (socket.isWritable() || !socket.isActive()) {
            r.run();
        } else {
            waitingForWritable = r;
        }
    }

    private void wakeWaiter() {
        Runnable r = waitingForWritable;
        waitingForWritable = null;
        if (r != null) {
            r.run();
        }
    }

    @Override
    void closed() {
        if (idleCheck != null) {
            idleCheck.cancel(false);
        }
        if (budgetHeld) {
            // The open connection is what the budget bounds; its cooling port is bounded by the cooling cap.
            budgetHeld = false;
            runtime.v0Budget.release(user, clientIp);
        }
        if (socket != null && !closing) {
            closing = true;
            runtime.coolingSockets.coolDown(socket, user, runtime.config.coolDown().toNanos()); // LIF-7
        }
    }
}
