// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.bench.BenchmarkBase;
import dev.vless.bench.internal.BenchLoop;
import dev.vless.server.MappingPolicy;
import dev.vless.server.internal.ServerMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * A real {@link NatContext} with {@code mappings} live remote peers, each with a dialed entry, a heard entry and an
 * open command-2 connection (so 2 × {@code mappings} table entries), measured on the datagram path and the dial
 * path. The context runs on an event loop the benchmark thread drives, with one real UDP socket; datagrams enter
 * that socket's pipeline as if it had read them ({@code fireChannelRead}), so what is measured is everything the
 * server does between the socket's read and the hand-over to a connection: the bookkeeping of the dialed and heard
 * tables (NAT-6), the choice of receiver (DLV-1..3) and the counters. The receivers here are stand-ins that release
 * the datagram; {@code RelayBenchmark} measures the framing and write to the client. Not included: the system call
 * that reads the datagram.
 *
 * <p>Each operation allocates one {@link DatagramPacket} (24 bytes), standing for the one Netty's socket read
 * allocates, and the lookups build their sender address afresh as that read does (an {@code InetSocketAddress}, an
 * {@code Inet4Address}, and their holders: 96 bytes); the rest of {@code gc.alloc.rate.norm} is
 * the NAT code's.
 *
 * <ul>
 *   <li>{@link #lookupKnownPeer}: a datagram from a peer the context knows (every lookup hits), peers taken in a
 *       shuffled order so that a large table is not kept warm in the CPU cache by repetition.</li>
 *   <li>{@link #insertNewSource}: a datagram from a source never heard before: a heard entry is added and, the table
 *       being at its limit, the least recently used entry is evicted (LIM-1); it goes to the CRUMFURS.</li>
 *   <li>{@link #dialNewTarget}: a command-2 connection to a new target is mapped (dialed entry, one more flow) and
 *       closed again.</li>
 *   <li>{@link #tableLookupBaseline}: the same lookups in a bare access-ordered {@link LinkedHashMap} keyed by
 *       {@link InetSocketAddress}: the structure NatContext kept its tables in before {@link PeerIndex} (three of
 *       them, looked up per datagram), kept as a yardstick for the cost of cache misses at each size.</li>
 * </ul>
 */
@State(Scope.Thread)
public class NatContextBenchmark extends BenchmarkBase {

    private static final UUID USER = UUID.fromString("5be9ec05-1cd0-4bb5-9c1b-c0d4d0bdbe6d");
    /** Long enough that nothing expires while a benchmark runs (the sweep never runs anyway: see setUp). */
    private static final long LIFETIME = TimeUnit.HOURS.toNanos(1);

    /** Remote peers with a live mapping. */
    @Param({"1000", "100000"})
    public int mappings;

    private BenchLoop loop;
    private NatContext context;
    private ChannelPipeline socketPipeline;
    private InetSocketAddress socketAddress;
    /** The same peers in the same order as address bytes and ports, to build each source afresh. */
    private byte[][] lookupIps;
    private int[] lookupPorts;
    private InetSocketAddress[] fresh;
    private StubFlow[] freshFlows;
    private int nextLookup;
    private int nextFresh;
    private ByteBuf payload;
    private LinkedHashMap<InetSocketAddress, Object> bareTable;

    /** Builds the context, maps every peer and hears from each once. */
    @Setup(Level.Trial)
    public void setUp() throws Exception {
        loop = BenchLoop.ownedByCurrentThread();
        // Table limit exactly the live entries: lookups never evict; each new source evicts one entry (steady state).
        NatSettings settings = new NatSettings(MappingPolicy.ENDPOINT_INDEPENDENT, LIFETIME, 0, 2 * mappings, 64,
                mappings + 16, 8, Long.MAX_VALUE, InetAddress.getLoopbackAddress(), null);
        ServerMetrics metrics = new ServerMetrics();
        // Nothing is released during the benchmark: the cooling cap never comes into play.
        dev.vless.server.internal.CoolingSockets cooling = new dev.vless.server.internal.CoolingSockets(
                Integer.MAX_VALUE, Integer.MAX_VALUE, metrics);
        NatTable table = new NatTable(settings, metrics, loop.transport(), loop.loop(), cooling);
        context = new NatContext(table, new NatTable.Key(USER, InetAddress.getLoopbackAddress()), loop.loop(),
                settings, metrics, loop.transport(), cooling);
        payload = ByteBufAllocator.DEFAULT.directBuffer(64).writeZero(64);

        InetSocketAddress[] peers = addresses(0, mappings);
        StubFlow[] flows = new StubFlow[mappings];
        for (int i = 0; i < mappings; i++) {
            flows[i] = new StubFlow(peers[i], i);
            context.attach(flows[i]);
        }
        // The first attach opened the socket; binding completes on the loop, then every flow hears it is mapped.
        for (int i = 0; i < 1000 && !flows[mappings - 1].isMapped(); i++) {
            loop.runPending();
            Thread.sleep(1);
        }
        if (!flows[mappings - 1].isMapped()) {
            throw new IllegalStateException("the context's socket did not bind");
        }
        List<DatagramChannel> sockets = NatAccess.socketChannels(context);
        socketPipeline = sockets.get(0).pipeline();
        socketAddress = (InetSocketAddress) sockets.get(0).localAddress();
        for (InetSocketAddress peer : peers) {
            receive(peer); // one datagram from each: the heard entry
        }
        context.attachCrumfurs(new StubCrumfurs());

        InetSocketAddress[] lookupOrder = peers.clone();
        shuffle(lookupOrder, new Random(42));
        lookupIps = new byte[mappings][];
        lookupPorts = new int[mappings];
        for (int i = 0; i < mappings; i++) {
            lookupIps[i] = lookupOrder[i].getAddress().getAddress();
            lookupPorts[i] = lookupOrder[i].getPort();
        }
        bareTable = new LinkedHashMap<>(16, 0.75f, true);
        for (InetSocketAddress peer : peers) {
            bareTable.put(peer, peer);
        }
        // More fresh addresses than the table holds, so each is evicted before it comes round again.
        fresh = addresses(mappings, 2 * mappings + 4096);
        freshFlows = new StubFlow[fresh.length];
        for (int i = 0; i < fresh.length; i++) {
            freshFlows[i] = new StubFlow(fresh[i], mappings + i);
        }
    }

    /** Every iteration must run on the thread that owns the loop. */
    @Setup(Level.Iteration)
    public void checkThread() {
        loop.checkOwner();
    }

    /** Closes the socket and the loop. */
    @TearDown(Level.Trial)
    public void tearDown() {
        context.shutdown();
        loop.close();
        payload.release();
    }

    /** A datagram from a known peer, routed to its connection. */
    @Benchmark
    public void lookupKnownPeer() {
        int i = nextLookup;
        nextLookup = i + 1 == lookupPorts.length ? 0 : i + 1;
        receive(source(i));
    }

    /** A datagram from a new source: heard entry inserted, the oldest entry evicted, UMFURS to the CRUMFURS. */
    @Benchmark
    public void insertNewSource() {
        int i = nextFresh;
        nextFresh = i + 1 == fresh.length ? 0 : i + 1;
        receive(fresh[i]);
    }

    /** A command-2 connection to a new target mapped (dialed entry, oldest entry evicted) and closed. */
    @Benchmark
    public void dialNewTarget() {
        int i = nextFresh;
        nextFresh = i + 1 == fresh.length ? 0 : i + 1;
        StubFlow flow = freshFlows[i];
        context.attach(flow);
        context.detach(flow);
    }

    /** The bare data structure: a lookup in an access-ordered LinkedHashMap of the same size and keys. */
    @Benchmark
    public Object tableLookupBaseline() {
        int i = nextLookup;
        nextLookup = i + 1 == lookupPorts.length ? 0 : i + 1;
        return bareTable.get(source(i));
    }

    /**
     * The sender of the {@code i}th lookup, built afresh as Netty's read builds it for every datagram (an
     * {@code InetSocketAddress} around a new {@code InetAddress}): addresses built once and kept in a 100 k array
     * would be cold in the CPU cache, a cost the server never pays.
     */
    private InetSocketAddress source(int i) {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(lookupIps[i]), lookupPorts[i]);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** A datagram as the socket's read hands it on; the stand-in receivers release it, so one buffer serves all. */
    private void receive(InetSocketAddress source) {
        socketPipeline.fireChannelRead(new DatagramPacket(payload.retain(), socketAddress, source));
    }

    /** {@code count} distinct addresses in 198.18.0.0/15 (RFC 2544's benchmarking range), from index {@code from}. */
    private static InetSocketAddress[] addresses(int from, int count) throws UnknownHostException {
        InetSocketAddress[] out = new InetSocketAddress[count];
        for (int i = 0; i < count; i++) {
            int n = from + i;
            byte[] ip = {(byte) 198, (byte) (18 + ((n >> 16) & 1)), (byte) (n >> 8), (byte) n};
            out[i] = new InetSocketAddress(InetAddress.getByAddress(ip), 10000 + (n >> 17));
        }
        return out;
    }

    private static void shuffle(Object[] a, Random random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            Object t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** A command-2 connection as the context sees it, without a client behind it: delivery releases. */
    private static final class StubFlow implements UdpFlow {
        private final InetSocketAddress target;
        private final long sequence;
        private Mapping mapping;

        StubFlow(InetSocketAddress target, long sequence) {
            this.target = target;
            this.sequence = sequence;
        }

        boolean isMapped() {
            return mapping != null;
        }

        @Override
        public InetSocketAddress target() {
            return target;
        }

        @Override
        public long sequence() {
            return sequence;
        }

        @Override
        public long lastActivityNanos() {
            return System.nanoTime();
        }

        @Override
        public void mapped(Mapping m) {
            mapping = m;
        }

        @Override
        public void mappingFailed(Throwable cause) {
            throw new IllegalStateException("mapping failed", cause);
        }

        @Override
        public dev.vless.server.DropReason deliver(DatagramPacket packet) {
            packet.release();
            return null;
        }

        @Override
        public void close(String reason) {
            // Only at tear-down: the lifetime is an hour and the flow limit leaves room for every peer.
        }
    }

    /** A CRUMFURS without a client behind it: delivery releases. */
    private static final class StubCrumfurs implements CrumfursSink {
        @Override
        public dev.vless.server.DropReason deliver(DatagramPacket packet) {
            packet.release();
            return null;
        }

        @Override
        public void replaced() {
        }
    }
}
