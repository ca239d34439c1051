// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz.live;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.conformance.RawDatagrams;
import dev.vless.server.DropReason;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The remote side of the server as a fuzzer sees it: one user's NAT context with a live CRUMFURS and command-2
 * connections to peer A (IPv4) and, where loopback has IPv6, to peer A6, so that the context has an IPv4 and a
 * dual-stack IPv6 socket. Datagrams from anywhere (real peers, or forged through a raw socket) are sent to those
 * sockets; every message the client receives is checked against what was sent:
 *
 * <ul>
 *   <li>a datagram from port 0 or a source that is not unicast reaches no client (DLV-6);</li>
 *   <li>one from A's exact address goes to the connection to A, one from A6 to the connection to A6 (DLV-1);</li>
 *   <li>any other goes to CRUMFURS labelled with its true source, IPv4-mapped written as IPv4 (DLV-2, UMF-3, UMF-4);
 *   </li>
 *   <li>nothing arrives twice or unsent; markers sent after the burst arrive, so the server did not stall.</li>
 * </ul>
 *
 * Datagrams may be dropped (DLV-5 allows it under a burst); wrong delivery, a wrong label or a stall may not.
 */
final class RemoteScenario implements AutoCloseable {

    /** Where a datagram of the scenario comes from. */
    sealed interface Source permits Peer, Forged {
    }

    /** Sent by one of the scenario's real peer sockets. */
    enum Peer implements Source { A, A6, B }

    /** Forged through a raw socket; {@code asA} takes A's exact address, which changes from run to run. */
    record Forged(InetSocketAddress address, boolean asA) implements Source {
    }

    /** One datagram: its source, which of the context's sockets it goes to, and its payload. */
    record Datagram(Source source, boolean toIpv6Socket, byte[] payload) {

        /** The corpus line: {@code datagram: SOURCE ipv4|ipv6 HEX}. */
        String line() {
            String s = source instanceof Peer p ? "peer:" + p
                    : ((Forged) source).asA() ? "forged:A"
                    : ((Forged) source).address().getAddress().getHostAddress() + ":" + ((Forged) source).address()
                            .getPort();
            return "datagram: " + s + " " + (toIpv6Socket ? "ipv6" : "ipv4") + " " + java.util.HexFormat.of().formatHex(payload);
        }

        static Datagram parse(String line) throws IOException {
            String[] f = line.substring("datagram:".length()).trim().split(" ");
            Source source;
            if (f[0].startsWith("peer:")) {
                source = Peer.valueOf(f[0].substring(5));
            } else if (f[0].equals("forged:A")) {
                source = new Forged(null, true);
            } else {
                int colon = f[0].lastIndexOf(':');
                source = new Forged(new InetSocketAddress(InetAddress.getByName(f[0].substring(0, colon)),
                        Integer.parseInt(f[0].substring(colon + 1))), false);
            }
            byte[] payload = f.length > 2 ? java.util.HexFormat.of().parseHex(f[2]) : new byte[0];
            return new Datagram(source, f[1].equals("ipv6"), payload);
        }
    }

    private enum Channel { CRUMFURS, TO_A, TO_A6, NONE }

    private record Expected(Channel channel, InetSocketAddress label, byte[] payload) {
    }

    private record Received(Channel channel, InetSocketAddress label, byte[] payload) {
    }

    final LiveRig rig;
    final RawDatagrams raw;
    final UdpPeer a;
    final UdpPeer a6;
    final UdpPeer b;
    private final TestClient crumfurs;
    private final TestClient toA;
    private final TestClient toA6;
    private final InetSocketAddress ipv4Socket;
    private final InetSocketAddress ipv6Socket;
    private final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<String> readerFailures = new ConcurrentLinkedQueue<>();
    private final List<Thread> readers = new ArrayList<>();
    private volatile boolean closing;
    private long nextId = 1;
    private int markers;

    /**
     * Sets the context up on {@code rig}'s server. {@code raw} may be null where this process cannot forge sources;
     * then only the real peers send.
     */
    RemoteScenario(LiveRig rig, RawDatagrams raw) throws Exception {
        this.rig = rig;
        this.raw = raw;
        a = UdpPeer.bind("127.0.0.3");
        b = UdpPeer.bind("127.0.0.4");
        a6 = Loopback.hasIpv6() ? UdpPeer.bind("::1") : null;
        crumfurs = rig.connect();
        crumfurs.sendHeader(VlessRequest.crumfurs(LiveRig.USER)).expectCrumfursAck();
        toA = rig.connect();
        toA.sendHeader(TestClient.v1(LiveRig.USER, VlessCommand.UDP, a.address()), TestClient.frame(new byte[] {1}));
        ipv4Socket = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), a.receive().source().getPort());
        if (a6 != null) {
            toA6 = rig.connect();
            toA6.sendHeader(TestClient.v1(LiveRig.USER, VlessCommand.UDP, a6.address()),
                    TestClient.frame(new byte[] {1}));
            // Dual-stack: IPv4 datagrams to this port on 127.0.0.1 reach the IPv6 socket, from IPv4-mapped sources.
            ipv6Socket = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), a6.receive().source().getPort());
        } else {
            toA6 = null;
            ipv6Socket = ipv4Socket;
        }
        read(crumfurs, Channel.CRUMFURS, true);
        read(toA, Channel.TO_A, false);
        if (toA6 != null) {
            read(toA6, Channel.TO_A6, false);
        }
    }

    /** Whether sources can be forged here. */
    boolean forging() {
        return raw != null;
    }

    private void read(TestClient c, Channel channel, boolean umfurs) {
        Thread t = new Thread(() -> {
            try {
                while (!closing) {
                    if (umfurs) {
                        TestClient.Umfurs u = c.readUmfurs();
                        received.add(new Received(channel, u.source(), u.payload()));
                    } else {
                        received.add(new Received(channel, null, c.readFrame()));
                    }
                }
            } catch (IOException | AssertionError e) {
                if (!closing) {
                    readerFailures.add(channel + ": " + e);
                }
            }
        }, "live-fuzz-reader-" + channel);
        t.setDaemon(true);
        t.start();
        readers.add(t);
    }

    /** A payload of {@code size} bytes; from 8 bytes on it starts with a unique id. */
    byte[] payload(int size, java.util.Random random) {
        byte[] p = new byte[size];
        random.nextBytes(p);
        if (size >= 8) {
            ByteBuffer.wrap(p).putLong(nextId++);
        }
        return p;
    }

    /**
     * Sends {@code burst}, then markers from every peer, and checks every message received meanwhile. Throws an
     * {@link AssertionError} naming the rule and the datagram when the server misbehaved.
     */
    void run(List<Datagram> burst, String name) throws Exception {
        List<Expected> expected = new ArrayList<>();
        int invalid = 0;
        long invalidBefore = rig.stats().drops(DropReason.INVALID_SOURCE);
        for (Datagram d : burst) {
            InetSocketAddress to = d.toIpv6Socket() ? ipv6Socket : ipv4Socket;
            Expected e = send(d, to);
            if (e == null) {
                continue; // not sendable here (no IPv6, no raw socket)
            }
            if (e.channel() == Channel.NONE) {
                invalid++;
            }
            expected.add(e);
        }
        awaitMarkers(name, expected);
        check(name, expected);
        long counted = rig.stats().drops(DropReason.INVALID_SOURCE) - invalidBefore;
        assertThat(counted).as("%s: datagrams counted as INVALID_SOURCE (DLV-6), of %d sent", name, invalid)
                .isBetween(0L, (long) invalid);
        rig.assertNoInternalErrors();
    }

    private Expected send(Datagram d, InetSocketAddress to) throws IOException {
        Source s = d.source();
        if (s instanceof Peer p) {
            switch (p) {
                case A:
                    a.send(d.payload(), to);
                    return new Expected(Channel.TO_A, a.address(), d.payload());
                case A6:
                    if (a6 == null) {
                        return null;
                    }
                    // To the IPv6 socket itself, over IPv6.
                    a6.send(d.payload(), new InetSocketAddress(InetAddress.getByName("::1"), ipv6Socket.getPort()));
                    return new Expected(Channel.TO_A6, a6.address(), d.payload());
                default:
                    b.send(d.payload(), to);
                    return new Expected(Channel.CRUMFURS, b.address(), d.payload());
            }
        }
        if (raw == null) {
            return null;
        }
        Forged f = (Forged) s;
        InetSocketAddress source = f.asA() ? a.address() : f.address();
        raw.send(source, to, d.payload());
        InetSocketAddress label = VlessAddress.canonical(source);
        if (!VlessAddress.isUnicastSource(label)) {
            return new Expected(Channel.NONE, label, d.payload());
        }
        if (label.equals(a.address())) {
            return new Expected(Channel.TO_A, label, d.payload());
        }
        return new Expected(Channel.CRUMFURS, label, d.payload());
    }

    /** Sends markers from every peer until each arrived where it must, so that the burst is fully processed. */
    private void awaitMarkers(String name, List<Expected> expected) throws Exception {
        int m = ++markers;
        byte[] toCrumfurs4 = TestClient.ascii("marker " + m + " B to the IPv4 socket");
        byte[] toCrumfurs6 = TestClient.ascii("marker " + m + " B to the IPv6 socket");
        byte[] fromA = TestClient.ascii("marker " + m + " from A");
        byte[] fromA6 = TestClient.ascii("marker " + m + " from A6");
        Set<String> missing = new HashSet<>(List.of("b4", "b6", "a"));
        if (a6 != null) {
            missing.add("a6");
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!missing.isEmpty() && System.nanoTime() < deadline && readerFailures.isEmpty()) {
            if (missing.contains("b4")) {
                b.send(toCrumfurs4, ipv4Socket);
            }
            if (missing.contains("b6")) {
                b.send(toCrumfurs6, ipv6Socket);
            }
            if (missing.contains("a")) {
                a.send(fromA, ipv4Socket);
            }
            if (missing.contains("a6")) {
                a6.send(fromA6, new InetSocketAddress(InetAddress.getByName("::1"), ipv6Socket.getPort()));
            }
            Thread.sleep(100);
            for (Received r : received) {
                if (r.channel() == Channel.CRUMFURS && Arrays.equals(r.payload(), toCrumfurs4)) {
                    missing.remove("b4");
                } else if (r.channel() == Channel.CRUMFURS && Arrays.equals(r.payload(), toCrumfurs6)) {
                    missing.remove("b6");
                } else if (r.channel() == Channel.TO_A && Arrays.equals(r.payload(), fromA)) {
                    missing.remove("a");
                } else if (r.channel() == Channel.TO_A6 && Arrays.equals(r.payload(), fromA6)) {
                    missing.remove("a6");
                }
            }
        }
        assertThat(readerFailures).as("%s: client connections failed (the server closed or sent garbage)", name)
                .isEmpty();
        assertThat(missing).as("%s: markers sent after the burst that never arrived: the server stalled or stopped"
                + " delivering", name).isEmpty();
        // Markers are expected too: they may arrive several times, being resent.
        expected.add(new Expected(Channel.CRUMFURS, b.address(), toCrumfurs4));
        expected.add(new Expected(Channel.CRUMFURS, b.address(), toCrumfurs6));
        expected.add(new Expected(Channel.TO_A, a.address(), fromA));
        if (a6 != null) {
            expected.add(new Expected(Channel.TO_A6, a6.address(), fromA6));
        }
    }

    private void check(String name, List<Expected> expected) {
        Set<Long> seenIds = new HashSet<>();
        Received r;
        while ((r = received.poll()) != null) {
            Expected match = null;
            for (Expected e : expected) {
                if (e.channel() == r.channel() && Arrays.equals(e.payload(), r.payload())
                        && (r.channel() != Channel.CRUMFURS || r.label().equals(e.label()))) {
                    match = e;
                    break;
                }
            }
            if (match == null) {
                Expected samePayload = null;
                for (Expected e : expected) {
                    if (Arrays.equals(e.payload(), r.payload())) {
                        samePayload = e;
                        break;
                    }
                }
                String what = r.channel() + (r.label() != null ? " labelled " + r.label() : "") + ", "
                        + r.payload().length + " B";
                if (samePayload == null) {
                    throw new AssertionError(name + ": a message nobody sent arrived: " + what);
                }
                throw new AssertionError(name + ": " + rule(samePayload) + " broken: a datagram from "
                        + samePayload.label() + " (" + r.payload().length + " B) for " + samePayload.channel()
                        + " arrived as " + what);
            }
            if (r.payload().length >= 8 && !isMarker(r.payload())
                    && !seenIds.add(ByteBuffer.wrap(r.payload()).getLong())) {
                throw new AssertionError(name + ": a datagram from " + match.label() + " was delivered twice");
            }
        }
    }

    private static boolean isMarker(byte[] p) {
        return p.length > 7 && new String(p, 0, 7, java.nio.charset.StandardCharsets.ISO_8859_1).equals("marker ");
    }

    private static String rule(Expected e) {
        switch (e.channel()) {
            case NONE:
                return "DLV-6 (source port 0 or not unicast: reach no client)";
            case CRUMFURS:
                return "DLV-2/UMF-4 (to CRUMFURS, labelled with the true source)";
            default:
                return "DLV-1 (to the connection to the source)";
        }
    }

    @Override
    public void close() throws Exception {
        closing = true;
        for (TestClient c : new TestClient[] {crumfurs, toA, toA6}) {
            if (c != null) {
                c.close();
            }
        }
        for (Thread t : readers) {
            t.join(5000);
        }
        a.close();
        b.close();
        if (a6 != null) {
            a6.close();
        }
    }
}
