// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.server.DropReason;
import dev.vless.server.internal.BatchedFlush;
import dev.vless.server.internal.ServerMetrics;
import dev.vless.server.internal.UdpSockets;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;

/**
 * The socket a command-2 connection sends from, fixed for the connection's life (LIF-1). Safe to use from the
 * connection's event loop.
 */
public final class Mapping {

    private final ContextSocket socket;
    private final NatContext.Entry dialed;
    private final InetSocketAddress target;
    private final ServerMetrics metrics;
    private final ChannelFutureListener onSent;
    private final BatchedFlush flush;

    Mapping(ContextSocket socket, NatContext.Entry dialed, InetSocketAddress target, ServerMetrics metrics) {
        this.socket = socket;
        this.dialed = dialed;
        this.target = target;
        this.metrics = metrics;
        this.flush = new BatchedFlush(socket.channel);
        this.onSent = f -> {
            if (!f.isSuccess()) {
                metrics.drop(DropReason.SEND_FAILED);
            }
        };
    }

    /** The server address the target sees: the mapped address. */
    public InetSocketAddress localAddress() {
        return socket.localAddress();
    }

    /**
     * Sends {@code payload} to the target, taking it over. Refreshes the socket and the dialed entry (LIF-4). A
     * datagram is dropped and counted only when the socket is closed or over {@link UdpSockets#MAX_QUEUED_BYTES}; past
     * the socket's high water mark it is still queued, and the caller stops reading its client.
     *
     * @return whether the socket can take more; if not, stop reading the client until {@link #whenWritable}
     */
    public boolean send(ByteBuf payload) {
        int max = socket.ipv6 ? dev.vless.codec.udp.UdpFrame.MAX_IPV6_PAYLOAD
                : dev.vless.codec.udp.UdpFrame.MAX_IPV4_PAYLOAD;
        if (payload.readableBytes() > max) {
            payload.release();
            metrics.drop(DropReason.OVERSIZE);
            return true;
        }
        if (!socket.channel.isActive()) {
            payload.release();
            metrics.drop(DropReason.SEND_FAILED);
            return true;
        }
        if (UdpSockets.overQueueLimit(socket.channel)) {
            payload.release();
            metrics.drop(DropReason.SOCKET_BACKLOG);
            return false;
        }
        long now = System.nanoTime();
        socket.lastOutboundNanos = now;
        dialed.lastSeenNanos = now;
        metrics.datagramsOut.increment();
        if (payload.isReadable()) {
            // Written now, flushed once per batch: the frames of one TCP read leave in one sendmmsg (BatchedFlush).
            // A void promise: a failed send reaches the socket's exceptionCaught, which counts it (SEND_FAILED),
            // instead of costing a promise and a listener per datagram.
            socket.channel.write(new DatagramPacket(payload, target), socket.channel.voidPromise());
            flush.afterWrite();
        } else {
            // Empty datagrams (UDP-2) leave through UdpSockets' own path, which does not wait for a flush: flush
            // what this connection wrote before, so that the empty one cannot overtake it.
            socket.channel.flush();
            UdpSockets.send(socket.channel, payload, target).addListener(onSent);
        }
        return socket.channel.isWritable();
    }

    /** Runs {@code r} on the socket's event loop once the socket can take datagrams again (at once if it can). */
    public void whenWritable(Runnable r) {
        if (!socket.channel.eventLoop().inEventLoop()) {
            socket.channel.eventLoop().execute(() -> whenWritable(r));
            return;
        }
        if (socket.channel.isWritable() || !socket.channel.isActive()) {
            r.run();
        } else {
            socket.waitingForWritable.add(r);
        }
    }
}
