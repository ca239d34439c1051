package dev.vless.server.nat;

import dev.vless.codec.VlessAddress;
import dev.vless.server.DropReason;
import dev.vless.server.MappingPolicy;
import dev.vless.server.internal.ServerMetrics;
import dev.vless.server.internal.Transport;
import dev.vless.server.internal.UdpSockets;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The full-cone state of one user as seen from one client IP (NAT-1): its UDP sockets, the dialed and heard tables
 * (NAT-6), its open command-2 connections and its CRUMFURS. Every field is touched on the context's own event loop
 * only, which is also where its sockets live; connections on other loops reach it through {@link NatTable}.
 *
 * @see "spec/VLESS.md §11-§14"
 */
public final class NatContext {

    private static final Logger log = LoggerFactory.getLogger(NatContext.class);

    /** A dialed or heard entry: the socket an address is bound to, and when traffic to or from it was last seen. */
    static final class Entry {
        final ContextSocket socket;
        volatile long lastSeenNanos;

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

    // Access order, so that the least recently used entry is evicted first when the table is full (LIM-1).
    private final LinkedHashMap<InetSocketAddress, Entry> dialed = new LinkedHashMap<>(16, 0.75f, true);
    private final LinkedHashMap<InetSocketAddress, Entry> heard = new LinkedHashMap<>(16, 0.75f, true);
    private final List<ContextSocket> sockets = new ArrayList<>();
    private ContextSocket ipv4Socket;
    private ContextSocket ipv6Socket;
    private final Map<InetSocketAddress, List<UdpFlow>> flowsByTarget = new HashMap<>();
    private final Map<UdpFlow, ContextSocket> flowSockets = new IdentityHashMap<>();
    private CrumfursSink crumfurs;
    private boolean closed;
    private final ScheduledFuture<?> sweep;

    NatContext(NatTable table, NatTable.Key key, EventLoop loop, NatSettings settings, ServerMetrics metrics,
            Transport transport) {
        this.table = table;
        this.key = key;
        this.loop = loop;
        this.settings = settings;
        this.metrics = metrics;
        this.transport = transport;
        long every = settings.sweepIntervalNanos();
        this.sweep = loop.scheduleWithFixedDelay(this::sweep, every, every, TimeUnit.NANOSECONDS);
    }

    /** The event loop every method of this context must be called on. */
    public EventLoop executor() {
        return loop;
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
            flow.mappingFailed(new IllegalStateException("NAT context closed"));
            return;
        }
        InetSocketAddress target = flow.target();
        long now = System.nanoTime();
        ContextSocket socket = live(dialed.get(target));          // rule 1
        if (socket == null) {
            socket = live(heard.get(target));                     // rule 2
        }
        if (socket == null) {
            socket = socketForNewDestination(target);             // rule 3
        }
        Entry entry = dialed.get(target);
        if (entry == null || entry.socket.released) {
            entry = new Entry(socket, now);
            put(dialed, target, entry);
        } else {
            entry.lastSeenNanos = now;
        }
        socket.flows++;
        flowSockets.put(flow, socket);
        flowsByTarget.computeIfAbsent(target, t -> new ArrayList<>(2)).add(flow);
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
        List<UdpFlow> list = flowsByTarget.get(flow.target());
        if (list != null) {
            list.remove(flow);
            if (list.isEmpty()) {
                flowsByTarget.remove(flow.target());
            }
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

    private ContextSocket live(Entry e) {
        return e == null || e.socket.released ? null : e.socket;
    }

    private ContextSocket socketForNewDestination(InetSocketAddress target) {
        boolean ipv6 = target.getAddress() instanceof Inet6Address;
        ContextSocket familySocket = ipv6 ? ipv6Socket : ipv4Socket;
        boolean full = sockets.size() >= settings.maxSockets();
        if (familySocket != null && (settings.policy() == MappingPolicy.ENDPOINT_INDEPENDENT || full)) {
            return familySocket;
        }
        ContextSocket created = openSocket(ipv6);
        if (familySocket == null) {
            if (ipv6) {
                ipv6Socket = created;
            } else {
                ipv4Socket = created;
            }
        }
        return created;
    }

    private ContextSocket openSocket(boolean ipv6) {
        SocketHandler handler = new SocketHandler();
        ChannelFuture bound = UdpSockets.open(transport, loop, ipv6, settings.outboundIpv4(), settings.outboundIpv6(),
                handler);
        ContextSocket socket = new ContextSocket(bound, ipv6, System.nanoTime());
        handler.socket = socket;
        sockets.add(socket);
        metrics.liveSockets.increment();
        socket.channel.closeFuture().addListener(f -> metrics.liveSockets.decrement());
        bound.addListener(f -> {
            if (!f.isSuccess()) {
                log.warn("cannot bind a UDP socket for {}: {}", this, f.cause().toString());
                release(socket);
            }
        });
        return socket;
    }

    private void put(LinkedHashMap<InetSocketAddress, Entry> map, InetSocketAddress address, Entry entry) {
        if (map.put(address, entry) == null) {
            metrics.liveMappings.increment();
        }
        while (dialed.size() + heard.size() > settings.maxEntries()) {
            evictOldestEntry();
        }
    }

    private void evictOldestEntry() {
        Map.Entry<InetSocketAddress, Entry> d = dialed.isEmpty() ? null : dialed.entrySet().iterator().next();
        Map.Entry<InetSocketAddress, Entry> h = heard.isEmpty() ? null : heard.entrySet().iterator().next();
        LinkedHashMap<InetSocketAddress, Entry> from;
        if (d == null) {
            from = heard;
        } else if (h == null) {
            from = dialed;
        } else {
            from = d.getValue().lastSeenNanos - h.getValue().lastSeenNanos <= 0 ? dialed : heard;
        }
        Iterator<Map.Entry<InetSocketAddress, Entry>> it = from.entrySet().iterator();
        it.next();
        it.remove();
        metrics.liveMappings.decrement();
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
        }
    }

    /** Where datagrams from the outside arrive: mapping bookkeeping, then delivery (DLV-1..DLV-3). */
    private void received(ContextSocket socket, DatagramPacket packet) {
        metrics.datagramsIn.increment();
        if (socket.released) {
            metrics.drop(DropReason.COOL_DOWN);
            packet.release();
            return;
        }
        InetSocketAddress source = VlessAddress.canonical(packet.sender());
        long now = System.nanoTime();
        Entry h = heard.get(source);
        if (h == null || h.socket.released) {
            put(heard, source, new Entry(socket, now));
        } else {
            h.lastSeenNanos = now;
        }
        Entry d = dialed.get(source);
        if (d != null) {
            d.lastSeenNanos = now;
        }

        UdpFlow newest = null;
        List<UdpFlow> list = flowsByTarget.get(source);
        if (list != null) {
            for (UdpFlow f : list) {
                if (newest == null || f.sequence() > newest.sequence()) {
                    newest = f;
                }
            }
        }
        if (newest != null) {
            if (!newest.deliver(packet)) {
                metrics.drop(DropReason.CLIENT_BACKLOG);
            }
        } else if (crumfurs != null) {
            if (crumfurs.deliver(packet)) {
                metrics.umfursSent.increment();
            } else {
                metrics.drop(DropReason.CLIENT_BACKLOG);
            }
        } else {
            metrics.drop(DropReason.NO_RECEIVER);
            packet.release();
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
        for (ContextSocket s : new ArrayList<>(sockets)) {
            if (s.flows == 0 && now - s.lastOutboundNanos > lifetime) {
                release(s);
            }
        }
        expireEntries(dialed, now, lifetime, true);
        expireEntries(heard, now, lifetime, false);
        if (sockets.isEmpty() && flowSockets.isEmpty() && crumfurs == null) {
            close();
        }
    }

    private void expireEntries(Map<InetSocketAddress, Entry> map, long now, long lifetime, boolean isDialed) {
        for (Iterator<Map.Entry<InetSocketAddress, Entry>> it = map.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<InetSocketAddress, Entry> e = it.next();
            boolean inUse = isDialed && flowsByTarget.containsKey(e.getKey());
            if (e.getValue().socket.released || (!inUse && now - e.getValue().lastSeenNanos > lifetime)) {
                it.remove();
                metrics.liveMappings.decrement();
            }
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
        long coolDown = settings.coolDownNanos();
        if (coolDown <= 0 || !socket.channel.isActive()) {
            socket.channel.close();
        } else {
            loop.schedule(() -> socket.channel.close(), coolDown, TimeUnit.NANOSECONDS);
        }
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
        metrics.liveMappings.add(-(dialed.size() + heard.size()));
        dialed.clear();
        heard.clear();
        table.removed(key, this);
    }

    /** Closes everything at once, for server shutdown. */
    void shutdown() {
        for (UdpFlow f : new ArrayList<>(flowSockets.keySet())) {
            detach(f);
            f.close("server shutting down");
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
