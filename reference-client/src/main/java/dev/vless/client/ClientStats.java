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
 * @param udpMode             how UDP goes now: {@link UdpMode#MUX} while the MUX mode is configured and not fallen
 *                            back, else {@link UdpMode#PER_REMOTE}
 * @param muxEstablished      UDP-MUX answers ({@code 0x15}) received, the first and every re-open (MUX-24)
 * @param muxLive             whether a UDP-MUX connection is established now
 * @param muxFallbacks        times the server did not answer a UDP-MUX request with {@code 0x15} (end of stream,
 *                            another byte, or nothing in time) and the client fell back to per-remote (MUX-5)
 * @param muxFramesOut        datagrams sent as MUX frames (also counted in {@code datagramsOut})
 * @param muxFramesIn         MUX frames received from the server; each goes to an application labelled with its
 *                            source (MUX-23) unless no association is left
 * @param muxProtocolErrors   MUX connections closed because of a frame error from the server (MUX-11)
 * @param muxDrops            datagrams for the MUX connection that were dropped (also counted in {@code drops}):
 *                            its queue full or too old while it was being opened, or it not writable
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
        UdpMode udpMode,
        long muxEstablished,
        boolean muxLive,
        long muxFallbacks,
        long muxFramesOut,
        long muxFramesIn,
        long muxProtocolErrors,
        long muxDrops,
        Map<ClientDropReason, Long> drops) {

    /** Copies the drop counts. */
    public ClientStats {
        java.util.Objects.requireNonNull(udpMode, "udpMode");
        drops = Map.copyOf(drops.isEmpty() ? new EnumMap<>(ClientDropReason.class) : new EnumMap<>(drops));
    }

    /** Dropped datagrams of one reason. */
    public long drops(ClientDropReason reason) {
        return drops.getOrDefault(reason, 0L);
    }

    /** Whether any UDP-MUX connection was asked for: the MUX mode is in use, or was and fell back. */
    public boolean muxUsed() {
        return udpMode == UdpMode.MUX || muxEstablished > 0 || muxFallbacks > 0;
    }

    /** One log line with every counter; the MUX part only when the MUX mode was used. */
    public String format() {
        String dropText = drops.entrySet().stream()
                .filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey().name().toLowerCase(Locale.ROOT) + "=" + e.getValue())
                .collect(Collectors.joining(" "));
        return "tcp tunnels=" + tcpTunnels + " failed=" + tcpFailures + " | udp associations=" + udpAssociations
                + " flows opened=" + udpFlowsOpened + " open=" + udpFlowsOpen + " | datagrams out=" + datagramsOut
                + " in=" + datagramsIn + " umfurs=" + umfurs + " | crumfurs established=" + crumfursEstablished
                + (crumfursLive ? " (live)" : " (down)")
                + (muxUsed() ? " | mux mode=" + udpMode.cliName() + " established=" + muxEstablished
                        + (muxLive ? " (live)" : " (down)") + " fallbacks=" + muxFallbacks + " frames out="
                        + muxFramesOut + " in=" + muxFramesIn + " errors=" + muxProtocolErrors + " dropped=" + muxDrops
                        : "")
                + " | drops " + (dropText.isEmpty() ? "none" : dropText);
    }
}
