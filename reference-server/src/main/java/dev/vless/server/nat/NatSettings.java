// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.server.MappingPolicy;
import dev.vless.server.VlessServerConfig;
import java.net.InetAddress;

/**
 * The parts of the server configuration the NAT table needs, in nanoseconds where they are times.
 *
 * @param policy              mapping rule 3
 * @param lifetimeNanos       socket, entry and idle-connection lifetime
 * @param coolDownNanos       how long a released port stays bound
 * @param maxEntries          dialed plus heard entries per context
 * @param maxSockets          sockets per context
 * @param maxFlows            open command-2 connections per context
 * @param maxContextsPerUser  contexts per UUID
 * @param maxUnsentBytesPerContext unsent bytes toward the clients of one context, summed
 * @param outboundIpv4        IPv4 bind address or {@code null}
 * @param outboundIpv6        IPv6 bind address or {@code null}
 * @param maxMuxPerContext    open MUX connections per context (MUX-22)
 * @param newDestinationsPerSecond destinations a context's MUX connections may add per second, 0 for no limit
 *                            (MUX-22)
 * @param udpReceiveBuffer    SO_RCVBUF of a context's sockets
 */
public record NatSettings(
        MappingPolicy policy,
        long lifetimeNanos,
        long coolDownNanos,
        int maxEntries,
        int maxSockets,
        int maxFlows,
        int maxContextsPerUser,
        long maxUnsentBytesPerContext,
        InetAddress outboundIpv4,
        InetAddress outboundIpv6,
        int maxMuxPerContext,
        int newDestinationsPerSecond,
        int udpReceiveBuffer) {

    /** Default of {@link #maxMuxPerContext()} (MUX-22). */
    public static final int DEFAULT_MAX_MUX_PER_CONTEXT = 8;

    /** Settings with the default MUX limits, for callers (benchmarks) that predate the MUX mode. */
    public NatSettings(MappingPolicy policy, long lifetimeNanos, long coolDownNanos, int maxEntries, int maxSockets,
            int maxFlows, int maxContextsPerUser, long maxUnsentBytesPerContext, InetAddress outboundIpv4,
            InetAddress outboundIpv6) {
        this(policy, lifetimeNanos, coolDownNanos, maxEntries, maxSockets, maxFlows, maxContextsPerUser,
                maxUnsentBytesPerContext, outboundIpv4, outboundIpv6, DEFAULT_MAX_MUX_PER_CONTEXT, 0,
                dev.vless.server.VlessServerBuilder.DEFAULT_UDP_RECEIVE_BUFFER);
    }

    /** The settings of a server configuration. */
    public static NatSettings of(VlessServerConfig c) {
        return new NatSettings(c.mappingPolicy(), c.udpLifetime().toNanos(), c.coolDown().toNanos(),
                c.maxTableEntries(), c.maxSocketsPerContext(), c.maxUdpConnectionsPerContext(),
                c.maxContextsPerUser(), c.maxUnsentBytesPerContext(), c.outboundIpv4(), c.outboundIpv6(),
                c.maxMuxPerContext(), c.muxNewDestinationsPerSecond(), c.udpReceiveBuffer());
    }

    /** How often a context looks for what has expired: often enough to expire within a quarter lifetime. */
    long sweepIntervalNanos() {
        long quarter = lifetimeNanos / 4;
        return Math.max(20_000_000L, Math.min(quarter, 5_000_000_000L));
    }
}
