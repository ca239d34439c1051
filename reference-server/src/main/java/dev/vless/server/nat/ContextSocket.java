// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.codec.udp.UdpFrame;
import dev.vless.server.DropReason;
import dev.vless.server.internal.BatchedFlush;
import dev.vless.server.internal.UdpSockets;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;

/** One UDP socket of a NAT context: the server port its datagrams leave from and arrive at. */
final class ContextSocket {

    final DatagramChannel channel;
    /** Completes when the socket is bound; datagrams can be sent from then on. */
    final ChannelFuture bound;
    final boolean ipv6;
    /** Connections mapped to this socket; while above zero it never expires (LIF-1). Context loop only. */
    int flows;
    /** Last outbound datagram (LIF-2, LIF-4); written from connection loops, hence volatile. */
    volatile long lastOutboundNanos;
    /** Set once the socket left the context and only waits out its cool-down (LIF-7). Context loop only. */
    boolean released;
    /** Flushes the datagrams MUX connections write, once per batch (context loop only). */
    final dev.vless.server.internal.BatchedFlush muxFlush;
    /**
     * MUX datagrams for this socket written while it was still binding, sent once it is bound; {@code null} while
     * there are none. The MUX connection that wrote one stops reading its client until then. Context loop only.
     */
    java.util.ArrayDeque<io.netty.channel.socket.DatagramPacket> pendingUntilBound;
    /** What to run once the socket can take datagrams again: paused client connections. Context loop only. */
    final java.util.ArrayDeque<Runnable> waitingForWritable = new java.util.ArrayDeque<>();

    /** Runs what waited for the socket to drain (or to close: then the waiters find out by sending). */
    void wakeWaiters() {
        Runnable r;
        while ((r = waitingForWritable.poll()) != null) {
            r.run();
        }
    }

    ContextSocket(ChannelFuture bound, boolean ipv6, long now) {
        this.bound = bound;
        this.channel = (DatagramChannel) bound.channel();
        this.ipv6 = ipv6;
        this.lastOutboundNanos = now;
        this.muxFlush = new dev.vless.server.internal.BatchedFlush(channel);
    }

    /**
     * Why a datagram of {@code length} payload bytes cannot leave this socket now, or {@code null} if it can: too big
     * for the family (UDP-5), the socket closed, or more queued than {@link UdpSockets#MAX_QUEUED_BYTES}
     * ({@link DropReason#SOCKET_BACKLOG}, the one after which a sender stops reading its client). A socket still
     * binding refuses only by size; its datagrams wait for the bind.
     */
    DropReason refusal(int length) {
        if (length > (ipv6 ? UdpFrame.MAX_IPV6_PAYLOAD : UdpFrame.MAX_IPV4_PAYLOAD)) {
            return DropReason.OVERSIZE;
        }
        if (!bound.isDone()) {
            return null;
        }
        if (!channel.isActive()) {
            return DropReason.SEND_FAILED;
        }
        return UdpSockets.overQueueLimit(channel) ? DropReason.SOCKET_BACKLOG : null;
    }

    /**
     * Writes a datagram that {@link #refusal} let through, for command-2 connections and MUX frames alike.
     *
     * @param flush     the sender's batched flush
     * @param onFailure counts a failed send of an empty datagram
     * @return whether the socket can take more now
     */
    boolean write(DatagramPacket packet, BatchedFlush flush, ChannelFutureListener onFailure) {
        if (packet.content().isReadable()) {
            // Written now, flushed once per batch: the frames of one TCP read leave in one sendmmsg (BatchedFlush).
            // A void promise: a failed send reaches the socket's exceptionCaught, which counts it (SEND_FAILED),
            // instead of costing a promise and a listener per datagram.
            channel.write(packet, channel.voidPromise());
            flush.afterWrite();
        } else {
            // Empty datagrams (UDP-2) leave through UdpSockets' own path, which does not wait for a flush: flush
            // what was written before, so that the empty one cannot overtake it.
            channel.flush();
            UdpSockets.send(channel, packet.content(), packet.recipient()).addListener(onFailure);
        }
        return channel.isWritable();
    }

    InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public String toString() {
        return "socket " + channel.localAddress();
    }
}
