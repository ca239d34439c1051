// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.server.DropReason;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;

/**
 * A UDP-MUX connection (command 5) as its NAT context sees it. The context calls these methods on its own event loop,
 * which is also the connection's.
 *
 * @see "spec/VLESS.md §23"
 */
public interface MuxLink {

    /**
     * Sends a datagram to the client as a frame labelled with its true source (MUX-8). The link takes over the packet
     * and releases it.
     *
     * @return {@code null} when it was queued, else why it was dropped (the context counts it)
     */
    DropReason deliver(DatagramPacket packet);

    /** When a frame last went either way, in {@link System#nanoTime()} units; starts at the 0x15 (MUX-21). */
    long lastActivityNanos();

    /**
     * Whether the destination policy allows sending to {@code destination} (canonical, ADR-4). Asked once per new
     * destination; a link that says no has counted and reported the refusal (MUX-14).
     */
    boolean admit(InetSocketAddress destination);

    /** No socket could be opened for a frame, which was dropped and counted; the link may tell the operator. */
    void noSocket(Throwable cause);

    /** The context closes the connection: idle for the lifetime, evicted by the MUX limit, or shutting down. */
    void close(String reason);
}
