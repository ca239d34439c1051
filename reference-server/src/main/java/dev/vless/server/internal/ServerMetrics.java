// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import dev.vless.server.DropReason;
import dev.vless.server.ServerStats;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** The server's counters; every event loop adds to them without locks. */
public final class ServerMetrics {
    public final LongAdder connectionsAccepted = new LongAdder();
    public final LongAdder connectionsOpen = new LongAdder();
    public final LongAdder connectionsRefused = new LongAdder();
    public final LongAdder tcpRequests = new LongAdder();
    public final LongAdder udpRequests = new LongAdder();
    public final LongAdder crumfursRequests = new LongAdder();
    public final LongAdder badInput = new LongAdder();
    public final LongAdder handshakeTimeouts = new LongAdder();
    public final LongAdder fallbacks = new LongAdder();
    public final LongAdder destinationsRefused = new LongAdder();
    public final LongAdder datagramsIn = new LongAdder();
    public final LongAdder datagramsOut = new LongAdder();
    public final LongAdder umfursSent = new LongAdder();
    /** Command-5 (UDP-MUX) requests served. */
    public final LongAdder muxRequests = new LongAdder();
    /** MUX connections that are members of a NAT context now (a gauge). */
    public final LongAdder liveMux = new LongAdder();
    /** Frames MUX clients sent, port-0 no-ops excluded (those are not datagrams, MUX-10). */
    public final LongAdder muxFramesIn = new LongAdder();
    /** Datagrams delivered to MUX clients as frames. */
    public final LongAdder muxFramesOut = new LongAdder();
    /** MUX connections closed at once for a frame error (MUX-11). */
    public final LongAdder muxFrameErrors = new LongAdder();
    /** Name lookups started for MUX frames (MUX-15: once per name and connection while the answer holds). */
    public final LongAdder muxLookups = new LongAdder();
    public final LongAdder liveContexts = new LongAdder();
    public final LongAdder liveSockets = new LongAdder();
    public final LongAdder liveMappings = new LongAdder();
    /** Client connections whose reading was paused because their UDP socket could not take more. */
    public final LongAdder clientPauses = new LongAdder();
    /** Bytes queued toward clients, over every connection and CRUMFURS; read on every datagram against the cap. */
    public final java.util.concurrent.atomic.AtomicLong unsentBytes = new java.util.concurrent.atomic.AtomicLong();
    /** v0 UDP requests refused by the per-client-IP or per-user socket budget. */
    public final LongAdder v0UdpRefusedBudget = new LongAdder();
    /** Requests refused because their socket could not be created or bound (out of file descriptors, say). */
    public final LongAdder refusedNoSocket = new LongAdder();
    /** Cooling-down ports closed before their cool-down ended because a cap was reached. */
    public final LongAdder coolDownReleasedEarly = new LongAdder();
    /** Ports cooling down now (a gauge). */
    public final LongAdder coolingSockets = new LongAdder();
    /** Every enforcement of a limit (LIM-1), counted and reported to the operator. */
    public final LimitEvents limits = new LimitEvents();
    private final LongAdder[] drops = new LongAdder[DropReason.values().length];

    /** Creates zeroed counters. */
    public ServerMetrics() {
        for (int i = 0; i < drops.length; i++) {
            drops[i] = new LongAdder();
        }
    }

    /** Counts one dropped datagram. */
    public void drop(DropReason reason) {
        drops[reason.ordinal()].increment();
    }

    /**
     * A consistent-enough snapshot for logs and tests, with {@code udpRxOverflows} read by the caller (see
     * {@link KernelUdpDrops}).
     */
    public ServerStats snapshot(long udpRxOverflows) {
        Map<DropReason, Long> d = new EnumMap<>(DropReason.class);
        for (DropReason r : DropReason.values()) {
            d.put(r, drops[r.ordinal()].sum());
        }
        return new ServerStats(connectionsAccepted.sum(), connectionsOpen.sum(), connectionsRefused.sum(),
                tcpRequests.sum(), udpRequests.sum(), crumfursRequests.sum(), badInput.sum(), handshakeTimeouts.sum(),
                fallbacks.sum(), destinationsRefused.sum(), datagramsIn.sum(), datagramsOut.sum(), umfursSent.sum(),
                d, liveContexts.sum(), liveSockets.sum(), liveMappings.sum(), clientPauses.sum(), unsentBytes.get(),
                v0UdpRefusedBudget.sum(), refusedNoSocket.sum(), coolDownReleasedEarly.sum(), coolingSockets.sum(),
                limits.snapshot(), muxRequests.sum(), liveMux.sum(), muxFramesIn.sum(), muxFramesOut.sum(),
                muxFrameErrors.sum(), muxLookups.sum(), udpRxOverflows);
    }
}
