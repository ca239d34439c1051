// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static java.util.Objects.requireNonNull;

import dev.vless.server.internal.FdLimit;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.UUID;

/**
 * Builds a {@link VlessServer}. Every setter checks its value at once and says what was expected, so a bad flag fails
 * where it is given. Defaults follow the specification: endpoint-independent mapping, 300 s lifetime, 4 s handshake
 * deadline, TLS with a self-signed certificate, destinations in private ranges refused.
 */
public final class VlessServerBuilder {

    /** The shortest lifetime the specification allows (LIF-2). */
    public static final Duration MIN_UDP_LIFETIME = Duration.ofSeconds(120);

    private InetSocketAddress listenAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    private final Set<UUID> users = new LinkedHashSet<>();
    private TlsConfig tls = TlsConfig.selfSigned("localhost");
    private MappingPolicy mappingPolicy = MappingPolicy.ENDPOINT_INDEPENDENT;
    private Duration udpLifetime = Duration.ofSeconds(300);
    private boolean allowShortLifetime;
    private Duration handshakeTimeout = Duration.ofSeconds(4);
    private Duration coolDown = Duration.ofSeconds(30);
    /** {@code null}: derived from the process's descriptor limit at {@link #buildConfig()} (see {@link FdLimit}). */
    private Integer maxConnections;
    private Integer maxCoolingSockets;
    private int maxTableEntries = 4096;
    private int maxSocketsPerContext = 64;
    private int maxUdpConnectionsPerContext = 256;
    private int maxUnsentBytes = 1 << 20;
    private long maxUnsentBytesPerContext = DEFAULT_MAX_UNSENT_BYTES_PER_CONTEXT;
    /** -1 until set: then derived from the JVM's direct memory limit when the configuration is built. */
    private long maxUnsentBytesTotal = -1;
    private long maxDirectMemory = -1;
    private int maxContextsPerUser = 8;
    private int maxDatagramSize = 65535;
    private InetSocketAddress fallback;
    private DestinationFilter destinations;
    private InetAddress outboundIpv4;
    private InetAddress outboundIpv6;
    private Duration statsInterval = Duration.ZERO;
    private int ioThreads;
    private TransportChoice transport = TransportChoice.AUTO;
    private int udpReceiveBuffer = DEFAULT_UDP_RECEIVE_BUFFER;
    private boolean udpMux = true;
    private int maxMuxPerContext = 8;
    private int muxNewDestinationsPerSecond = DEFAULT_MUX_NEW_DESTINATIONS_PER_SECOND;

    VlessServerBuilder() {
    }

    /** Where to listen; port 0 binds an ephemeral port, which {@link VlessServer#localAddress()} reports. */
    public VlessServerBuilder listen(InetSocketAddress address) {
        this.listenAddress = requireNonNull(address, "address");
        return this;
    }

    /** Where to listen, by host and port. */
    public VlessServerBuilder listen(String host, int port) {
        checkPort(port, "listen port");
        return listen(new InetSocketAddress(requireNonNull(host, "host"), port));
    }

    /** Adds a user. */
    public VlessServerBuilder user(UUID user) {
        users.add(requireNonNull(user, "user"));
        return this;
    }

    /** Adds users. */
    public VlessServerBuilder users(Collection<UUID> users) {
        requireNonNull(users, "users").forEach(this::user);
        return this;
    }

    /** How to do TLS. */
    public VlessServerBuilder tls(TlsConfig tls) {
        this.tls = requireNonNull(tls, "tls");
        return this;
    }

    /** No TLS: for tests, or behind a TLS terminator. */
    public VlessServerBuilder plaintext() {
        return tls(TlsConfig.plaintext());
    }

    /** Mapping rule 3's policy. */
    public VlessServerBuilder mappingPolicy(MappingPolicy policy) {
        this.mappingPolicy = requireNonNull(policy, "policy");
        return this;
    }

    /**
     * The UDP mapping lifetime; at least 120 s (LIF-2) unless {@link #allowShortLifetimeForTesting()} was called.
     */
    public VlessServerBuilder udpLifetime(Duration lifetime) {
        requireNonNull(lifetime, "lifetime");
        if (lifetime.isNegative() || lifetime.isZero()) {
            throw new IllegalArgumentException("UDP lifetime: " + lifetime.toSeconds() + " s (expected: positive)");
        }
        this.udpLifetime = lifetime;
        return this;
    }

    /** Lets {@link #udpLifetime} go below 120 s, so that tests of expiry need not wait minutes. */
    public VlessServerBuilder allowShortLifetimeForTesting() {
        this.allowShortLifetime = true;
        return this;
    }

    /** The handshake deadline from TCP accept (ERR-4). */
    public VlessServerBuilder handshakeTimeout(Duration timeout) {
        this.handshakeTimeout = positive(timeout, "handshake timeout");
        return this;
    }

    /** How long a released UDP port stays bound, discarding input (LIF-7); zero closes at once. */
    public VlessServerBuilder coolDown(Duration coolDown) {
        requireNonNull(coolDown, "coolDown");
        if (coolDown.isNegative()) {
            throw new IllegalArgumentException("cool-down: " + coolDown + " (expected: zero or more)");
        }
        this.coolDown = coolDown;
        return this;
    }

    /**
     * The most open client connections. Default: half of what the process's file descriptor limit leaves after a
     * reserve and the cooling ports, at most 65536, so that the surplus is refused at accept instead of every new
     * socket failing with "Too many open files".
     */
    public VlessServerBuilder maxConnections(int n) {
        this.maxConnections = atLeast(n, 1, "max connections");
        return this;
    }

    /**
     * The most released UDP ports cooling down at once, server-wide (LIF-7); beyond it the oldest is closed early.
     * Each user may hold at most {@code maxSocketsPerContext × maxContextsPerUser} of them (what its contexts may hold
     * live). Default: a quarter of the process's descriptor limit after a reserve, at most 16384.
     */
    public VlessServerBuilder maxCoolingSockets(int n) {
        this.maxCoolingSockets = atLeast(n, 1, "max cooling sockets");
        return this;
    }

    /** The most dialed and heard entries per context. */
    public VlessServerBuilder maxTableEntries(int n) {
        this.maxTableEntries = atLeast(n, 1, "max table entries");
        return this;
    }

    /** The most UDP sockets per context. */
    public VlessServerBuilder maxSocketsPerContext(int n) {
        this.maxSocketsPerContext = atLeast(n, 1, "max sockets per context");
        return this;
    }

    /** The most open command-2 connections per context. */
    public VlessServerBuilder maxUdpConnectionsPerContext(int n) {
        this.maxUdpConnectionsPerContext = atLeast(n, 1, "max UDP connections per context");
        return this;
    }

    /** Unsent bytes per connection or CRUMFURS before datagrams for it are dropped. */
    public VlessServerBuilder maxUnsentBytes(int n) {
        this.maxUnsentBytes = atLeast(n, 65536, "max unsent bytes");
        return this;
    }

    /**
     * Unsent bytes toward all clients of one NAT context together (default 16 MiB): with the default 8 contexts a
     * user can hold at most 128 MiB of the server's memory, however many connections it opens.
     */
    public VlessServerBuilder maxUnsentBytesPerContext(long n) {
        this.maxUnsentBytesPerContext = atLeast(n, 65536, "max unsent bytes per context");
        return this;
    }

    /** Unsent bytes toward all clients of the server together (default: a quarter of the JVM's direct memory). */
    public VlessServerBuilder maxUnsentBytesTotal(long n) {
        this.maxUnsentBytesTotal = atLeast(n, 65536, "max unsent bytes total");
        return this;
    }

    /**
     * Direct memory in use by the JVM above which datagrams toward clients are dropped (default: three quarters of
     * the JVM's limit; 0 for no check). At the JVM's limit an allocation waits for garbage collection, stalling an
     * event loop; this keeps the server below it.
     */
    public VlessServerBuilder maxDirectMemory(long n) {
        if (n != 0) {
            atLeast(n, 1 << 20, "max direct memory");
        }
        this.maxDirectMemory = n;
        return this;
    }

    /** The most NAT contexts (client IPs) per UUID. */
    public VlessServerBuilder maxContextsPerUser(int n) {
        this.maxContextsPerUser = atLeast(n, 1, "max contexts per user");
        return this;
    }

    /** The largest UDP payload relayed. */
    public VlessServerBuilder maxDatagramSize(int n) {
        if (n < 0 || n > 65535) {
            throw new IllegalArgumentException("max datagram size: " + n + " (expected: 0-65535)");
        }
        this.maxDatagramSize = n;
        return this;
    }

    /** Hands connections with bad input, whole, to this address instead of discarding them (ERR-2). */
    public VlessServerBuilder fallback(InetSocketAddress fallback) {
        this.fallback = fallback;
        return this;
    }

    /** Which destinations are allowed. */
    public VlessServerBuilder destinations(DestinationFilter filter) {
        this.destinations = requireNonNull(filter, "filter");
        return this;
    }

    /** The local address context sockets bind, per family (NAT-10); {@code null} for the wildcard. */
    public VlessServerBuilder outboundAddress(InetAddress address) {
        if (address instanceof Inet4Address) {
            this.outboundIpv4 = address;
        } else if (address instanceof Inet6Address) {
            this.outboundIpv6 = address;
        } else if (address != null) {
            throw new IllegalArgumentException("outbound address: " + address + " (expected: IPv4 or IPv6)");
        }
        return this;
    }

    /** How often counters are logged; zero for never. */
    public VlessServerBuilder statsInterval(Duration interval) {
        requireNonNull(interval, "interval");
        if (interval.isNegative()) {
            throw new IllegalArgumentException("stats interval: " + interval + " (expected: zero or more)");
        }
        this.statsInterval = interval;
        return this;
    }

    /** Event loop threads; 0 for Netty's default, two per core. */
    public VlessServerBuilder ioThreads(int n) {
        this.ioThreads = atLeast(n, 0, "I/O threads");
        return this;
    }

    /** Whether to use a native transport when available (default true); false is {@code transport(NIO)}. */
    public VlessServerBuilder nativeTransport(boolean enabled) {
        this.transport = enabled ? TransportChoice.AUTO : TransportChoice.NIO;
        return this;
    }

    /** The Netty transport (default {@link TransportChoice#AUTO}); one that does not load here falls back. */
    public VlessServerBuilder transport(TransportChoice choice) {
        this.transport = java.util.Objects.requireNonNull(choice, "transport");
        return this;
    }

    /**
     * Default SO_RCVBUF of the server's UDP sockets: 4 MiB. All of a context's remotes answer at its one socket
     * (endpoint-independent mapping), so its buffer must hold the bursts of all its flows: 64 flows × 8 datagrams of
     * 1200 B in flight take about 1.4 MB of kernel memory (each datagram costs its size plus ~1 KB of bookkeeping),
     * more than Linux's default of 208 KiB. The memory is only used while datagrams wait to be read.
     */
    public static final int DEFAULT_UDP_RECEIVE_BUFFER = 4 << 20;

    /**
     * SO_RCVBUF asked for each UDP socket (default {@link #DEFAULT_UDP_RECEIVE_BUFFER}). Linux caps it at
     * net.core.rmem_max; the server logs a warning when it got less than asked.
     */
    public VlessServerBuilder udpReceiveBuffer(int bytes) {
        this.udpReceiveBuffer = atLeast(bytes, 4096, "UDP receive buffer bytes");
        return this;
    }

    /**
     * Whether command 5 (UDP-MUX, spec §23) is served (default true). Off, command 5 is treated exactly like an
     * unknown command: no byte, then the fallback or a silent close at the handshake deadline (MUX-2).
     */
    public VlessServerBuilder udpMux(boolean enabled) {
        this.udpMux = enabled;
        return this;
    }

    /** The most open MUX connections per NAT context (default 8); beyond it the least recently active closes. */
    public VlessServerBuilder maxMuxPerContext(int n) {
        this.maxMuxPerContext = atLeast(n, 1, "max MUX connections per context");
        return this;
    }

    /**
     * How many new destinations the MUX connections of one NAT context may add per second (default
     * {@value #DEFAULT_MUX_NEW_DESTINATIONS_PER_SECOND}; 0 for no limit). A token bucket holding one second's worth:
     * a burst up to the rate passes at once. Frames to further new destinations are dropped and counted.
     */
    public VlessServerBuilder muxNewDestinationsPerSecond(int n) {
        this.muxNewDestinationsPerSecond = atLeast(n, 0, "MUX new destinations per second");
        return this;
    }

    /**
     * Default of {@link #muxNewDestinationsPerSecond}: generous, so that a client that contacts thousands of peers at
     * once (a DHT node) is not slowed, while one MUX connection cannot make the server send to a whole address range
     * at wire speed, one 7-byte frame per destination.
     */
    public static final int DEFAULT_MUX_NEW_DESTINATIONS_PER_SECOND = 5000;

    /** The checked configuration. */
    public VlessServerConfig buildConfig() {
        if (!allowShortLifetime && udpLifetime.compareTo(MIN_UDP_LIFETIME) < 0) {
            throw new IllegalArgumentException("UDP lifetime: " + udpLifetime.toMillis() + " ms (expected: at least "
                    + MIN_UDP_LIFETIME.toSeconds() + " s, RFC 4787 REQ-5; tests may allow less explicitly)");
        }
        long fdLimit = FdLimit.processLimit();
        int cooling = maxCoolingSockets != null ? maxCoolingSockets : FdLimit.defaultMaxCoolingSockets(fdLimit);
        int connections = maxConnections != null ? maxConnections : FdLimit.defaultMaxConnections(fdLimit, cooling);
        return new VlessServerConfig(listenAddress, users, tls, mappingPolicy, udpLifetime, handshakeTimeout, coolDown,
                cooling, connections, maxTableEntries, maxSocketsPerContext, maxUdpConnectionsPerContext,
                maxUnsentBytes, maxUnsentBytesPerContext,
                maxUnsentBytesTotal >= 0 ? maxUnsentBytesTotal : defaultMaxUnsentBytesTotal(),
                maxDirectMemory >= 0 ? maxDirectMemory : defaultMaxDirectMemory(),
                maxContextsPerUser, maxDatagramSize, fallback,
                destinations != null ? destinations : DestinationFilter.secureDefault(), outboundIpv4, outboundIpv6,
                statsInterval, ioThreads, transport, udpReceiveBuffer, udpMux, maxMuxPerContext, muxNewDestinationsPerSecond);
    }

    /** A server with this configuration, not yet started. */
    public VlessServer build() {
        return new VlessServer(buildConfig());
    }

    private static Duration positive(Duration d, String what) {
        requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + ": " + d + " (expected: positive)");
        }
        return d;
    }

    /** Default of {@link #maxUnsentBytesPerContext}: 16 MiB. */
    public static final long DEFAULT_MAX_UNSENT_BYTES_PER_CONTEXT = 16L << 20;

    /** A quarter of the JVM's direct memory limit, at least 64 MiB. */
    public static long defaultMaxUnsentBytesTotal() {
        return Math.max(64L << 20, io.netty.util.internal.PlatformDependent.maxDirectMemory() / 4);
    }

    /** Three quarters of the JVM's direct memory limit. */
    public static long defaultMaxDirectMemory() {
        return io.netty.util.internal.PlatformDependent.maxDirectMemory() / 4 * 3;
    }

    private static long atLeast(long n, long min, String what) {
        if (n < min) {
            throw new IllegalArgumentException(what + ": " + n + " (expected: at least " + min + ")");
        }
        return n;
    }

    private static int atLeast(int n, int min, String what) {
        if (n < min) {
            throw new IllegalArgumentException(what + ": " + n + " (expected: at least " + min + ")");
        }
        return n;
    }

    private static void checkPort(int port, String what) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(what + ": " + port + " (expected: 0-65535)");
        }
    }
}
