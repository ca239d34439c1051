// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.mutants;

import dev.vless.codec.VlessAddress;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One NAT context (§11): its sockets, dialed and heard tables, command-2 connections and CRUMFURS, with the mapping
 * rules, delivery (§12) and the lifetime sweep (§13). Every method is synchronized: the tests' traffic is small, and
 * one lock keeps the rules readable.
 */
final class NatContext {

    /** A context socket and its receiver thread. */
    final class CtxSocket {
        final DatagramSocket socket;
        final long created = System.nanoTime();
        volatile long lastOutbound = created;
        volatile boolean released;

        CtxSocket(InetSocketAddress bind) throws IOException {
            socket = server.track(new DatagramSocket(bind));
            Thread t = new Thread(this::receive, "mutant-udp-" + socket.getLocalPort());
            t.setDaemon(true);
            t.start();
        }

        private void receive() {
            byte[] buf = new byte[server.fault == Fault.TRUNCATION ? 2048 : 65535];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            while (!socket.isClosed()) {
                try {
                    p.setData(buf);
                    socket.receive(p);
                } catch (IOException e) {
                    return;
                }
                if (!released) { // a released port discards during its cool-down (LIF-7)
                    received(this, (InetSocketAddress) p.getSocketAddress(),
                            java.util.Arrays.copyOf(buf, p.getLength()));
                }
            }
        }

        void send(InetSocketAddress to, byte[] payload) throws IOException {
            socket.send(new DatagramPacket(payload, payload.length, to));
            lastOutbound = System.nanoTime();
        }

        boolean ipv4() {
            return socket.getLocalAddress() instanceof Inet4Address;
        }
    }

    /** A dialed or heard entry: the socket, and when traffic to or from the address last passed (LIF-6). */
    private static final class Entry {
        final CtxSocket socket;
        long last = System.nanoTime();

        Entry(CtxSocket socket) {
            this.socket = socket;
        }
    }

    private final MutantServer server;
    private final List<CtxSocket> sockets = new ArrayList<>();
    private final Map<InetSocketAddress, Entry> dialed = new HashMap<>();
    private final Map<InetSocketAddress, Entry> heard = new HashMap<>();
    /** Open command-2 connections, in the order their headers completed. */
    private final List<MutantServer.UdpConn> conns = new ArrayList<>();
    private MutantServer.CrumfursConn crumfurs;
    /** Open MUX connections, oldest 0x15 first. */
    private final List<MutantServer.MuxConn> muxes = new ArrayList<>();
    /** The MUX connection that last sent to X, kept with X's dialed entry (MUX-17). */
    private final Map<InetSocketAddress, MutantServer.MuxConn> lastSender = new HashMap<>();
    /** MUX connections per context beyond which the least recently active closes (MUX-22). */
    static final int MAX_MUX = 8;
    long droppedCount;

    NatContext(MutantServer server) {
        this.server = server;
    }

    // ---- connections ----

    synchronized void add(MutantServer.UdpConn c) {
        conns.add(c);
    }

    synchronized void remove(MutantServer.UdpConn c) {
        conns.remove(c);
        if (server.fault == Fault.PER_CONNECTION_SOCKETS && c.socket != null) {
            release(c.socket); // v0-style: the connection's socket dies with it
        }
    }

    /** A newer CRUMFURS replaces the live one (CRF-3); false when it did not become live. */
    synchronized boolean attach(MutantServer.CrumfursConn c) {
        MutantServer.CrumfursConn old = crumfurs;
        if (old != null && server.fault == Fault.NO_REPLACE) {
            return false;
        }
        crumfurs = c;
        if (old != null) {
            old.close();
        }
        return true;
    }

    synchronized void detach(MutantServer.CrumfursConn c) {
        if (crumfurs == c) {
            crumfurs = null;
        }
    }

    synchronized void attachMux(MutantServer.MuxConn m) {
        if (muxes.size() >= MAX_MUX) {
            MutantServer.MuxConn idlest = muxes.get(0);
            for (MutantServer.MuxConn x : muxes) {
                if (x.lastActivity < idlest.lastActivity) {
                    idlest = x;
                }
            }
            muxes.remove(idlest);
            idlest.close();
        }
        muxes.add(m);
    }

    synchronized void detachMux(MutantServer.MuxConn m) {
        muxes.remove(m);
        lastSender.values().removeIf(v -> v == m);
    }

    /** Sends a MUX frame's datagram to {@code x} from the socket the mapping rules pick, as for command 2 (MUX-13). */
    void sendMux(MutantServer.MuxConn m, InetSocketAddress x, byte[] payload) throws IOException {
        CtxSocket s;
        synchronized (this) {
            if (server.fault == Fault.MUX_OWN_SOCKET) {
                if (m.own == null) {
                    m.own = new CtxSocket(server.outboundFor(x)); // not one of the context's sockets
                }
                s = m.own;
            } else {
                s = socketFor(x, null);
                touch(x);
            }
            lastSender.put(x, m);
        }
        s.send(x, payload);
    }

    // ---- mapping (NAT-2 to NAT-6) ----

    /** Sends a client datagram of {@code c} to its target from the socket the mapping rules pick. */
    void send(MutantServer.UdpConn c, byte[] payload) throws IOException {
        CtxSocket s;
        synchronized (this) {
            s = socketFor(c.target, c);
            c.socket = s;
            touch(c.target);
        }
        s.send(c.target, payload);
    }

    /** The socket for a datagram to {@code x} of command-2 connection {@code c}, or of a MUX connection (null). */
    private CtxSocket socketFor(InetSocketAddress x, MutantServer.UdpConn c) throws IOException {
        if (server.fault == Fault.PER_CONNECTION_SOCKETS && c != null) {
            return c.socket != null ? c.socket : open(x);
        }
        // An open connection keeps its socket (LIF-1), even after its entry expired.
        if (c != null && c.socket != null && !c.socket.released) {
            dialed.putIfAbsent(x, new Entry(c.socket));
            return c.socket;
        }
        Entry d = dialed.get(x);
        if (d != null) {
            return d.socket; // rule 1
        }
        boolean symmetric = server.fault == Fault.SYMMETRIC;
        Entry h = symmetric ? null : heard.get(x);
        CtxSocket s = h != null ? h.socket : null; // rule 2
        if (s == null && !symmetric && !server.perDestination) {
            s = sockets.stream().filter(k -> k.ipv4() == (x.getAddress() instanceof Inet4Address))
                    .findFirst().orElse(null); // rule 3: endpoint-independent
        }
        if (s == null) {
            s = open(x);
        }
        dialed.put(x, new Entry(s));
        return s;
    }

    private CtxSocket open(InetSocketAddress x) throws IOException {
        CtxSocket s = new CtxSocket(server.outboundFor(x));
        sockets.add(s);
        return s;
    }

    private void touch(InetSocketAddress x) {
        long now = System.nanoTime();
        Entry d = dialed.get(x);
        if (d != null) {
            d.last = now;
        }
        Entry h = heard.get(x);
        if (h != null) {
            h.last = now;
        }
    }

    // ---- delivery (DLV-1 to DLV-3, DLV-6) ----

    private synchronized void received(CtxSocket s, InetSocketAddress from, byte[] data) {
        InetSocketAddress x = VlessAddress.canonical(from);
        if (!VlessAddress.isUnicastSource(x)) {
            droppedCount++;
            return;
        }
        heard.putIfAbsent(x, new Entry(s));
        touch(x); // inbound refreshes entries too (LIF-4 allows it; LIF-6 counts traffic either way)
        MutantServer.UdpConn to = null;
        if (server.fault != Fault.KNOWN_SOURCE_TO_CRUMFURS) {
            for (MutantServer.UdpConn c : conns) {
                if (c.target.equals(x)) {
                    to = c;
                    if (server.fault == Fault.OLD_CONNECTION) {
                        break;
                    }
                }
            }
        }
        MutantServer.MuxConn mux = null;
        if (to == null && !muxes.isEmpty()) {
            MutantServer.MuxConn last = lastSender.get(x);
            if (last != null && muxes.contains(last)) {
                mux = last; // MUX-17
            } else if (server.fault != Fault.MUX_UNSOLICITED_DROPPED) {
                mux = server.fault == Fault.MUX_OLDEST ? muxes.get(0) : muxes.get(muxes.size() - 1); // MUX-18
            }
        }
        if (to != null) {
            to.deliver(data);
        } else if (mux != null) {
            mux.deliver(x, data);
        } else if (crumfurs != null && muxes.isEmpty()) {
            crumfurs.deliver(x, data);
        } else {
            droppedCount++;
        }
    }

    // ---- lifetime (LIF-1, LIF-2, LIF-4 to LIF-7) ----

    synchronized void sweep(long now) {
        long life = server.lifetime.toNanos();
        for (MutantServer.UdpConn c : new ArrayList<>(conns)) {
            if (server.fault != Fault.NO_IDLE_CLOSE && now - c.lastActivity > life) {
                c.close(); // LIF-5
            }
        }
        for (MutantServer.MuxConn m : new ArrayList<>(muxes)) {
            if (server.fault != Fault.MUX_NO_IDLE_CLOSE && now - m.lastActivity > life) {
                muxes.remove(m);
                m.close(); // MUX-21
            }
        }
        boolean forever = server.perDestination && server.fault == Fault.ENTRIES_NEVER_EXPIRE;
        if (forever) {
            return;
        }
        dialed.values().removeIf(e -> now - e.last > life);
        heard.values().removeIf(e -> now - e.last > life);
        lastSender.keySet().retainAll(dialed.keySet());
        long socketLife = server.fault == Fault.SHORT_LIFETIME ? life / 3 : life;
        for (CtxSocket s : new ArrayList<>(sockets)) {
            // An open MUX connection pins every socket of its context (MUX-20).
            boolean mapped = conns.stream().anyMatch(c -> c.socket == s) || (!muxes.isEmpty() && server.fault != Fault.MUX_NOT_PINNING);
            long since = server.fault == Fault.NO_REFRESH ? s.created : s.lastOutbound;
            if ((!mapped || server.fault == Fault.EXPIRY_WHILE_OPEN) && now - since > socketLife) {
                release(s);
            }
        }
    }

    private void release(CtxSocket s) {
        sockets.remove(s);
        dialed.values().removeIf(e -> e.socket == s);
        heard.values().removeIf(e -> e.socket == s);
        s.released = true;
        server.coolDown(s.socket);
    }

    synchronized boolean idle() {
        return sockets.isEmpty() && conns.isEmpty() && crumfurs == null && muxes.isEmpty();
    }
}
