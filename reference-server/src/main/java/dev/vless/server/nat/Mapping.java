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
        DropReason refused = socket.refusal(payload.readableBytes());
        if (refused != null) {
            payload.release();
            metrics.drop(refused);
            return refused != DropReason.SOCKET_BACKLOG;
        }
        long now = System.nanoTime();
        socket.lastOutboundNanos = now;
        dialed.lastSeenNanos = now;
        metrics.datagramsOut.increment();
        return socket.write(new DatagramPacket(payload, target), flush, onSent);
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
