// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.codec.VlessAddress;
import dev.vless.server.DropReason;
import dev.vless.server.Limit;
import dev.vless.server.MappingPolicy;
import dev.vless.server.internal.CoolingSockets;
import dev.vless.server.internal.ServerMetrics;
import dev.vless.server.internal.Transport;
import dev.vless.server.internal.UdpSockets;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The full-cone state of one user as seen from one client IP (NAT-1): its UDP sockets, the dialed and heard tables
 * (NAT-6), its open command-2 connections, its MUX connections (§23) and its CRUMFURS. Every field is touched on the
 * context's own event loop only, which is also where its sockets live; connections on other loops reach it through
 * {@link NatTable}.
 *
 * @see "spec/VLESS.md §11-§14, §23"
 */
public final class NatContext {

    private static final Logger log = LoggerFactory.getLogger(NatContext.class);

    /** A dialed or heard entry: the socket an address is bound to, and when traffic to or from it was last seen. */
    static final class Entry {
        final ContextSocket socket;
        volatile long lastSeenNanos;
        /**
         * The MUX connection that most recently sent a datagram to this entry's address (MUX-17), kept with the
         * dialed entry as the rule says; {@code null} for none. Context loop only.
         */
        MuxMember lastMux;

        Entry(ContextSocket socket, long now) {
            this.socket = socket;
            this.lastSeenNanos = now;
        }
    }

    private final NatTable table;
    private final NatTable.Key key;
    private final EventLoop loop;
    private final NatSettings settings;
    private final ServerMetrics metrics;
    private final Transport transport;
    private final CoolingSockets coolingSockets;
    /** Why the last {@link #openSocket} returned {@code null}. */
    private Throwable openFailure;

    /** Every endpoint with an entry or a connection: the dialed and heard tables (NAT-6) and the receivers (DLV-1). */
    private final PeerIndex peers = new PeerIndex();
    /** Peers holding an entry, least recently used first: what LIM-1 evicts when the table is full. */
    private Peer oldest;
    private Peer newest;
    /** Dialed plus heard entries. */
    private int entries;
    private final List<ContextSocket> sockets = new ArrayList<>();
    private ContextSocket ipv4Socket;
    private ContextSocket ipv6Socket;
    private final Map<UdpFlow, ContextSocket> flowSockets = new IdentityHashMap<>();
    private CrumfursSink crumfurs;
    /** Open MUX connections, oldest 0x15 first: the last is the newest (MUX-18). */
    private final List<MuxMember> muxes = new ArrayList<>(2);
    /** The socket the last MUX send found full or binding, for {@link #muxWhenReady}. */
    private ContextSocket muxBlockedOn;
    /** The new-destination rate limit (MUX-22): when the token bucket would next be full, as a GCRA arrival time. */
    private long newDestinationTat;
    private final io.netty.channel.ChannelFutureListener countSendFailure;
    /** Bytes queued toward this context's connections and CRUMFURS, against its cap. */
    private final dev.vless.server.internal.UnsentTotal unsent;
    private boolean closed;
    private final ScheduledFuture<?> sweep;

    NatContext(NatTable table, NatTable.Key key, EventLoop loop, NatSettings settings, ServerMetrics metrics,
            Transport transport, CoolingSockets coolingSockets) {
        this.table = table;
        this.coolingSockets = coolingSockets;
        this.key = key;
        this.loop = loop;
        this.settings = settings;
        this.metrics = metrics;
        this.transport = transport;
        this.unsent = new dev.vless.server.internal.UnsentTotal(settings.maxUnsentBytesPerContext());
        this.countSendFailure = f -> {
            if (!f.isSuccess()) {
                metrics.drop(DropReason.SEND_FAILED);
            }
        };
        long every = settings.sweepIntervalNanos();
        this.sweep = loop.scheduleWithFixedDelay(this::sweep, every, every, TimeUnit.NANOSECONDS);
    }

    /** The event loop every method of this context must be called on. */
    public EventLoop executor() {
        return loop;
    }

    /** The unsent bytes of this context's client connections, which they add to and check before each frame. */
    public dev.vless.server.internal.UnsentTotal unsent() {
        return unsent;
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Maps a new command-2 connection by the mapping rules (NAT-2..NAT-5) and makes it a receiver for its target
     * (DLV-1). The flow hears back through {@link UdpFlow#mapped} or {@link UdpFlow#mappingFailed}.
     */
    public void attach(UdpFlow flow) {
        assert loop.inEventLoop();
        if (closed) {
            flow.close("NAT context closed");
            return;
        }
        InetSocketAddress target = flow.target();
        Peer peer = peer(target);
        Entry entry = dial(peer, System.nanoTime());
        if (entry == null) {
            // No socket could be created (out of file descriptors, say): this request is refused, the context and
            // its tables stay as they were.
            flow.mappingFailed(openFailure);
            return;
        }
        ContextSocket socket = entry.socket;
        socket.flows++;
        flowSockets.put(flow, socket);
        peer.addFlow(flow);
        enforceEntryLimit();
        enforceFlowLimit();

        Mapping mapping = new Mapping(socket, entry, target, metrics);
        ContextSocket s = socket;
        s.bound.addListener(f -> {
            if (!flowSockets.containsKey(flow)) {
                return; // closed meanwhile
            }
            if (f.isSuccess()) {
                flow.mapped(mapping);
            } else {
                flow.mappingFailed(f.cause());
            }
        });
    }

    /** Forgets a command-2 connection that closed. */
    public void detach(UdpFlow flow) {
        assert loop.inEventLoop();
        ContextSocket socket = flowSockets.remove(flow);
        if (socket == null) {
            return;
        }
        socket.flows--;
        Peer peer = peers.get(flow.target());
        if (peer != null) {
            peer.removeFlow(flow);
            forgetIfEmpty(peer);
        }
    }

    /** Makes {@code sink} the context's CRUMFURS, closing the one it replaces (CRF-3). */
    public void attachCrumfurs(CrumfursSink sink) {
        assert loop.inEventLoop();
        CrumfursSink old = crumfurs;
        crumfurs = sink;
        if (old != null && old != sink) {
            old.replaced();
        }
    }

    /** Forgets {@code sink} if it is still the live CRUMFURS. */
    public void detachCrumfurs(CrumfursSink sink) {
        assert loop.inEventLoop();
        if (crumfurs == sink) {
            crumfurs = null;
        }
    }

    /**
     * Makes {@code link} a MUX connection of this context (MUX-13), the newest one (MUX-18); call just when its 0x15
     * goes out. Closes the least recently active MUX beyond the limit (MUX-22).
     *
     * @return its membership, or {@code null} when the context has closed (the link was told to close)
     */
    public MuxMember attachMux(MuxLink link) {
        assert loop.inEventLoop();
        if (closed) {
            link.close("NAT context closed");
            return null;
        }
        MuxMember m = new MuxMember(this, link);
        muxes.add(m);
        metrics.liveMux.increment();
        while (muxes.size() > settings.maxMuxPerContext()) {
            MuxMember idlest = null;
            for (MuxMember x : muxes) {
                if (idlest == null || x.link.lastActivityNanos() - idlest.link.lastActivityNanos() < 0) {
                    idlest = x;
                }
            }
            detachMux(idlest);
            idlest.link.close("more than " + settings.maxMuxPerContext() + " MUX connections in one NAT context");
            metrics.limits.hit(Limit.MUX_CONNECTIONS_PER_CONTEXT, key.clientIp(), settings.maxMuxPerContext());
        }
        return m;
    }

    /** Forgets a MUX connection that closed; it is never chosen again (MUX-19). */
    void detachMux(MuxMember m) {
        assert loop.inEventLoop();
        if (!m.open) {
            return;
        }
        m.open = false;
        muxes.remove(m);
        metrics.liveMux.decrement();
    }

    /** {@link MuxMember#sendIpv4}: one lookup by the IPv4 key, no address object, for a destination dialed before. */
    boolean muxSendIpv4(MuxMember m, int ip, int port, ByteBuf payload) {
        assert loop.inEventLoop();
        Peer p = peers.get(PeerIndex.ipv4Key(ip, port));
        if (p != null) {
            Entry d = p.dialed;
            if (d != null && !d.socket.released) {
                return muxSendOn(m, p, d, payload);                  // rule 1
            }
        }
        InetAddress address;
        try {
            address = InetAddress.getByAddress(new byte[] {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8),
                (byte) ip});
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e); // four bytes are always an address
        }
        return muxSendNew(m, new InetSocketAddress(address, port), payload);
    }

    /** {@link MuxMember#send}. */
    boolean muxSend(MuxMember m, InetSocketAddress destination, ByteBuf payload) {
        assert loop.inEventLoop();
        InetSocketAddress dest = VlessAddress.canonical(destination);
        Peer p = peers.get(dest);
        if (p != null) {
            Entry d = p.dialed;
            if (d != null && !d.socket.released) {
                return muxSendOn(m, p, d, payload);
            }
        }
        return muxSendNew(m, dest, payload);
    }

    /**
     * A frame to a destination without a live dialed entry: the destination policy, the new-destination rate, then
     * the mapping rules exactly as {@link #attach} applies them for a command-2 connection (MUX-13).
     */
    private boolean muxSendNew(MuxMember m, InetSocketAddress dest, ByteBuf payload) {
        if (dest.getPort() == 0 || !m.link.admit(dest)) {
            payload.release(); // counted by the link (MUX-14); port 0 never gets here from a relay (MUX-10)
            return true;
        }
        if (!takeNewDestination()) {
            payload.release();
            metrics.drop(DropReason.NEW_DESTINATION_RATE);
            metrics.limits.hit(Limit.MUX_NEW_DESTINATIONS, key.clientIp(), settings.newDestinationsPerSecond());
            return true;
        }
        Peer peer = peer(dest);
        Entry entry = dial(peer, System.nanoTime());
        if (entry == null) {
            payload.release();
            metrics.drop(DropReason.SEND_FAILED);
            m.link.noSocket(openFailure);
            return true;
        }
        enforceEntryLimit();
        return muxSendOn(m, peer, entry, payload);
    }

    /** Takes a token of the new-destination rate (MUX-22); always true without a limit. */
    private boolean takeNewDestination() {
        int rate = settings.newDestinationsPerSecond();
        if (rate <= 0) {
            return true;
        }
        long second = 1_000_000_000L;
        long interval = Math.max(1, second / rate);
        long now = System.nanoTime();
        long t = newDestinationTat - now > 0 ? newDestinationTat : now;
        if (t + interval - now > second) {
            return false; // the bucket of one second's worth is empty
        }
        newDestinationTat = t + interval;
        return true;
    }

    /**
     * Sends one MUX datagram from {@code entry}'s socket, refreshing the socket and the entry (LIF-4) and recording
     * the sender with the entry (MUX-17). Dropped and counted only when oversize, when the socket is closed or over
     * {@link UdpSockets#MAX_QUEUED_BYTES}.
     */
    private boolean muxSendOn(MuxMember m, Peer peer, Entry entry, ByteBuf payload) {
        ContextSocket s = entry.socket;
        DropReason refused = s.refusal(payload.readableBytes());
        if (refused != null) {
            payload.release();
            metrics.drop(refused);
            if (refused != DropReason.SOCKET_BACKLOG) {
                return true;
            }
            muxBlockedOn = s;
            return false;
        }
        refreshForMux(m, peer, entry, s, System.nanoTime());
        if (!s.bound.isDone()) {
            // Its bind is a task on this loop still to run: held until then, and the client paused meanwhile.
            if (s.pendingUntilBound == null) {
                s.pendingUntilBound = new ArrayDeque<>();
            }
            s.pendingUntilBound.add(new DatagramPacket(payload, peer.address));
            muxBlockedOn = s;
            return false;
        }
        metrics.datagramsOut.increment();
        if (s.write(new DatagramPacket(payload, peer.address), s.muxFlush, countSendFailure)) {
            return true;
        }
        muxBlockedOn = s;
        return false;
    }

    private void refreshForMux(MuxMember m, Peer peer, Entry entry, ContextSocket s, long now) {
        s.lastOutboundNanos = now;
        entry.lastSeenNanos = now;
        entry.lastMux = m;
        touch(peer);
    }

    /** Sends what MUX connections wrote while {@code s} was binding, or drops it if the bind failed. */
    private void sendPending(ContextSocket s, boolean bound) {
        java.util.ArrayDeque<DatagramPacket> pending = s.pendingUntilBound;
        s.pendingUntilBound = null;
        if (pending == null) {
            return;
        }
        for (DatagramPacket p; (p = pending.poll()) != null; ) {
            if (bound && s.channel.isActive()) {
                metrics.datagramsOut.increment();
                s.write(p, s.muxFlush, countSendFailure);
            } else {
                p.release();
                metrics.drop(DropReason.SEND_FAILED);
            }
        }
    }

    /** {@link MuxMember#whenReady}: waits for the socket the last MUX send stopped at, on this loop, never inline. */
    void muxWhenReady(Runnable r) {
        ContextSocket s = muxBlockedOn;
        muxBlockedOn = null;
        if (s == null) {
            loop.execute(r);
        } else if (!s.bound.isDone()) {
            s.bound.addListener(f -> muxWhenWritable(s, r));
        } else {
            muxWhenWritable(s, r);
        }
    }

    private void muxWhenWritable(ContextSocket s, Runnable r) {
        if (s.channel.isWritable() || !s.channel.isActive()) {
            loop.execute(r);
        } else {
            s.waitingForWritable.add(r);
        }
    }

    /** Whether {@code destination} has a live dialed entry. */
    boolean hasDialed(InetSocketAddress destination) {
        Peer p = peers.get(VlessAddress.canonical(destination));
        return p != null && live(p.dialed) != null;
    }

    /**
     * The dialed entry of {@code peer} by the mapping rules (NAT-2..NAT-5), created if it has none: the one path by which
     * command-2 connections and MUX frames are mapped, so that a remote sees one external address through both
     * (MUX-13). {@code null}, with {@link #openFailure} set and the tables as they were, when no socket could be made.
     */
    private Entry dial(Peer peer, long now) {
        ContextSocket socket = live(peer.dialed);                 // rule 1
        if (socket == null) {
            socket = live(peer.heard);                            // rule 2
        }
        if (socket == null) {
            socket = socketForNewDestination(peer.address);       // rule 3
            if (socket == null) {
                forgetIfEmpty(peer);
                return null;
            }
        }
        Entry entry = peer.dialed;
        if (entry == null || entry.socket.released) {
            if (entry == null) {
                addedEntry();
            }
            entry = new Entry(socket, now);
            peer.dialed = entry;
        } else {
            entry.lastSeenNanos = now;
        }
        touch(peer);
        return entry;
    }

    private ContextSocket live(Entry e) {
        return e == null || e.socket.released ? null : e.socket;
    }

    private ContextSocket socketForNewDestination(InetSocketAddress target) {
        boolean ipv6 = target.getAddress() instanceof Inet6Address;
        ContextSocket familySocket = ipv6 ? ipv6Socket : ipv4Socket;
        boolean full = sockets.size() >= settings.maxSockets();
        if (familySocket != null && (settings.policy() == MappingPolicy.ENDPOINT_INDEPENDENT || full)) {
            if (settings.policy() != MappingPolicy.ENDPOINT_INDEPENDENT) {
                metrics.limits.hit(Limit.SOCKETS_PER_CONTEXT, key.clientIp(), settings.maxSockets());
            }
            return familySocket;
        }
        ContextSocket created = openSocket(ipv6);
        if (created == null) {
            return familySocket; // per-destination: the family's socket still serves, as when the context is full
        }
        if (familySocket == null) {
            if (ipv6) {
                ipv6Socket = created;
            } else {
                ipv4Socket = created;
            }
        }
        return created;
    }

    /** A new bound-or-binding socket, or {@code null} with {@link #openFailure} set when none could be created. */
    private ContextSocket openSocket(boolean ipv6) {
        SocketHandler handler = new SocketHandler();
        ChannelFuture bound = UdpSockets.open(transport, loop, ipv6, settings.outboundIpv4(), settings.outboundIpv6(),
                settings.udpReceiveBuffer(), handler);
        if (!UdpSockets.created(bound)) {
            openFailure = bound.cause();
            return null;
        }
        ContextSocket socket = new ContextSocket(bound, ipv6, System.nanoTime());
        handler.socket = socket;
        sockets.add(socket);
        metrics.liveSockets.increment();
        socket.channel.closeFuture().addListener(f -> metrics.liveSockets.decrement());
        bound.addListener(f -> {
            if (!f.isSuccess()) {
                // Not WARN: clients cause this (by exhausting descriptors); each waiting connection is refused,
                // counted and reported, rate-limited, by its relay.
                log.debug("cannot bind a UDP socket for {}: {}", this, f.cause().toString());
                release(socket);
            }
            sendPending(socket, f.isSuccess());
        });
        return socket;
    }

    /** The peer at {@code address}, added to the index if it is new. */
    private Peer peer(InetSocketAddress address) {
        Peer p = peers.get(address);
        if (p == null) {
            p = new Peer(address, PeerIndex.ipv4Key(address));
            peers.add(p);
        }
        return p;
    }

    private void addedEntry() {
        entries++;
        metrics.liveMappings.increment();
    }

    private void dropDialed(Peer p) {
        p.dialed = null;
        entries--;
        metrics.liveMappings.decrement();
    }

    private void dropHeard(Peer p) {
        p.heard = null;
        entries--;
        metrics.liveMappings.decrement();
    }

    /** Makes {@code p} the most recently used peer. */
    private void touch(Peer p) {
        if (p == newest) {
            return;
        }
        if (p.listed) {
            unlink(p);
        }
        p.older = newest;
        p.newer = null;
        if (newest != null) {
            newest.newer = p;
        } else {
            oldest = p;
        }
        newest = p;
        p.listed = true;
    }

    private void unlink(Peer p) {
        if (p.older != null) {
            p.older.newer = p.newer;
        } else {
            oldest = p.newer;
        }
        if (p.newer != null) {
            p.newer.older = p.older;
        } else {
            newest = p.older;
        }
        p.older = null;
        p.newer = null;
        p.listed = false;
    }

    /** Takes a peer without entries out of the recency list, and out of the index when no connection needs it. */
    private void forgetIfEmpty(Peer p) {
        if (p.hasEntries()) {
            return;
        }
        if (p.listed) {
            unlink(p);
        }
        if (!p.hasFlows()) {
            peers.remove(p);
        }
    }

    /**
     * Evicts least recently used entries while there are more than the limit (LIM-1): the older entry of the least
     * recently used peer first. Recency is kept per peer, not per entry; a peer's two entries are refreshed together
     * by every datagram from it, so this is the per-entry order in all but corner cases.
     */
    private void enforceEntryLimit() {
        while (entries > settings.maxEntries() && oldest != null) {
            Peer p = oldest;
            if (p.dialed != null && (p.heard == null || p.dialed.lastSeenNanos - p.heard.lastSeenNanos <= 0)) {
                dropDialed(p);
            } else {
                dropHeard(p);
            }
            forgetIfEmpty(p);
            metrics.limits.hit(Limit.TABLE_ENTRIES, key.clientIp(), settings.maxEntries());
        }
    }

    private void enforceFlowLimit() {
        while (flowSockets.size() > settings.maxFlows()) {
            UdpFlow idlest = null;
            for (UdpFlow f : flowSockets.keySet()) {
                if (idlest == null || f.lastActivityNanos() - idlest.lastActivityNanos() < 0) {
                    idlest = f;
                }
            }
            detach(idlest);
            idlest.close("more than " + settings.maxFlows() + " UDP connections in one NAT context");
            metrics.limits.hit(Limit.UDP_CONNECTIONS_PER_CONTEXT, key.clientIp(), settings.maxFlows());
        }
    }

    /** Where datagrams from the outside arrive: mapping bookkeeping, then delivery (DLV-1, MUX-17/18, DLV-2/3). */
    private void received(ContextSocket socket, DatagramPacket packet) {
        metrics.datagramsIn.increment();
        if (socket.released) {
            metrics.drop(DropReason.COOL_DOWN);
            packet.release();
            return;
        }
        InetSocketAddress source = VlessAddress.canonical(packet.sender());
        if (!VlessAddress.isUnicastSource(source)) {
            // DLV-6: before any table is touched, so that a forged source leaves no trace.
            metrics.drop(DropReason.INVALID_SOURCE);
            packet.release();
            return;
        }
        long now = System.nanoTime();
        Peer peer = peer(source);
        Entry h = peer.heard;
        if (h == null || h.socket.released) {
            if (h == null) {
                addedEntry();
            }
            peer.heard = new Entry(socket, now);
        } else {
            h.lastSeenNanos = now;
        }
        Entry d = peer.dialed;
        if (d != null) {
            d.lastSeenNanos = now;
        }
        touch(peer);
        UdpFlow receiver = peer.receiver();
        enforceEntryLimit();

        try {
            if (receiver != null) {
                DropReason dropped = receiver.deliver(packet);
                if (dropped != null) {
                    metrics.drop(dropped);
                }
            } else if (!muxes.isEmpty()) {
                // MUX-17: the open MUX that last sent to X, kept with X's dialed entry; else MUX-18: the newest.
                MuxMember m = d == null ? null : d.lastMux;
                if (m == null || !m.open) {
                    m = muxes.get(muxes.size() - 1);
                }
                DropReason dropped = m.link.deliver(packet);
                if (dropped == null) {
                    metrics.muxFramesOut.increment();
                } else {
                    metrics.drop(dropped);
                }
            } else if (crumfurs != null) {
                DropReason dropped = crumfurs.deliver(packet);
                if (dropped == null) {
                    metrics.umfursSent.increment();
                } else {
                    metrics.drop(dropped);
                }
            } else {
                metrics.drop(DropReason.NO_RECEIVER);
                packet.release();
            }
        } catch (RuntimeException e) {
            // The sinks release the packet whatever happens; what must not happen is that remote input reaches the
            // socket's exceptionCaught (counted as a failed send) or a log above DEBUG.
            metrics.drop(DropReason.DELIVERY_ERROR);
            log.debug("{}: delivering a datagram from {} failed", this, source, e);
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        long lifetime = settings.lifetimeNanos();
        for (UdpFlow f : new ArrayList<>(flowSockets.keySet())) {
            if (now - f.lastActivityNanos() > lifetime) {
                detach(f);
                f.close("idle for the UDP lifetime");
            }
        }
        for (MuxMember m : new ArrayList<>(muxes)) {
            if (now - m.link.lastActivityNanos() > lifetime) {
                detachMux(m);
                m.link.close("no frame either way for the UDP lifetime"); // MUX-21
            }
        }
        if (muxes.isEmpty()) { // an open MUX pins every socket of the context (MUX-20)
            for (ContextSocket s : new ArrayList<>(sockets)) {
                if (s.flows == 0 && now - s.lastOutboundNanos > lifetime) {
                    release(s);
                }
            }
        }
        expireEntries(now, lifetime);
        if (sockets.isEmpty() && flowSockets.isEmpty() && crumfurs == null && muxes.isEmpty()) {
            close();
        }
    }

    /** Drops entries of released sockets, and entries idle for the lifetime unless a connection uses them. */
    private void expireEntries(long now, long lifetime) {
        for (Peer p = oldest; p != null; ) {
            Peer next = p.newer; // p may leave the list
            Entry d = p.dialed;
            if (d != null && (d.socket.released || (!p.hasFlows() && now - d.lastSeenNanos > lifetime))) {
                dropDialed(p);
            } else if (d != null && d.lastMux != null && !d.lastMux.open) {
                d.lastMux = null; // the closed connection need not stay reachable until the entry expires
            }
            Entry h = p.heard;
            if (h != null && (h.socket.released || now - h.lastSeenNanos > lifetime)) {
                dropHeard(p);
            }
            forgetIfEmpty(p);
            p = next;
        }
    }

    /** Takes a socket out of the context; it stays bound, discarding, for the cool-down (LIF-7). */
    private void release(ContextSocket socket) {
        if (socket.released) {
            return;
        }
        socket.released = true;
        sockets.remove(socket);
        if (ipv4Socket == socket) {
            ipv4Socket = null;
        }
        if (ipv6Socket == socket) {
            ipv6Socket = null;
        }
        coolingSockets.coolDown(socket.channel, key.user(), settings.coolDownNanos());
    }

    /** Ends the context: its sockets are released and it leaves the table. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        sweep.cancel(false);
        for (ContextSocket s : new ArrayList<>(sockets)) {
            release(s);
        }
        metrics.liveMappings.add(-entries);
        entries = 0;
        peers.clear();
        oldest = null;
        newest = null;
        table.removed(key, this);
    }

    /** Closes everything at once, for server shutdown. */
    void shutdown() {
        for (UdpFlow f : new ArrayList<>(flowSockets.keySet())) {
            detach(f);
            f.close("server shutting down");
        }
        for (MuxMember m : new ArrayList<>(muxes)) {
            detachMux(m);
            m.link.close("server shutting down");
        }
        CrumfursSink c = crumfurs;
        crumfurs = null;
        if (c != null) {
            c.replaced();
        }
        for (ContextSocket s : new ArrayList<>(sockets)) {
            s.channel.close();
        }
        close();
    }

    @Override
    public String toString() {
        return "NatContext[" + key + "]";
    }

    private final class SocketHandler extends SimpleChannelInboundHandler<DatagramPacket> {
        ContextSocket socket;

        SocketHandler() {
            super(DatagramPacket.class, false);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            received(socket, packet);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                socket.wakeWaiters(); // client connections paused for this socket read on
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            socket.wakeWaiters(); // nothing will drain it any more; the waiters must not stay paused for ever
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP errors surface here as PortUnreachableException; they must not kill the mapping (RFC 4787 REQ-12).
            // Anything else is a failed send: Mapping writes with the void promise, which reports here.
            if (!(cause instanceof java.net.PortUnreachableException)) {
                metrics.drop(DropReason.SEND_FAILED);
            }
            log.debug("{} of {}: {}", socket, NatContext.this, cause.toString());
        }
    }
}
