// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import io.netty.channel.ChannelFuture;
import io.netty.channel.socket.DatagramChannel;
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

    InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public String toString() {
        return "socket " + channel.localAddress();
    }
}
