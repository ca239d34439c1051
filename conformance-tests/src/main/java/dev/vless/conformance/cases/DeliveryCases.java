// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import static dev.vless.conformance.cases.UdpFrameCases.ascii;
import static dev.vless.conformance.cases.UdpFrameCases.expectDatagram;
import static dev.vless.conformance.cases.UdpFrameCases.expectFrame;
import static dev.vless.conformance.cases.UdpFrameCases.mappedAddress;
import static dev.vless.conformance.cases.UdpFrameCases.ms;

import dev.vless.codec.VlessAddress;
import dev.vless.conformance.Capability;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.CrumfursChannel;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.RawDatagrams;
import dev.vless.conformance.Requires;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.spec.Profile;
import java.io.EOFException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * §12 Delivery: which connection carries a datagram the context receives — the newest command-2 connection to its
 * source, else CRUMFURS, else nothing — and that a slow client never stops the server reading its sockets.
 */
@ConformanceCases
@Tag("nat")
class DeliveryCases {

    private static final String DLV_1 = "DLV-1: a datagram from X goes to the context's open command-2 connection"
            + " whose target is X, the newest by completed request header if there are several";
    private static final String DLV_2 = "DLV-2: with no connection to its source, a datagram goes to the live CRUMFURS"
            + " as a UMFURS";
    private static final String DLV_3 = "DLV-3: with neither a connection to its source nor a live CRUMFURS, a"
            + " datagram is dropped";
    private static final String DLV_6 = "DLV-6: a datagram whose source port is 0 or whose source address is not"
            + " unicast is dropped and counted: it goes to no connection";
    private static final String UMF_4 = "UMF-4: the source of a UMFURS is the true source address and port of the"
            + " datagram as the server's socket received it";
    private static final String DLV_5 = "DLV-5: a server MUST NOT stop reading its UDP sockets for a slow client;"
            + " datagrams beyond the unsent-data limit are dropped and counted";

    /** How often a polling peer repeats its datagram while a connection change takes effect at the server. */
    private static final Duration RESEND_EVERY = Duration.ofMillis(200);
    /** The flood of the DLV-5 cases: enough to overrun a 1 MiB unsent limit plus the sockets' buffers. */
    private static final int FLOOD_DATAGRAMS = 5000;
    private static final int FLOOD_SIZE = 1200;
    private static final Duration UNREAD = Duration.ofSeconds(2);

    @Test
    @Tag("DLV-1")
    @Tag("DLV-2")
    @DisplayName("DLV-1 · DLV-2 · replies reach the newest connection to their source only; the older after it closes; CRUMFURS after both")
    void newestConnectionThenOlderThenCrumfurs(Harness h) throws Exception {
        CrumfursChannel crumfurs = h.crumfurs();
        UdpPeer a = h.udpPeer(0);
        UdpConnection older = h.udp(a.address());
        InetSocketAddress mapped = mappedAddress(h, older, a);
        byte[] toOnly = ascii("to the only connection");
        a.send(mapped, toOnly);
        expectFrame(h, older, toOnly, DLV_1);

        UdpConnection newer = h.udp(a.address());
        mappedAddress(h, newer, a); // its datagram went out, so its request header is complete at the server
        byte[] toNewest = ascii("to the newest connection");
        a.send(mapped, toNewest);
        byte[] got = newer.receive();
        if (got == null) {
            byte[] elsewhere = older.receive(Duration.ofMillis(300));
            throw Expect.violation(DLV_1, "the datagram on the newer connection",
                    elsewhere != null ? "it arrived on the older connection" : "it arrived on neither within "
                            + ms(h));
        }
        if (!Arrays.equals(got, toNewest)) {
            throw Expect.violation(DLV_1, "a frame of " + toNewest.length + " B: " + WireLog.hex(toNewest),
                    "a frame of " + got.length + " B: " + WireLog.hex(got));
        }
        byte[] duplicate = older.receive(Duration.ofMillis(300));
        if (duplicate != null) {
            throw Expect.violation(DLV_1, "the datagram on the newer connection only",
                    "the older connection got a frame too: " + WireLog.hex(duplicate));
        }

        newer.close();
        byte[] onOlder = sendUntilFrame(h, a, mapped, "after the newer closed", older);
        if (onOlder == null) {
            throw Expect.violation(DLV_1, "once the newer connection closed, the source's datagrams on the older one",
                    "nothing on the older connection within " + (2 * h.target().ioTimeout().toMillis()) + " ms");
        }
        if (!text(onOlder).startsWith("after the newer closed")) {
            throw Expect.violation(DLV_1, "a datagram sent after the newer connection closed",
                    "a frame of " + onOlder.length + " B: " + WireLog.hex(onOlder));
        }

        older.close();
        CrumfursChannel.Umfurs u = sendUntilUmfurs(h, a, mapped, "after both closed", crumfurs);
        if (u == null) {
            throw Expect.violation(DLV_2, "once no connection to " + a.address() + " is open, its datagrams on"
                    + " CRUMFURS", "no UMFURS within " + (2 * h.target().ioTimeout().toMillis()) + " ms");
        }
        if (!u.source().equals(a.address())) {
            throw Expect.violation(DLV_2, "a UMFURS from " + a.address(), "a UMFURS from " + u.source());
        }
        if (!text(u.payload()).startsWith("after both closed")) {
            throw Expect.violation(DLV_1, "CRUMFURS gets none of the datagrams sent while a connection to their"
                    + " source was open", "a UMFURS carrying " + WireLog.hex(u.payload()));
        }
    }

    @Test
    @Tag("DLV-2")
    @DisplayName("DLV-2 · a datagram from a source with no connection goes to CRUMFURS, not to another connection")
    void unknownSourceGoesToCrumfurs(Harness h) throws Exception {
        CrumfursChannel crumfurs = h.crumfurs();
        UdpPeer a = h.udpPeer(0);
        UdpConnection toA = h.udp(a.address());
        InetSocketAddress mapped = mappedAddress(h, toA, a);
        UdpPeer b = h.udpPeer(1);
        byte[] p = ascii("from B, which has no connection");
        b.send(mapped, p);
        UmfursCases.expectUmfurs(h, crumfurs, b, p, DLV_2);
        byte[] wrong = toA.receive(Duration.ofMillis(300));
        if (wrong != null) {
            throw Expect.violation(DLV_2, "nothing on the connection to " + a.address(),
                    "a frame of " + wrong.length + " B: " + WireLog.hex(wrong));
        }
    }

    @Test
    @Tag("DLV-3")
    @DisplayName("DLV-3 · without CRUMFURS a datagram from an unknown source is delivered nowhere, and is not held for later")
    void noReceiverMeansDropped(Harness h) throws Exception {
        UdpPeer a = h.udpPeer(0);
        UdpPeer b = h.udpPeer(1);
        UdpConnection toA = h.udp(a.address());
        InetSocketAddress mapped = mappedAddress(h, toA, a);
        byte[] stray = ascii("stray datagram from B: must be dropped");
        byte[] fromA = ascii("from the target A");
        b.send(mapped, stray);
        a.send(mapped, fromA);
        byte[] got = toA.receive();
        if (got == null) {
            throw Expect.violation(DLV_3 + "; the server goes on delivering its targets' datagrams",
                    "A's datagram on the connection to A", "nothing within " + ms(h));
        }
        if (!Arrays.equals(got, fromA)) {
            throw Expect.violation(DLV_3, "only A's datagram on the connection to A",
                    (Arrays.equals(got, stray) ? "B's datagram was delivered on it" : "a frame of " + got.length
                            + " B") + ": " + WireLog.hex(got));
        }
        byte[] more = toA.receive(Duration.ofMillis(500));
        if (more != null) {
            throw Expect.violation(DLV_3, "nothing more on the connection to A", "a frame of " + more.length
                    + " B: " + WireLog.hex(more));
        }
        // A CRUMFURS opened now must not receive the stray datagram: dropped means not queued for later.
        CrumfursChannel crumfurs = h.crumfurs();
        byte[] later = ascii("from B once CRUMFURS is live");
        b.send(mapped, later);
        CrumfursChannel.Umfurs u = crumfurs.receive();
        if (u != null && Arrays.equals(u.payload(), stray)) {
            throw Expect.violation(DLV_3, "the stray datagram dropped, not delivered once a CRUMFURS opened",
                    "it arrived on the new CRUMFURS");
        }
        if (u == null || !Arrays.equals(u.payload(), later) || !u.source().equals(b.address())) {
            throw Expect.violation(DLV_2 + " (after the drop, delivery goes on)", "a UMFURS from " + b.address()
                    + ": " + WireLog.hex(later), u == null ? "nothing on CRUMFURS within " + ms(h)
                    : "a UMFURS from " + u.source() + ": " + WireLog.hex(u.payload()));
        }
    }

    @Test
    @Tag("DLV-6")
    @Requires(Capability.FORGED_SOURCES)
    @DisplayName("DLV-6 · datagrams forged from port 0, multicast and broadcast sources reach no client, and the target"
            + " keeps serving")
    void forgedInvalidSourcesReachNoClient(Harness h) throws Exception {
        Forging f = forging(h);
        InetAddress aIp = f.a().address().getAddress();
        List<InetSocketAddress> invalid = List.of(
                new InetSocketAddress(aIp, 0),                                              // A's host, port 0
                new InetSocketAddress(InetAddress.getByName("224.0.0.1"), f.a().address().getPort()),
                new InetSocketAddress(InetAddress.getByName("239.255.255.250"), 1900),
                new InetSocketAddress(InetAddress.getByName("255.255.255.255"), f.a().address().getPort()));
        try (RawDatagrams raw = RawDatagrams.open()) {
            for (InetSocketAddress source : invalid) {
                sendForged(h, raw, source, f.mapped(), ascii("forged from " + source + ": must reach no client"));
            }
        }
        byte[] marker = ascii("from B after the forged datagrams");
        f.b().send(f.mapped(), marker);
        try {
            for (CrumfursChannel.Umfurs u : umfursUntil(h, f, marker)) {
                String text = text(u.payload());
                if (!VlessAddress.isUnicastSource(VlessAddress.canonical(u.source()))
                        || text.startsWith("forged from ") && text.endsWith("must reach no client")) {
                    throw Expect.violation(DLV_6, "no UMFURS for the datagrams from " + invalid,
                            "a UMFURS labelled " + u.source() + " carrying " + WireLog.hex(u.payload()));
                }
            }
        } catch (EOFException | SocketException e) {
            throw Expect.violation(DLV_6, "CRUMFURS open and serving after datagrams from forged sources",
                    "CRUMFURS ended: " + e);
        } catch (MarkerMissing e) {
            throw Expect.violation(DLV_6 + "; bad sources never stop service",
                    "B's datagram, sent after the forged ones, on CRUMFURS", e.getMessage());
        }
        byte[] wrong = f.toA().receive(Duration.ofMillis(300));
        if (wrong != null) {
            throw Expect.violation(DLV_6, "nothing on the connection to " + f.a().address() + " (the port-0 datagram"
                    + " came from its host, not from it)", "a frame of " + wrong.length + " B: " + WireLog.hex(wrong));
        }
        byte[] fromA = ascii("from A after the forged datagrams");
        f.a().send(f.mapped(), fromA);
        expectFrame(h, f.toA(), fromA, DLV_6 + "; bad sources never stop service");
    }

    @Test
    @Tag("UMF-4")
    @Requires(Capability.FORGED_SOURCES)
    @DisplayName("UMF-4 · datagrams forged from another host at ports 1 and 65535 arrive labelled exactly as sent")
    void forgedUnicastSourcesAreLabelledAsSent(Harness h) throws Exception {
        Forging f = forging(h);
        // Unicast sources no harness socket binds, at the extreme ports: valid, so delivered with exactly this label.
        InetAddress other = h.target().peer(2) instanceof Inet4Address v4 ? v4 : f.a().address().getAddress();
        Map<String, InetSocketAddress> valid = new LinkedHashMap<>();
        valid.put("", new InetSocketAddress(other, 1));                                     // an empty datagram
        valid.put("forged from port 65535", new InetSocketAddress(other, 65535));
        try (RawDatagrams raw = RawDatagrams.open()) {
            for (Map.Entry<String, InetSocketAddress> e : valid.entrySet()) {
                sendForged(h, raw, e.getValue(), f.mapped(), ascii(e.getKey()));
            }
        }
        byte[] marker = ascii("from B after the forged datagrams");
        f.b().send(f.mapped(), marker);
        Map<String, InetSocketAddress> missing = new LinkedHashMap<>(valid);
        try {
            for (CrumfursChannel.Umfurs u : umfursUntil(h, f, marker)) {
                InetSocketAddress sent = valid.get(text(u.payload()));
                if (sent != null && !u.source().equals(f.b().address())) {
                    if (!u.source().equals(sent)) {
                        throw Expect.violation(UMF_4, "the datagram forged from " + sent + " labelled " + sent,
                                "labelled " + u.source() + " (" + WireLog.hex(u.payload()) + ")");
                    }
                    missing.remove(text(u.payload()));
                }
            }
        } catch (MarkerMissing e) {
            throw Expect.blocked("DLV-2", "B's datagram, sent after the forged ones, on CRUMFURS", e.getMessage());
        }
        if (!missing.isEmpty()) {
            throw Expect.violation(UMF_4 + " (with DLV-2: a datagram from a source without a connection goes to"
                    + " CRUMFURS)", "UMFURS from " + missing.values() + " before B's later datagram",
                    "none from them");
        }
    }

    /** What the forged-source cases share: CRUMFURS, a connection to A, its external address, and peer B. */
    private record Forging(CrumfursChannel crumfurs, UdpPeer a, UdpPeer b, UdpConnection toA,
            InetSocketAddress mapped) {
    }

    private static Forging forging(Harness h) throws Exception {
        Assumptions.assumeTrue(h.target().profile() == Profile.V1, "CRUMFURS exists in v1 only");
        CrumfursChannel crumfurs = h.crumfurs();
        UdpPeer a = h.udpPeer(0);
        UdpPeer b = h.udpPeer(1);
        Assumptions.assumeTrue(a.address().getAddress() instanceof Inet4Address,
                "the harness forges IPv4 datagrams; its peers are on IPv6");
        UdpConnection toA = h.udp(a.address());
        InetSocketAddress mapped = mappedAddress(h, toA, a);
        Assumptions.assumeTrue(VlessAddress.canonical(mapped.getAddress()) instanceof Inet4Address
                && mapped.getAddress().isLoopbackAddress(), "the target's external address " + mapped
                + " is not on 127.0.0.0/8, where the harness may send forged datagrams");
        // Precondition, DLV-2's subject: B's datagrams reach CRUMFURS at all. Without it nothing here can decide.
        if (sendUntilUmfurs(h, b, mapped, "before the forged datagrams", crumfurs) == null) {
            throw Expect.blocked("DLV-2", "B's datagrams on CRUMFURS, before any forged one",
                    "no UMFURS within " + 2 * h.target().ioTimeout().toMillis() + " ms");
        }
        return new Forging(crumfurs, a, b, toA, mapped);
    }

    private static void sendForged(Harness h, RawDatagrams raw, InetSocketAddress source, InetSocketAddress to,
            byte[] p) throws java.io.IOException {
        raw.send(source, to, p);
        h.log().note("raw datagram from " + source + " → " + to + ": " + p.length + " B " + WireLog.hex(p));
    }

    /** The UMFURS received until B's {@code marker} (excluded); {@link MarkerMissing} when it never came. */
    private static List<CrumfursChannel.Umfurs> umfursUntil(Harness h, Forging f, byte[] marker) throws Exception {
        List<CrumfursChannel.Umfurs> got = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + 2 * h.target().ioTimeout().toNanos();
        while (System.nanoTime() < deadline) {
            CrumfursChannel.Umfurs u = f.crumfurs().receive(RESEND_EVERY);
            if (u == null) {
                continue;
            }
            if (Arrays.equals(u.payload(), marker) && u.source().equals(f.b().address())) {
                return got;
            }
            got.add(u);
        }
        throw new MarkerMissing("nothing from B within " + 2 * h.target().ioTimeout().toMillis() + " ms");
    }

    /** B's datagram sent after forged ones never arrived. */
    private static final class MarkerMissing extends Exception {
        MarkerMissing(String message) {
            super(message);
        }
    }

    @Test
    @Tag("DLV-5")
    @DisplayName("DLV-5 · 5000 datagrams to a command-2 connection the client does not read for 2 s: the server keeps serving")
    void floodOnUnreadConnection(Harness h) throws Exception {
        UdpPeer a = h.udpPeer(0);
        UdpConnection c = h.udp(a.address());
        InetSocketAddress mapped = mappedAddress(h, c, a);
        long start = flood(h, a, mapped);
        // While the client reads nothing, the other direction must still work.
        byte[] out = ascii("from the client while its connection is backed up");
        c.send(out);
        expectDatagram(h, a, out, DLV_5 + " (the connection kept working towards the target)");
        sleepUntil(start + UNREAD.toNanos());

        h.log().quiet(true);
        int frames = 0;
        byte[] marker = null;
        long deadline = System.nanoTime() + 3 * h.target().ioTimeout().toNanos();
        long nextSend = 0;
        int sent = 0;
        try {
            while (System.nanoTime() < deadline) {
                if (System.nanoTime() >= nextSend) {
                    a.send(mapped, ascii("fresh " + sent++));
                    nextSend = System.nanoTime() + RESEND_EVERY.toNanos();
                }
                byte[] f = c.receive(Duration.ofMillis(50));
                if (f == null) {
                    continue;
                }
                if (text(f).startsWith("fresh ")) {
                    marker = f;
                    break;
                }
                frames++;
            }
        } finally {
            h.log().quiet(false);
        }
        h.log().note("read " + frames + " frames of the flood, then " + (marker == null ? "no fresh datagram"
                : "the fresh datagram '" + text(marker) + "'"));
        if (marker == null) {
            throw Expect.violation(DLV_5, "once the client reads again, a datagram sent now is delivered",
                    frames + " frames of the flood read, but no fresh datagram within "
                            + 3 * h.target().ioTimeout().toMillis() + " ms");
        }
    }

    @Test
    @Tag("DLV-5")
    @DisplayName("DLV-5 · 5000 datagrams to a CRUMFURS the client does not read for 2 s: the server keeps serving")
    void floodOnUnreadCrumfurs(Harness h) throws Exception {
        Assumptions.assumeTrue(h.target().profile() == Profile.V1, "CRUMFURS exists in v1 only");
        CrumfursChannel crumfurs = h.crumfurs();
        UdpPeer a = h.udpPeer(0);
        UdpConnection toA = h.udp(a.address());
        InetSocketAddress mapped = mappedAddress(h, toA, a);
        UdpPeer b = h.udpPeer(1);
        long start = flood(h, b, mapped);
        // CRUMFURS is backed up, but the socket must still be read: A's datagram reaches A's connection. A repeats
        // it, since the flood may still fill the socket's receive buffer, where the kernel drops what does not fit.
        byte[] fromA = sendUntilFrame(h, a, mapped, "from A while CRUMFURS is backed up", toA);
        if (fromA == null) {
            throw Expect.violation(DLV_5, "A's datagrams, sent to the same socket while CRUMFURS is backed up, on"
                    + " the connection to A", "none within " + 2 * h.target().ioTimeout().toMillis() + " ms");
        }
        sleepUntil(start + UNREAD.toNanos());

        h.log().quiet(true);
        int messages = 0;
        CrumfursChannel.Umfurs marker = null;
        long deadline = System.nanoTime() + 3 * h.target().ioTimeout().toNanos();
        long nextSend = 0;
        int sent = 0;
        try {
            while (System.nanoTime() < deadline) {
                if (System.nanoTime() >= nextSend) {
                    b.send(mapped, ascii("fresh " + sent++));
                    nextSend = System.nanoTime() + RESEND_EVERY.toNanos();
                }
                CrumfursChannel.Umfurs u = crumfurs.receive(Duration.ofMillis(50));
                if (u == null) {
                    continue;
                }
                if (text(u.payload()).startsWith("fresh ")) {
                    marker = u;
                    break;
                }
                messages++;
            }
        } finally {
            h.log().quiet(false);
        }
        h.log().note("read " + messages + " UMFURS of the flood, then " + (marker == null ? "no fresh datagram"
                : "the fresh datagram '" + text(marker.payload()) + "'"));
        if (marker == null) {
            throw Expect.violation(DLV_5, "once the client reads CRUMFURS again, a datagram sent now is delivered",
                    messages + " UMFURS of the flood read, but no fresh datagram within "
                            + 3 * h.target().ioTimeout().toMillis() + " ms");
        }
    }

    /** {@code from} sends the flood to {@code to}, quietly; returns when it started. */
    private static long flood(Harness h, UdpPeer from, InetSocketAddress to) throws Exception {
        byte[] p = UdpFrameCases.payload(FLOOD_SIZE, 5);
        long start = System.nanoTime();
        h.log().quiet(true);
        try {
            for (int i = 0; i < FLOOD_DATAGRAMS; i++) {
                from.send(to, p);
            }
        } finally {
            h.log().quiet(false);
        }
        h.log().note(from.address() + " sent " + FLOOD_DATAGRAMS + " datagrams of " + FLOOD_SIZE + " B to " + to
                + " in " + (System.nanoTime() - start) / 1_000_000 + " ms; the client reads nothing for "
                + UNREAD.toMillis() + " ms");
        return start;
    }

    /**
     * {@code from} sends "{@code prefix} #n" to {@code to} every 200 ms until a frame arrives on {@code c}: a change
     * of connections takes effect at the server a little after the client closed one.
     */
    private static byte[] sendUntilFrame(Harness h, UdpPeer from, InetSocketAddress to, String prefix,
            UdpConnection c) throws Exception {
        long deadline = System.nanoTime() + 2 * h.target().ioTimeout().toNanos();
        for (int i = 0; System.nanoTime() < deadline; i++) {
            from.send(to, ascii(prefix + " #" + i));
            byte[] f = c.receive(RESEND_EVERY);
            if (f != null) {
                return f;
            }
        }
        return null;
    }

    /** Like {@link #sendUntilFrame}, until a UMFURS arrives on {@code c}. */
    private static CrumfursChannel.Umfurs sendUntilUmfurs(Harness h, UdpPeer from, InetSocketAddress to,
            String prefix, CrumfursChannel c) throws Exception {
        long deadline = System.nanoTime() + 2 * h.target().ioTimeout().toNanos();
        for (int i = 0; System.nanoTime() < deadline; i++) {
            from.send(to, ascii(prefix + " #" + i));
            CrumfursChannel.Umfurs u = c.receive(RESEND_EVERY);
            if (u != null) {
                return u;
            }
        }
        return null;
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left = nanoTime - System.nanoTime();
        if (left > 0) {
            Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
        }
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }
}
