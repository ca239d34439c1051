// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A snapshot of the client's counters.
 *
 * @param tcpTunnels          SOCKS5 CONNECT requests whose VLESS connection came up
 * @param tcpFailures         SOCKS5 CONNECT requests refused because the server could not be reached
 * @param udpAssociations     SOCKS5 UDP associations opened
 * @param udpFlowsOpened      command-2 connections opened, one per remote UDP address (CLI-1)
 * @param udpFlowsOpen        command-2 connections open now
 * @param datagramsOut        datagrams sent towards remote hosts
 * @param datagramsIn         datagrams handed to applications, from command-2 connections and CRUMFURS
 * @param umfurs              of those, datagrams that came as UMFURS on CRUMFURS (CLI-2)
 * @param crumfursEstablished CRUMFURS acknowledgements received, the first and every re-open (CRF-5, CRF-7)
 * @param crumfursLive        whether a CRUMFURS is established now
 * @param drops               dropped datagrams by reason
 */
public record ClientStats(
        long tcpTunnels,
        long tcpFailures,
        long udpAssociations,
        long udpFlowsOpened,
        long udpFlowsOpen,
        long datagramsOut,
        long datagramsIn,
        long umfurs,
        long crumfursEstablished,
        boolean crumfursLive,
        Map<ClientDropReason, Long> drops) {

    /** Copies the drop counts. */
    public ClientStats {
        drops = Map.copyOf(drops.isEmpty() ? new EnumMap<>(ClientDropReason.class) : new EnumMap<>(drops));
    }

    /** Dropped datagrams of one reason. */
    public long drops(ClientDropReason reason) {
        return drops.getOrDefault(reason, 0L);
    }

    /** One log line with every counter. */
    public String format() {
        String dropText = drops.entrySet().stream()
                .filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey().name().toLowerCase(Locale.ROOT) + "=" + e.getValue())
                .collect(Collectors.joining(" "));
        return "tcp tunnels=" + tcpTunnels + " failed=" + tcpFailures + " | udp associations=" + udpAssociations
                + " flows opened=" + udpFlowsOpened + " open=" + udpFlowsOpen + " | datagrams out=" + datagramsOut
                + " in=" + datagramsIn + " umfurs=" + umfurs + " | crumfurs established=" + crumfursEstablished
                + (crumfursLive ? " (live)" : " (down)") + " | drops " + (dropText.isEmpty() ? "none" : dropText);
    }
}
