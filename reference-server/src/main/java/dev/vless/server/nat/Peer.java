// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import java.net.InetSocketAddress;
import java.util.ArrayList;

/**
 * A remote endpoint its NAT context knows: the dialed and heard entries for it (NAT-6), the open command-2
 * connections whose target it is (DLV-1), and its place in the context's least-recently-used order (LIM-1). One
 * object per endpoint, found with one lookup per datagram; context loop only.
 */
final class Peer {

    final InetSocketAddress address;
    /** {@link PeerIndex#ipv4Key} of the address, or 0 for IPv6. */
    final long ipv4Key;
    NatContext.Entry dialed;
    NatContext.Entry heard;
    /** Connections to this endpoint, {@code null} while there are none (most heard peers never have one). */
    private ArrayList<UdpFlow> flows;
    /** The connection that receives from this endpoint: the one with the newest request header (DLV-1). */
    private UdpFlow receiver;
    /** Neighbours in the context's recency list; only peers that hold an entry are in it. */
    Peer older;
    Peer newer;
    boolean listed;

    Peer(InetSocketAddress address, long ipv4Key) {
        this.address = address;
        this.ipv4Key = ipv4Key;
    }

    boolean hasEntries() {
        return dialed != null || heard != null;
    }

    boolean hasFlows() {
        return receiver != null;
    }

    UdpFlow receiver() {
        return receiver;
    }

    void addFlow(UdpFlow flow) {
        if (flows == null) {
            flows = new ArrayList<>(2);
        }
        flows.add(flow);
        if (receiver == null || flow.sequence() > receiver.sequence()) {
            receiver = flow;
        }
    }

    void removeFlow(UdpFlow flow) {
        if (flows == null || !flows.remove(flow)) {
            return;
        }
        if (flows.isEmpty()) {
            flows = null;
            receiver = null;
        } else if (receiver == flow) {
            receiver = flows.get(0);
            for (UdpFlow f : flows) {
                if (f.sequence() > receiver.sequence()) {
                    receiver = f;
                }
            }
        }
    }

    @Override
    public String toString() {
        return "peer " + address;
    }
}
