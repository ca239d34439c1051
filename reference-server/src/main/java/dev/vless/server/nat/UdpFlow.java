// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.server.DropReason;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;

/**
 * A v1 command-2 connection as its NAT context sees it. The context calls these methods on its own event loop; an
 * implementation hands work to its connection's loop where it must.
 */
public interface UdpFlow {

    /** The connection's target, resolved and canonical (NAT-7, ADR-4). */
    InetSocketAddress target();

    /** Orders connections to the same target: a larger value completed its request header later (DLV-1). */
    long sequence();

    /** When the connection last carried a datagram either way, in {@link System#nanoTime()} units (LIF-5). */
    long lastActivityNanos();

    /** The context has picked the socket this connection sends from, for its whole life (LIF-1). */
    void mapped(Mapping mapping);

    /** The context could not map the connection (no socket could be bound); the connection should close. */
    void mappingFailed(Throwable cause);

    /**
     * Hands a datagram from the target to the client. The flow takes over the packet and releases it.
     *
     * @return {@code null} when it was queued, else why it was dropped (the context counts it): the client's
     *         backlog was over a limit (DLV-5), or the connection is closing ({@code NO_RECEIVER})
     */
    DropReason deliver(DatagramPacket packet);

    /** The context closes the connection: idle for the lifetime, or evicted by the connection limit. */
    void close(String reason);
}
