// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.server.DropReason;
import io.netty.channel.socket.DatagramPacket;

/** A live CRUMFURS as its NAT context sees it. */
public interface CrumfursSink {

    /**
     * Sends a datagram as a UMFURS with its true source (UMF-4). The sink takes over the packet and releases it.
     *
     * @return {@code null} when it was queued, else why it was dropped (the context counts it)
     */
    DropReason deliver(DatagramPacket packet);

    /** A newer CRUMFURS of the same context replaced this one; close it (CRF-3). */
    void replaced();
}
