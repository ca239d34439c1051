// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import io.netty.channel.socket.DatagramPacket;

/** A live CRUMFURS as its NAT context sees it. */
public interface CrumfursSink {

    /**
     * Sends a datagram as a UMFURS with its true source (UMF-4). The sink takes over the packet and releases it.
     *
     * @return whether it was queued; {@code false} when the client's backlog was over the limit (DLV-5)
     */
    boolean deliver(DatagramPacket packet);

    /** A newer CRUMFURS of the same context replaced this one; close it (CRF-3). */
    void replaced();
}
