// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import dev.vless.client.ClientDropReason;
import dev.vless.client.ClientStats;
import dev.vless.client.UdpMode;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** The client's counters, updated from any event loop and read as a {@link ClientStats} snapshot. */
public final class ClientMetrics {

    final LongAdder tcpTunnels = new LongAdder();
    final LongAdder tcpFailures = new LongAdder();
    final LongAdder udpAssociations = new LongAdder();
    final LongAdder udpFlowsOpened = new LongAdder();
    final LongAdder udpFlowsOpen = new LongAdder();
    final LongAdder datagramsOut = new LongAdder();
    final LongAdder datagramsIn = new LongAdder();
    final LongAdder umfurs = new LongAdder();
    final LongAdder crumfursEstablished = new LongAdder();
    volatile boolean crumfursLive;
    volatile UdpMode udpMode = UdpMode.PER_REMOTE;
    final LongAdder muxEstablished = new LongAdder();
    volatile boolean muxLive;
    final LongAdder muxFallbacks = new LongAdder();
    final LongAdder muxFramesOut = new LongAdder();
    final LongAdder muxFramesIn = new LongAdder();
    final LongAdder muxProtocolErrors = new LongAdder();
    final LongAdder muxDrops = new LongAdder();
    private final Map<ClientDropReason, LongAdder> drops = new EnumMap<>(ClientDropReason.class);

    /** All counters at zero. */
    public ClientMetrics() {
        for (ClientDropReason r : ClientDropReason.values()) {
            drops.put(r, new LongAdder());
        }
    }

    /** Counts one dropped datagram. */
    void drop(ClientDropReason reason) {
        drops.get(reason).increment();
    }

    /** Counts one dropped datagram that was meant for the MUX connection. */
    void muxDrop(ClientDropReason reason) {
        drops.get(reason).increment();
        muxDrops.increment();
    }

    /** The counters now. */
    public ClientStats snapshot() {
        Map<ClientDropReason, Long> d = new EnumMap<>(ClientDropReason.class);
        drops.forEach((r, n) -> d.put(r, n.sum()));
        return new ClientStats(tcpTunnels.sum(), tcpFailures.sum(), udpAssociations.sum(), udpFlowsOpened.sum(),
                udpFlowsOpen.sum(), datagramsOut.sum(), datagramsIn.sum(), umfurs.sum(), crumfursEstablished.sum(),
                crumfursLive, udpMode, muxEstablished.sum(), muxLive, muxFallbacks.sum(), muxFramesOut.sum(),
                muxFramesIn.sum(), muxProtocolErrors.sum(), muxDrops.sum(), d);
    }
}
