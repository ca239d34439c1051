// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import static dev.vless.conformance.cases.NatClassificationCases.addr;
import static dev.vless.conformance.cases.NatClassificationCases.bytes;
import static dev.vless.conformance.cases.NatClassificationCases.distinctPeers;
import static dev.vless.conformance.cases.NatClassificationCases.drain;
import static dev.vless.conformance.cases.NatClassificationCases.nextUmfurs;
import static dev.vless.conformance.cases.NatClassificationCases.observed;
import static dev.vless.conformance.cases.NatClassificationCases.readUntil;
import static dev.vless.conformance.cases.NatClassificationCases.settle;
import static dev.vless.conformance.cases.NatClassificationCases.text;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.conformance.Capability;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.CrumfursChannel;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.Requires;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.VlessConnection;
import dev.vless.conformance.cases.NatClassificationCases.Context;
import dev.vless.spec.Profile;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * §11 NAT context and mapping, exercised as the scenarios full cone exists for: reuse of a dialed or heard mapping,
 * hole punching and simultaneous open, isolation of contexts, no port overloading, and domain targets.
 */
@ConformanceCases
@Tag("full-cone")
class FullConeCases {

    private static final String NAT_1 = "NAT-1: a v1 server keeps one NAT context per user as seen from one client IP";
    private static final String NAT_2 = "NAT-2: mapping rule 1: a context that dialed X before sends to X from the"
            + " socket of that first dial";
    private static final String NAT_3 = "NAT-3: mapping rule 2: a context sends to a remote that sent to it from the"
            + " first socket that received from it";
    private static final String NAT_4 = "NAT-4: mapping rule 3: a new destination SHOULD be sent to from the"
            + " context's existing socket (endpoint-independent mapping)";
    private static final String NAT_6 = "NAT-6: dialed and heard entries are kept in two tables and never"
            + " overwritten while their socket lives";
    private static final String NAT_7 = "NAT-7: a domain target is resolved once, to its first IPv4 address, for the"
            + " connection's whole life";
    private static final String NAT_8 = "NAT-8: datagrams of different NAT contexts, or of a context and a v0"
            + " connection, never share a server port";
    private static final String NAT_9 = "NAT-9: a datagram received on one context's socket is never delivered to"
            + " another context";
    private static final String DLV_1 = "DLV-1: a datagram from X goes to the context's open command-2 connection"
            + " to X";
    private static final String DLV_2 = "DLV-2: with no connection to its source, a datagram goes to the live CRUMFURS"
            + " as a UMFURS";
    private static final String UMF_4 = "UMF-4: the source of a UMFURS is the datagram's true source address and port";
    private static final String UDP_3 = "UDP-3: the server sends the payload of every client frame as one datagram to"
            + " the connection's target";

    /** Concurrent v0 connections in the port-overloading case, besides the contexts' flows. */
    private static final int V0_CONNECTIONS = 10;
    /** Flows per v1 context in the port-overloading case. */
    private static final int FLOWS_PER_CONTEXT = 5;
    private static final int OVERLOAD_ROUNDS = 3;

    @Test
    @Tag("NAT-2")
    @DisplayName("NAT-2 · a new connection to a remote dialed before leaves from the first dial's address")
    void dialedMappingIsReused(Harness h) throws Exception {
        Context main = Context.main(h);
        main.crumfurs(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer a = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer b = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() - 1), 0));
        UdpConnection first = main.udp(h, a.address(), bytes("NAT-2: first connection to A"));
        InetSocketAddress m = mapped(h, a, bytes("NAT-2: first connection to A"));
        first.close();
        // A dial in between: a per-destination server now has a newer socket, which A must not be given.
        main.udp(h, b.address(), bytes("NAT-2: to B in between"));
        mapped(h, b, bytes("NAT-2: to B in between"));
        main.udp(h, a.address(), bytes("NAT-2: second connection to A"));
        InetSocketAddress again = mapped(h, a, bytes("NAT-2: second connection to A"));
        if (!again.equals(m)) {
            throw Expect.violation(NAT_2, "A sees the second connection's datagram from " + addr(m)
                    + ", as the first's", "A saw it from " + addr(again));
        }
    }

    @Test
    @Tag("NAT-3")
    @Tag("DLV-1")
    @Tag("DLV-2")
    @Tag("UMF-4")
    @DisplayName("NAT-3 · DLV-1 · DLV-2 · UMF-4 · hole punching: P, told M by rendezvous Z, reaches C, and C's"
            + " answer leaves from M")
    void holePunching(Harness h) throws Exception {
        Context main = Context.main(h);
        CrumfursChannel crf = main.crumfurs(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer z = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer p = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() > 1 ? 1 : 0), 0));
        byte[] toZ = bytes("hole punching: C to rendezvous Z");
        main.udp(h, z.address(), toZ);
        InetSocketAddress m = mapped(h, z, toZ);

        byte[] fromP = bytes("hole punching: P to M, as Z told it");
        p.send(m, fromP);
        CrumfursChannel.Umfurs u = nextUmfurs(crf, fromP, h.target().ioTimeout());
        if (u == null) {
            throw Expect.violation(DLV_2, "a UMFURS from P " + addr(p.address()) + " carrying " + text(fromP),
                    "no such UMFURS within " + h.target().ioTimeout().toMillis() + " ms");
        }
        if (!u.source().equals(p.address())) {
            throw Expect.violation(UMF_4, "the UMFURS source " + addr(p.address()), "source " + addr(u.source()));
        }

        byte[] answer = bytes("hole punching: C answers P");
        UdpConnection toP = main.udp(h, p.address(), answer);
        InetSocketAddress seenByP = mapped(h, p, answer);
        if (!seenByP.equals(m)) {
            throw Expect.violation(NAT_3, "P sees C's answer come from M " + addr(m) + ", the address Z saw",
                    "P saw it come from " + addr(seenByP));
        }
        // The path is open both ways: P's next datagram comes back on C's connection to P.
        byte[] again = bytes("hole punching: P again, now on C's connection");
        p.send(m, again);
        byte[] got = toP.receive();
        if (got == null || !text(got).equals(text(again))) {
            throw Expect.violation(DLV_1, "the frame " + text(again) + " on the connection to P",
                    got == null ? "nothing within " + h.target().ioTimeout().toMillis() + " ms" : text(got));
        }
    }

    @Test
    @Tag("NAT-4")
    @DisplayName("NAT-4 · simultaneous open: C sends to P before P sent anything, and P sees the M rendezvous Z saw")
    void simultaneousOpen(Harness h) throws Exception {
        Context main = Context.main(h);
        main.crumfurs(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer z = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer p = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() > 1 ? 1 : 0), 0));
        byte[] toZ = bytes("simultaneous open: C to rendezvous Z");
        main.udp(h, z.address(), toZ);
        InetSocketAddress m = mapped(h, z, toZ);
        byte[] toP = bytes("simultaneous open: C to P first");
        main.udp(h, p.address(), toP);
        InetSocketAddress seenByP = mapped(h, p, toP);
        if (!seenByP.equals(m)) {
            throw Expect.violation(NAT_4, "P sees " + addr(m) + ", the address Z saw (EIM)",
                    "P saw " + addr(seenByP) + ": a new socket for a new destination (per-destination policy,"
                            + " NAT-5; RFC 4787 APDM), so simultaneous-open hole punching fails");
        }
    }

    @Test
    @Tag("NAT-4")
    @DisplayName("NAT-4 · three destinations on different addresses and ports see one mapped address (EIM)")
    void endpointIndependentMapping(Harness h) throws Exception {
        List<InetSocketAddress> seen = threeNewDestinations(h, "EIM");
        if (new LinkedHashSet<>(seen).size() != 1) {
            throw Expect.violation(NAT_4, "one mapped address for all three destinations",
                    "they saw " + seen.stream().map(NatClassificationCases::addr).toList()
                            + " (endpoint-dependent mapping)");
        }
    }

    @Test
    @Tag("NAT-5")
    @Tag("NAT-10")
    @DisplayName("NAT-5 · NAT-10 · new destinations on three addresses: one socket or one each (reported), and one mapped IP for all")
    void mappingPolicyAndMappedIp(Harness h) throws Exception {
        List<InetAddress> hosts = distinctPeers(h);
        List<InetSocketAddress> seen = threeNewDestinations(h, "NAT-5");
        long ports = seen.stream().map(InetSocketAddress::getPort).distinct().count();
        h.fact("nat.newDestination", ports == 1 ? "the context's socket (endpoint-independent, NAT-4)"
                : ports + " sockets for 3 destinations (per-destination, NAT-5)");
        long ips = seen.stream().map(InetSocketAddress::getAddress).distinct().count();
        if (ips != 1) {
            throw Expect.violation("NAT-10: a context socket SHOULD bind the configured outbound address of its"
                    + " family, so that the mapped address does not depend on the route", "one mapped IP address for"
                    + " destinations on " + hosts, "they saw " + seen.stream().map(NatClassificationCases::addr)
                    .toList());
        }
        // On one machine every route leaves from the same address: a socket bound to the wildcard passes here too.
        h.log().note("every destination saw " + seen.get(0).getAddress().getHostAddress());
    }

    /**
     * The main context (its CRUMFURS open first) sends to three new destinations on the distinct peer addresses: the
     * mapped address each saw.
     */
    private static List<InetSocketAddress> threeNewDestinations(Harness h, String label) throws Exception {
        Context main = Context.main(h);
        main.crumfurs(h);
        List<InetAddress> hosts = distinctPeers(h);
        List<InetSocketAddress> seen = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            UdpPeer r = h.udpPeer(new InetSocketAddress(hosts.get(i % hosts.size()), 0));
            byte[] payload = bytes(label + ": to destination " + (i + 1));
            main.udp(h, r.address(), payload);
            seen.add(mapped(h, r, payload));
        }
        return seen;
    }

    @Test
    @Tag("NAT-6")
    @DisplayName("NAT-6 · after C dialed A on M and heard B on M, a connection to B and a new one to A both use M")
    void dialedAndHeardEntriesAreKept(Harness h) throws Exception {
        Context main = Context.main(h);
        CrumfursChannel crf = main.crumfurs(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer a = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer b = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() - 1), 0));
        UdpPeer d = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() > 1 ? 1 : 0), 0));
        byte[] toA = bytes("NAT-6: C to A");
        UdpConnection first = main.udp(h, a.address(), toA);
        InetSocketAddress m = mapped(h, a, toA);
        byte[] fromB = bytes("NAT-6: B to M");
        b.send(m, fromB);
        if (nextUmfurs(crf, fromB, h.target().ioTimeout()) == null) {
            h.log().note("B's datagram did not come as a UMFURS; its heard entry is checked all the same");
        }
        // A new destination in between: a per-destination server opens another socket, which B must not be given.
        byte[] toD = bytes("NAT-6: C to D");
        main.udp(h, d.address(), toD);
        mapped(h, d, toD);
        byte[] toB = bytes("NAT-6: C to B");
        main.udp(h, b.address(), toB);
        InetSocketAddress seenByB = mapped(h, b, toB);
        if (!seenByB.equals(m)) {
            throw Expect.violation(NAT_6 + " (the heard entry of B, rule 2)", "B sees " + addr(m)
                    + ", the socket that heard it", "B saw " + addr(seenByB));
        }
        first.close();
        byte[] toAagain = bytes("NAT-6: C to A again");
        main.udp(h, a.address(), toAagain);
        InetSocketAddress seenByA = mapped(h, a, toAagain);
        if (!seenByA.equals(m)) {
            throw Expect.violation(NAT_6 + " (the dialed entry of A, rule 1)", "A sees " + addr(m) + " again",
                    "A saw " + addr(seenByA));
        }
    }

    @Test
    @Tag("NAT-1")
    @Tag("NAT-9")
    @Requires(Capability.SECOND_USER)
    @DisplayName("NAT-1 · NAT-9 · two users are two contexts: other server ports, and neither gets the other's"
            + " datagrams")
    void usersAreIsolated(Harness h) throws Exception {
        isolation(h, Context.main(h), new Context(h.target().user2(), null, "user 2"));
    }

    @Test
    @Tag("NAT-1")
    @Tag("NAT-9")
    @Requires(Capability.LOOPBACK_TARGET)
    @DisplayName("NAT-1 · NAT-9 · one user from two client IPs is two contexts: other ports, own CRUMFURS, no"
            + " crossing datagrams")
    void clientAddressesAreIsolated(Harness h) throws Exception {
        Context main = Context.main(h);
        // The address the OS picks to reach the target (a connected UDP socket sends nothing): the second differs.
        InetAddress usual;
        try (java.net.DatagramSocket route = new java.net.DatagramSocket()) {
            route.connect(h.target().address());
            usual = route.getLocalAddress();
        }
        InetAddress other = InetAddress.getByName(usual.getHostAddress().equals("127.0.0.2") ? "127.0.0.3"
                : "127.0.0.2");
        isolation(h, main, new Context(main.user(), other, "user 1 from " + other.getHostAddress()));
    }

    /**
     * Both contexts open CRUMFURS and a connection to the same remote A; a remote X sends to each context's mapped
     * address, and A answers each. Everything must reach its own context only.
     */
    private static void isolation(Harness h, Context one, Context two) throws Exception {
        CrumfursChannel crf1 = one.crumfurs(h);
        CrumfursChannel crf2 = two.crumfurs(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer a = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer x = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() - 1), 0));
        byte[] hello1 = bytes("isolation: " + one.name() + " to A");
        byte[] hello2 = bytes("isolation: " + two.name() + " to A");
        UdpConnection c1 = one.udp(h, a.address(), hello1);
        InetSocketAddress m1 = mapped(h, a, hello1);
        UdpConnection c2 = two.udp(h, a.address(), hello2);
        InetSocketAddress m2 = mapped(h, a, hello2);
        if (m1.equals(m2)) {
            throw Expect.violation(NAT_1, "the connections of " + one.name() + " and " + two.name()
                    + " leave from different server ports (two contexts)", "both left from " + addr(m1));
        }
        byte[] xTo1 = bytes("isolation: X to the M of " + one.name());
        byte[] xTo2 = bytes("isolation: X to the M of " + two.name());
        byte[] aTo1 = bytes("isolation: A to the M of " + one.name());
        byte[] aTo2 = bytes("isolation: A to the M of " + two.name());
        x.send(m1, xTo1);
        x.send(m2, xTo2);
        a.send(m1, aTo1);
        a.send(m2, aTo2);

        // A's answers pass each socket after X's datagram: once they are back, X's were handled too.
        List<String> got1 = new ArrayList<>();
        List<String> got2 = new ArrayList<>();
        readUntil(c1, aTo1, h.target().ioTimeout(), got1);
        readUntil(c2, aTo2, h.target().ioTimeout(), got2);
        // One wait covers what is still in flight; after it, the other channels only need reading out.
        Duration settle = settle(h);
        boolean open1 = drainUmfursText(crf1, settle, got1);
        boolean open2 = drainUmfursText(crf2, NatClassificationCases.BUFFERED, got2);
        drain(c1, NatClassificationCases.BUFFERED, got1);
        drain(c2, NatClassificationCases.BUFFERED, got2);
        h.log().note(one.name() + " received " + got1 + "; " + two.name() + " received " + got2);

        for (byte[] foreign : List.of(xTo1, aTo1)) {
            if (got2.contains(text(foreign))) {
                throw Expect.violation(NAT_9, "only " + one.name() + " receives what is sent to its M " + addr(m1),
                        two.name() + " received " + text(foreign));
            }
        }
        for (byte[] foreign : List.of(xTo2, aTo2)) {
            if (got1.contains(text(foreign))) {
                throw Expect.violation(NAT_9, "only " + two.name() + " receives what is sent to its M " + addr(m2),
                        one.name() + " received " + text(foreign));
            }
        }
        if (!open1) {
            throw Expect.violation(NAT_1 + " (a CRUMFURS replaces only its own context's, CRF-3)", "the CRUMFURS of "
                    + one.name() + " stays open after " + two.name() + " opened its own",
                    "it was closed: the two share a context");
        }
        if (!open2) {
            throw Expect.violation(NAT_1, "the CRUMFURS of " + two.name() + " stays open", "it was closed");
        }
    }

    @Test
    @Tag("NAT-8")
    @DisplayName("NAT-8 · 20 concurrent flows (v0 connections, two contexts) never share a server port across owners")
    void noPortOverloading(Harness h) throws Exception {
        boolean v1 = h.target().profile() == Profile.V1;
        List<InetAddress> hosts = distinctPeers(h);
        List<UdpPeer> pool = new ArrayList<>();
        for (int i = 0; i < FLOWS_PER_CONTEXT; i++) {
            pool.add(h.udpPeer(new InetSocketAddress(hosts.get(i % hosts.size()), 0)));
        }
        List<Context> contexts = new ArrayList<>();
        int v0Connections = V0_CONNECTIONS;
        if (v1) {
            contexts.add(Context.main(h));
            if (h.target().has(Capability.SECOND_USER)) {
                contexts.add(new Context(h.target().user2(), null, "user 2"));
            } else if (h.target().has(Capability.LOOPBACK_TARGET)) {
                InetAddress ip = NatClassificationCases.freshClientIp();
                contexts.add(new Context(h.target().user(), ip, "user 1 from " + ip.getHostAddress()));
            }
            for (Context c : contexts) {
                c.crumfurs(h);
            }
            if (!servesV0(h, pool.get(0))) {
                h.log().note("the target does not serve v0 on this listener (VER-3): no v0 connections in the mix");
                v0Connections = 0;
            }
        } else {
            // A v0 target: every connection is a context of its own.
            v0Connections = 2 * V0_CONNECTIONS;
        }

        Map<InetSocketAddress, String> contextPorts = new HashMap<>();
        for (int round = 1; round <= OVERLOAD_ROUNDS; round++) {
            List<Flow> flows = new ArrayList<>();
            List<VlessConnection> opened = new ArrayList<>();
            // Interleaved, so that sockets of different owners are bound in between each other.
            for (int i = 0; i < Math.max(v0Connections, FLOWS_PER_CONTEXT); i++) {
                for (Context c : contexts) {
                    if (i < FLOWS_PER_CONTEXT) {
                        UdpPeer peer = pool.get(i);
                        byte[] payload = bytes("NAT-8 round " + round + ": " + c.name() + " flow " + (i + 1));
                        opened.add(c.udp(h, peer.address(), payload));
                        flows.add(new Flow(c.name(), true, peer, payload));
                    }
                }
                if (i < v0Connections) {
                    UdpPeer peer = pool.get(i % pool.size());
                    String owner = "v0 connection " + (i + 1) + " of round " + round;
                    byte[] payload = bytes("NAT-8 round " + round + ": " + owner);
                    opened.add(v0Udp(h, peer, payload));
                    flows.add(new Flow(owner, false, peer, payload));
                }
            }
            Map<InetSocketAddress, String> owners = new HashMap<>(contextPorts);
            Seen seen = new Seen();
            long deadline = System.nanoTime() + h.target().ioTimeout().toNanos();
            for (Flow f : flows) {
                InetSocketAddress m = seen.source(f.peer(), f.payload(), deadline);
                if (m == null) {
                    throw Expect.violation(UDP_3, "the datagram of " + f.owner() + " reaches "
                            + addr(f.peer().address()) + ", so that its server port can be compared",
                            "it did not arrive within "
                            + h.target().ioTimeout().toMillis() + " ms (round " + round + ")");
                }
                String previous = owners.putIfAbsent(m, f.owner());
                if (previous != null && !previous.equals(f.owner())) {
                    throw Expect.violation(NAT_8, "every context and v0 connection has server ports of its own",
                            f.owner() + " and " + previous + " both sent from " + addr(m) + " (round " + round + ")");
                }
                if (f.context()) {
                    contextPorts.put(m, f.owner());
                }
            }
            h.log().note("round " + round + ": " + flows.size() + " flows from " + new LinkedHashSet<>(owners.values())
                    .size() + " owners, " + owners.size() + " server ports");
            for (VlessConnection c : opened) {
                c.close();
            }
        }
    }

    /** One flow of the port-overloading case: whose it is, where it sent, what. */
    private record Flow(String owner, boolean context, UdpPeer peer, byte[] payload) {
    }

    /** What a set of peers received, by payload, so that many flows can share a peer. */
    private static final class Seen {
        private final Map<UdpPeer, Map<String, InetSocketAddress>> byPeer = new HashMap<>();

        InetSocketAddress source(UdpPeer peer, byte[] payload, long deadlineNanos) throws InterruptedException {
            Map<String, InetSocketAddress> got = byPeer.computeIfAbsent(peer, p -> new HashMap<>());
            String key = text(payload);
            while (!got.containsKey(key)) {
                long left = deadlineNanos - System.nanoTime();
                UdpPeer.Datagram d = left <= 0 ? null : peer.receive(Duration.ofNanos(left));
                if (d == null) {
                    return null;
                }
                got.put(text(d.payload()), d.source());
            }
            return got.get(key);
        }
    }

    /** A v0 command-2 connection (a v1 listener serves v0 too, VER-3) whose first frame carries {@code payload}. */
    private static VlessConnection v0Udp(Harness h, UdpPeer peer, byte[] payload) throws IOException {
        VlessConnection c = h.connect();
        c.writeRequest(VlessRequest.v0(h.target().user(), VlessCommand.UDP, VlessAddress.of(peer.address())),
                UdpConnection.frame(payload));
        return c;
    }

    private static boolean servesV0(Harness h, UdpPeer peer) throws IOException, InterruptedException {
        byte[] probe = bytes("NAT-8: does the listener serve v0?");
        try (VlessConnection c = v0Udp(h, peer, probe)) {
            return observed(h, peer, probe) != null;
        }
    }

    @Test
    @Tag("NAT-7")
    @Requires(Capability.LOOPBACK_TARGET)
    @DisplayName("NAT-7 · a UDP target named localhost is resolved once: one source throughout, replies come back")
    void domainTargetResolvedOnce(Harness h) throws Exception {
        Context main = Context.main(h);
        main.crumfurs(h);
        UdpPeer peer = h.udpPeer(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0)).echo();
        InetSocketAddress target = InetSocketAddress.createUnresolved("localhost", peer.address().getPort());
        List<byte[]> sent = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            sent.add(bytes("NAT-7: datagram " + i + " to localhost"));
        }
        UdpConnection c = main.udp(h, target, sent.get(0));
        for (byte[] payload : sent.subList(1, sent.size())) {
            c.send(payload);
        }
        Set<InetSocketAddress> sources = new LinkedHashSet<>();
        for (byte[] payload : sent) {
            InetSocketAddress m = observed(h, peer, payload);
            if (m == null) {
                throw Expect.violation(NAT_7, "every datagram reaches " + addr(peer.address())
                        + " (localhost's first IPv4 address)", text(payload) + " did not arrive within "
                        + h.target().ioTimeout().toMillis() + " ms");
            }
            sources.add(m);
        }
        if (sources.size() != 1) {
            throw Expect.violation(NAT_7, "one source for all datagrams of the connection",
                    "sources " + sources.stream().map(NatClassificationCases::addr).toList());
        }
        // Replies come from 127.0.0.1, the resolved address, and delivery must match that, not the name (D11).
        List<String> replies = new ArrayList<>();
        for (int i = 0; i < sent.size(); i++) {
            byte[] got;
            try {
                got = c.receive();
            } catch (EOFException e) {
                got = null;
            }
            if (got == null) {
                throw Expect.violation(NAT_7, "the peer's " + sent.size() + " replies from " + addr(peer.address())
                        + " come back on the connection to localhost", "got " + replies.size() + ": " + replies);
            }
            replies.add(text(got));
        }
        for (byte[] payload : sent) {
            if (!replies.contains(text(payload))) {
                throw Expect.violation(NAT_7, "the replies " + sent.stream().map(NatClassificationCases::text)
                        .toList(), "got " + replies);
            }
        }
    }

    // ---- helpers ----

    /** The mapped address {@code peer} saw {@code payload} come from; a violation when it never arrives. */
    private static InetSocketAddress mapped(Harness h, UdpPeer peer, byte[] payload) throws InterruptedException {
        InetSocketAddress m = observed(h, peer, payload);
        if (m == null) {
            throw Expect.violation(UDP_3, "the datagram " + text(payload) + " reaches " + addr(peer.address()),
                    "nothing within " + h.target().ioTimeout().toMillis() + " ms");
        }
        return m;
    }

    /** Reads UMFURS payloads into {@code into} until none begins for {@code quiet}; whether the channel is open. */
    private static boolean drainUmfursText(CrumfursChannel crf, Duration quiet, List<String> into)
            throws IOException {
        while (true) {
            CrumfursChannel.Umfurs u;
            try {
                u = crf.receive(quiet);
            } catch (EOFException e) {
                return false;
            }
            if (u == null) {
                return true;
            }
            into.add(text(u.payload()));
        }
    }
}
