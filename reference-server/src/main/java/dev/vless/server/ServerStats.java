// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A snapshot of the counters an operator needs.
 *
 * @param connectionsAccepted  client connections accepted since start
 * @param connectionsOpen      client connections open now
 * @param connectionsRefused   connections closed at accept because of the connection limit
 * @param tcpRequests          command-1 requests served
 * @param udpRequests          command-2 requests served
 * @param crumfursRequests     CRUMFURS channels established
 * @param badInput             connections with bad input (ERR-1)
 * @param handshakeTimeouts    headers not complete by the deadline (ERR-4)
 * @param fallbacks            connections handed to the fallback (ERR-2)
 * @param destinationsRefused  requests for refused destinations (DST-1)
 * @param datagramsIn          datagrams received from remote hosts
 * @param datagramsOut         datagrams sent to remote hosts
 * @param umfursSent           datagrams delivered on CRUMFURS
 * @param drops                dropped datagrams by reason
 * @param liveContexts         NAT contexts now
 * @param liveSockets          UDP sockets now (context and v0)
 * @param liveMappings         dialed plus heard entries now
 * @param clientPauses         times a client connection stopped being read because its UDP socket was full
 * @param unsentBytes          bytes queued toward clients and not yet written, now
 * @param v0UdpRefusedBudget   v0 UDP requests refused: their user or client IP held its budget of v0 sockets
 * @param refusedNoSocket      requests refused because their socket could not be created or bound (such as no free
 *                             file descriptor)
 * @param coolDownReleasedEarly cooling-down ports closed early because the cooling cap was reached (LIF-7)
 * @param coolingSockets       ports cooling down now (part of {@code liveSockets})
 * @param limits               how often each limit was enforced (LIM-1, MUX-22)
 * @param muxRequests          command-5 (UDP-MUX) requests served
 * @param liveMux              MUX connections open in a NAT context now
 * @param muxFramesIn          frames MUX clients sent (port-0 no-ops excluded, MUX-10)
 * @param muxFramesOut         datagrams delivered to MUX clients
 * @param muxFrameErrors       MUX connections closed for a frame error (MUX-11)
 * @param muxLookups           name lookups started for MUX frames (MUX-15)
 * @param udpRxOverflows       datagrams the kernel dropped at the server's UDP sockets because a receive buffer was
 *                             full (the sockets' {@code drops} in /proc/net/udp; 0 where that is not available);
 *                             raise {@code --udp-receive-buffer} when it grows
 */
public record ServerStats(
        long connectionsAccepted,
        long connectionsOpen,
        long connectionsRefused,
        long tcpRequests,
        long udpRequests,
        long crumfursRequests,
        long badInput,
        long handshakeTimeouts,
        long fallbacks,
        long destinationsRefused,
        long datagramsIn,
        long datagramsOut,
        long umfursSent,
        Map<DropReason, Long> drops,
        long liveContexts,
        long liveSockets,
        long liveMappings,
        long clientPauses,
        long unsentBytes,
        long v0UdpRefusedBudget,
        long refusedNoSocket,
        long coolDownReleasedEarly,
        long coolingSockets,
        Map<Limit, Long> limits,
        long muxRequests,
        long liveMux,
        long muxFramesIn,
        long muxFramesOut,
        long muxFrameErrors,
        long muxLookups,
        long udpRxOverflows) {

    /** Copies the drop counts. */
    public ServerStats {
        drops = Map.copyOf(drops.isEmpty() ? new EnumMap<>(DropReason.class) : new EnumMap<>(drops));
        limits = Map.copyOf(limits.isEmpty() ? new EnumMap<>(Limit.class) : new EnumMap<>(limits));
    }

    /** Dropped datagrams of one reason. */
    public long drops(DropReason reason) {
        return drops.getOrDefault(reason, 0L);
    }

    /** How often {@code limit} was enforced. */
    public long limits(Limit limit) {
        return limits.getOrDefault(limit, 0L);
    }

    /** One log line with every counter. */
    public String format() {
        String dropText = drops.entrySet().stream()
                .filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey().name().toLowerCase(java.util.Locale.ROOT) + "=" + e.getValue())
                .collect(Collectors.joining(" "));
        // Only the limits enforced at least once: a quiet server's line stays short.
        String limitText = limits.entrySet().stream()
                .filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.comparingByKey())
                .map(e -> " " + e.getKey().label() + "=" + e.getValue())
                .collect(Collectors.joining());
        return "connections accepted=" + connectionsAccepted + " open=" + connectionsOpen + " refused="
                + connectionsRefused + " | requests tcp=" + tcpRequests + " udp=" + udpRequests + " crumfurs="
                + crumfursRequests + " mux=" + muxRequests + " | bad-input=" + badInput + " timeouts="
                + handshakeTimeouts + " fallbacks=" + fallbacks + " refused-destinations=" + destinationsRefused
                + " | limits v0-udp-refused-budget=" + v0UdpRefusedBudget + " refused-no-socket=" + refusedNoSocket
                + " cooldown-released-early=" + coolDownReleasedEarly + limitText + " | datagrams in=" + datagramsIn
                + " out=" + datagramsOut + " umfurs=" + umfursSent + " mux-in=" + muxFramesIn + " mux-out="
                + muxFramesOut + " mux-frame-errors=" + muxFrameErrors + " mux-lookups=" + muxLookups + " | drops "
                + (dropText.isEmpty() ? "none" : dropText) + " | live contexts=" + liveContexts + " sockets="
                + liveSockets + " mappings=" + liveMappings + " cooling=" + coolingSockets + " mux=" + liveMux
                + " | backpressure client-pauses=" + clientPauses + " unsent-bytes=" + unsentBytes
                + " | kernel udp-rx-overflows=" + udpRxOverflows;
    }
}
