// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;

/**
 * Everything a {@link VlessServer} is configured with; built and checked by {@link VlessServerBuilder}.
 *
 * @param listenAddress          where the server accepts connections (port 0: an ephemeral port)
 * @param users                  the UUIDs the server serves
 * @param tls                    TLS mode and material
 * @param mappingPolicy          mapping rule 3 (NAT-4 / NAT-5)
 * @param udpLifetime            socket, entry and idle-connection lifetime (LIF-2, LIF-3, LIF-5, LIF-6)
 * @param handshakeTimeout       deadline from accept for TLS and the request header (ERR-4)
 * @param coolDown               how long a released UDP port stays bound (LIF-7)
 * @param maxCoolingSockets      released UDP ports cooling down at once, server-wide; beyond it the oldest is closed
 *                               early (and a user's own beyond {@link #maxCoolingSocketsPerUser()})
 * @param maxConnections         open client connections at most; more are closed at accept
 * @param maxTableEntries        dialed plus heard entries per context (LIM-1)
 * @param maxSocketsPerContext   UDP sockets per context (LIM-1)
 * @param maxUdpConnectionsPerContext open command-2 connections per context (LIM-1)
 * @param maxUnsentBytes         unsent bytes per connection or CRUMFURS before datagrams are dropped (DLV-5)
 * @param maxUnsentBytesPerContext unsent bytes toward the clients of one NAT context, summed, before datagrams for
 *                               them are dropped; bounds a user at this times {@code maxContextsPerUser}
 * @param maxUnsentBytesTotal    unsent bytes toward all clients of the server before datagrams are dropped
 * @param maxDirectMemory        direct memory in use by the JVM above which datagrams toward clients are dropped
 *                               rather than allocated, so that no allocation waits for the JVM's limit; 0 for no check
 * @param maxContextsPerUser     NAT contexts per UUID (LIM-1)
 * @param maxDatagramSize        largest UDP payload relayed; larger ones are dropped and counted (UDP-5)
 * @param fallback               where bad input is handed, or {@code null} to discard until the deadline (ERR-2)
 * @param destinations           which destinations are allowed (DST-1)
 * @param outboundIpv4           the address IPv4 context sockets bind, or {@code null} for the wildcard (NAT-10)
 * @param outboundIpv6           the address IPv6 context sockets bind, or {@code null} for the wildcard (NAT-10)
 * @param statsInterval          how often counters are logged, or {@link Duration#ZERO} for never
 * @param ioThreads              event loop threads, 0 for Netty's default (two per core)
 * @param transport              the Netty transport (io_uring, epoll, NIO or the fastest available)
 * @param udpReceiveBuffer       SO_RCVBUF asked for each UDP socket (the kernel caps it at net.core.rmem_max)
 * @param udpMux                 whether command 5 (UDP-MUX, §23) is served; without it command 5 is bad input like
 *                               any unknown command (MUX-2)
 * @param maxMuxPerContext       open MUX connections per context; beyond it the least recently active closes (MUX-22)
 * @param muxNewDestinationsPerSecond destinations the MUX connections of one context may add per second (a token
 *                               bucket holding one second's worth); frames to further new destinations are dropped
 *                               and counted; 0 for no limit (MUX-22)
 */
public record VlessServerConfig(
        InetSocketAddress listenAddress,
        Set<UUID> users,
        TlsConfig tls,
        MappingPolicy mappingPolicy,
        Duration udpLifetime,
        Duration handshakeTimeout,
        Duration coolDown,
        int maxCoolingSockets,
        int maxConnections,
        int maxTableEntries,
        int maxSocketsPerContext,
        int maxUdpConnectionsPerContext,
        int maxUnsentBytes,
        long maxUnsentBytesPerContext,
        long maxUnsentBytesTotal,
        long maxDirectMemory,
        int maxContextsPerUser,
        int maxDatagramSize,
        InetSocketAddress fallback,
        DestinationFilter destinations,
        InetAddress outboundIpv4,
        InetAddress outboundIpv6,
        Duration statsInterval,
        int ioThreads,
        TransportChoice transport,
        int udpReceiveBuffer,
        boolean udpMux,
        int maxMuxPerContext,
        int muxNewDestinationsPerSecond) {

    /**
     * A user's share of the cooling ports: what its contexts may hold live, so that one user's churn ends its own
     * cool-downs early before it can touch another user's.
     */
    public int maxCoolingSocketsPerUser() {
        return (int) Math.min(Integer.MAX_VALUE, (long) maxSocketsPerContext * maxContextsPerUser);
    }

    /** The most v0 UDP sockets one user may hold open from one client IP: as many as a NAT context may hold. */
    public int maxV0UdpSocketsPerClientIp() {
        return maxSocketsPerContext;
    }

    /** The most v0 UDP sockets one user may hold open: as many as all its NAT contexts may hold together. */
    public int maxV0UdpSocketsPerUser() {
        return maxCoolingSocketsPerUser();
    }

    /** Checks that nothing required is missing; the builder checks ranges as each value is set. */
    public VlessServerConfig {
        requireNonNull(listenAddress, "listenAddress");
        users = Set.copyOf(requireNonNull(users, "users"));
        if (users.isEmpty()) {
            throw new IllegalArgumentException("users: none (expected: at least one UUID)");
        }
        requireNonNull(tls, "tls");
        requireNonNull(mappingPolicy, "mappingPolicy");
        requireNonNull(udpLifetime, "udpLifetime");
        requireNonNull(handshakeTimeout, "handshakeTimeout");
        requireNonNull(coolDown, "coolDown");
        requireNonNull(destinations, "destinations");
        requireNonNull(statsInterval, "statsInterval");
    }
}
