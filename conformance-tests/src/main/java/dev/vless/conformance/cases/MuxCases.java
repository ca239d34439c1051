// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import static dev.vless.conformance.cases.NatClassificationCases.addr;
import static dev.vless.conformance.cases.NatClassificationCases.bytes;
import static dev.vless.conformance.cases.NatClassificationCases.distinctPeers;
import static dev.vless.conformance.cases.NatClassificationCases.settle;
import static dev.vless.conformance.cases.NatClassificationCases.text;

import dev.vless.codec.VlessAddress;
import dev.vless.conformance.Capability;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.CrumfursChannel;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.MuxConnection;
import dev.vless.conformance.Outcome;
import dev.vless.conformance.RawDatagrams;
import dev.vless.conformance.Requires;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.conformance.cases.NatClassificationCases.FilteringClass;
import dev.vless.conformance.cases.NatClassificationCases.MappingClass;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * §23 Multiplexed UDP (command 5). Every case first asks whether the target offers the mode (once per run, see
 * {@code MuxSupport}): without the answer 0x15 the case is NOT_APPLICABLE with that reason, or, under
 * {@code --mux required}, BLOCKED by MUX-3, whose own case FAILs with what the target sent.
 *
 * <p>On a target on loopback the cases work in a NAT context no other group uses (the main user from one fresh client
 * IP per run): a MUX connection takes the datagrams of unknown remotes from its context's CRUMFURS (MUX-18), so a MUX
 * left in the main context, even for the moment its close takes to reach the server, could move another case's
 * UMFURS. One context for the group, not one per case: a server may cap a user's contexts (LIM-1).
 */
@ConformanceCases
@Tag("mux")
class MuxCases {

    static final String MUX_3 = "MUX-3: a server that supports command 5 answers a valid request, once the connection"
            + " belongs to its NAT context, with exactly one byte 0x15, and from then on sends nothing but frames";
    static final String MUX_7 = "MUX-7: on a MUX connection every datagram, both ways, is one frame atyp addr port(2)"
            + " len(2) payload";
    static final String MUX_8 = "MUX-8: a server's frame names the datagram's true source as its socket received it,"
            + " IPv4 (and IPv4-mapped) as address type 1, never a name";
    static final String MUX_9 = "MUX-9: a frame of length 0 is a valid empty datagram, and lengths of 32768 and above"
            + " are valid (the length is unsigned)";
    static final String MUX_10 = "MUX-10: a client's frame to port 0 is discarded: not sent, and the connection goes"
            + " on";
    static final String MUX_11 = "MUX-11: a frame error (unknown address type, empty domain, a domain byte outside"
            + " 0x21..0x7e) closes the connection at once; the server sends no byte after it";
    static final String MUX_12 = "MUX-12: when the client ends the stream the server closes the MUX connection; a"
            + " partial frame at the end is discarded";
    static final String MUX_13 = "MUX-13: a frame to X is sent from the socket the mapping rules choose for X, exactly"
            + " as for a command-2 connection to X (one remote sees one external address)";
    static final String MUX_14 = "MUX-14: a frame whose destination the server refuses is dropped; the connection"
            + " stays open";
    static final String MUX_15 = "MUX-15: a domain destination is resolved (names case-insensitive, trailing dot"
            + " ignored) to its first IPv4 address, used for the name's frames";
    static final String MUX_16 = "MUX-16: frames to a name being resolved wait, in order";
    static final String MUX_17 = "MUX-17: a datagram from X that no command-2 connection takes goes to the open MUX"
            + " connection that most recently sent a datagram to X";
    static final String MUX_18 = "MUX-18: failing that, to the newest open MUX connection (whose 0x15 went out last);"
            + " to CRUMFURS only when the context has no open MUX connection";
    static final String MUX_19 = "MUX-19: a MUX connection receives no datagram that DLV-6 drops (source port 0, a"
            + " non-unicast source)";
    static final String DLV_1 = "DLV-1: a datagram from X goes to the context's open command-2 connection whose"
            + " target is X";
    static final String DLV_2 = "DLV-2: with no command-2 connection to its source and no open MUX connection, a"
            + " datagram goes to the context's live CRUMFURS";
    static final String NAT_4 = "NAT-4: mapping rule 3: a new destination SHOULD be sent to from the context's"
            + " existing socket (endpoint-independent mapping)";

    /** How often a peer repeats its datagram while a change (a connection closing) takes effect at the server. */
    private static final Duration RESEND_EVERY = Duration.ofMillis(200);
    /** The largest UDP payload over IPv4. */
    private static final int MAX_IPV4 = RawDatagrams.MAX_PAYLOAD;

    // ---- the answer ----

    @Test
    @Tag("MUX-3")
    @Tag("MUX-1")
    @DisplayName("MUX-3 · MUX-1 · the 18-byte request gets 0x15 alone, a datagram sent the moment it arrived comes as a"
            + " frame, and nothing but frames follow")
    void answerAloneThenFrames(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer a = h.udpPeer(0);
        UdpPeer p = h.udpPeer(1);
        // The context's external address, through command 2: the MUX connection joins a context that exists.
        byte[] toA = bytes("MUX-3: command 2 to A, for the context's address");
        ctx.udp(h, a.address(), toA);
        InetSocketAddress m = arrived(h, a, toA, "the command-2 datagram to A");
        MuxConnection mux = ctx.mux(h);
        // Sent the moment 0x15 was read: the server wrote it once the connection was a member of the context.
        byte[] first = bytes("MUX-3: P to M right after 0x15");
        p.send(m, first);
        MuxConnection.Frame f;
        try {
            f = nextFrame(mux, first, h.target().ioTimeout(), new ArrayList<>());
        } catch (AssertionError notAFrame) {
            // Bytes after 0x15 that are no frame (a second answer byte, say): this rule's subject.
            throw Expect.violation(MUX_3, "after 0x15 nothing but frames", String.valueOf(notAFrame.getMessage()));
        }
        if (f == null) {
            byte[] later = bytes("MUX-3: P to M a moment later");
            p.send(m, later);
            if (nextFrame(mux, later, h.target().ioTimeout(), new ArrayList<>()) == null) {
                throw Expect.blocked("MUX-18", "a datagram from a remote the context never sent to reaches its only"
                        + " MUX connection", "neither P's first datagram nor a later one arrived within "
                        + h.target().ioTimeout().toMillis() + " ms each");
            }
            throw Expect.violation(MUX_3, "P's datagram, sent to M " + addr(m) + " once 0x15 was read, as a frame"
                    + " on the MUX connection", "it never came, while one sent a moment later did: 0x15 went out"
                    + " before the connection joined its context");
        }
        // Nothing unasked for: no datagram is sent to the context now, so any byte is no frame of a datagram.
        Outcome quiet = mux.await(settle(h));
        if (quiet.kind() != Outcome.Kind.STILL_OPEN) {
            throw Expect.violation(MUX_3, "nothing but frames of datagrams (none is sent to the context now)",
                    quiet.toString());
        }
    }

    // ---- frames ----

    @Test
    @Tag("MUX-7")
    @Tag("MUX-8")
    @DisplayName("MUX-7 · MUX-8 · frames both ways: two in one write, one split byte by byte and one to an"
            + " IPv4-mapped address reach their remotes; replies are labelled with their true sources, as IPv4")
    void framesBothWays(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer e1 = h.udpPeer(0).echo();
        UdpPeer e2 = h.udpPeer(1).echo();
        MuxConnection mux = ctx.mux(h);
        byte[] a = bytes("MUX-7: to E1, first of two in one write");
        byte[] b = bytes("MUX-7: to E2, second of two in one write");
        byte[] c = bytes("MUX-7: to E1, split byte by byte");
        byte[] d = bytes("MUX-7: to E1 through its IPv4-mapped address, address type 3");
        mux.write(VlessConnectionBytes.concat(MuxConnection.frame(e1.address(), a), MuxConnection.frame(e2.address(),
                b)));
        arrivedExactly(h, e1, a, MUX_7);
        arrivedExactly(h, e2, b, MUX_7);
        byte[] split = MuxConnection.frame(e1.address(), c);
        h.log().note("the next frame goes one byte per write");
        for (byte x : split) {
            mux.write(new byte[] {x});
        }
        arrivedExactly(h, e1, c, MUX_7);
        InetAddress ip = e1.address().getAddress();
        if (ip instanceof Inet4Address) {
            mux.write(mappedFrame(e1.address(), d));
            arrivedExactly(h, e1, d, MUX_7 + " (an IPv4-mapped destination is the IPv4 address, ADR-4)");
        }
        Map<String, InetSocketAddress> expected = new LinkedHashMap<>();
        expected.put(text(a), e1.address());
        expected.put(text(b), e2.address());
        expected.put(text(c), e1.address());
        if (ip instanceof Inet4Address) {
            expected.put(text(d), e1.address());
        }
        for (int i = 0; i < expected.size(); i++) {
            MuxConnection.Frame f = frameOrFail(h, mux, MUX_7 + " (the echoes come back as frames)");
            InetSocketAddress from = expected.get(f.text());
            if (from == null) {
                throw Expect.violation(MUX_7, "the echoes " + expected.keySet(), "a frame carrying "
                        + WireLog.hex(f.payload()));
            }
            checkSource(f, from);
        }
    }

    @Test
    @Tag("MUX-9")
    @DisplayName("MUX-9 · an empty datagram and ones of 40 000 and 65 507 bytes cross whole both ways (the length is"
            + " unsigned)")
    void emptyAndLargeDatagrams(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer e = h.udpPeer(0).echo();
        MuxConnection mux = ctx.mux(h);
        for (int size : new int[] {0, 40_000, MAX_IPV4}) {
            if (size == MAX_IPV4 && !(e.address().getAddress() instanceof Inet4Address)) {
                continue;
            }
            byte[] payload = pattern(size);
            mux.send(e.address(), payload);
            UdpPeer.Datagram got = h.awaitDatagram(e, h.target().ioTimeout());
            if (got == null || !Arrays.equals(got.payload(), payload)) {
                throw Expect.violation(MUX_9, "a datagram of " + size + " B at " + addr(e.address()),
                        got == null ? "nothing within " + h.target().ioTimeout().toMillis() + " ms"
                                + endedNote(h) : "a datagram of " + got.payload().length + " B");
            }
            MuxConnection.Frame f = frameOrFail(h, mux, MUX_9 + " (the echo of " + size + " B)");
            if (!Arrays.equals(f.payload(), payload)) {
                throw Expect.violation(MUX_9, "the echo as a frame of " + size + " B", "a frame of "
                        + f.payload().length + " B");
            }
            checkSource(f, e.address());
        }
    }

    @Test
    @Tag("MUX-9")
    @DisplayName("MUX-9 · a 65 535-byte frame to IPv4 (too big to send) is dropped, and the frame after it still goes:"
            + " the stream stays in sync")
    void oversizeFrameDropped(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer e = h.udpPeer(0).echo();
        if (!(e.address().getAddress() instanceof Inet4Address)) {
            throw Expect.notRun("the peers are on IPv6, where 65 535 bytes minus headers can be sent");
        }
        MuxConnection mux = ctx.mux(h);
        byte[] after = bytes("MUX-9: the frame after 65 535 bytes");
        mux.write(VlessConnectionBytes.concat(MuxConnection.frame(e.address(), pattern(65_535)),
                MuxConnection.frame(e.address(), after)));
        UdpPeer.Datagram got = h.awaitDatagram(e, h.target().ioTimeout());
        if (got != null && got.payload().length > MAX_IPV4) {
            throw Expect.violation(MUX_9, "no datagram of 65 535 B (IPv4 cannot carry it)", "one arrived");
        }
        if (got != null && got.payload().length != after.length) {
            got = h.awaitDatagram(e, h.target().ioTimeout());
        }
        if (got == null || !Arrays.equals(got.payload(), after)) {
            throw Expect.violation(MUX_9 + " (a frame the socket cannot send is dropped, as UDP-5)", "the next"
                    + " frame's datagram " + text(after) + " at " + addr(e.address()), got == null ? "nothing within "
                    + h.target().ioTimeout().toMillis() + " ms" + endedNote(h) : "a datagram of "
                    + got.payload().length + " B");
        }
        MuxConnection.Frame f = frameOrFail(h, mux, MUX_9 + " (the echo of the frame after it)");
        if (!Arrays.equals(f.payload(), after)) {
            throw Expect.violation(MUX_9, "the echo of " + text(after), "a frame of " + f.payload().length + " B");
        }
    }

    @Test
    @Tag("MUX-10")
    @DisplayName("MUX-10 · a frame to port 0 is a no-op: the connection stays open and the next frame goes")
    void portZeroIsNoop(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer e = h.udpPeer(0).echo();
        MuxConnection mux = ctx.mux(h);
        byte[] after = bytes("MUX-10: after three frames to port 0");
        InetSocketAddress zero = new InetSocketAddress(e.address().getAddress(), 0);
        mux.write(VlessConnectionBytes.concat(MuxConnection.frame(zero, bytes("MUX-10: padding to port 0")),
                MuxConnection.frame(zero, new byte[0]), MuxConnection.frameToName("localhost", 0, bytes("MUX-10:"
                        + " keepalive to localhost:0")), MuxConnection.frame(e.address(), after)));
        UdpPeer.Datagram got = h.awaitDatagram(e, h.target().ioTimeout());
        if (got == null || !Arrays.equals(got.payload(), after)) {
            throw Expect.violation(MUX_10, "the frame after those to port 0 reaches " + addr(e.address()),
                    got == null ? "nothing within " + h.target().ioTimeout().toMillis() + " ms" + endedNote(h)
                            : "a datagram " + WireLog.hex(got.payload()));
        }
        MuxConnection.Frame f = frameOrFail(h, mux, MUX_10 + " (the echo of the frame after them)");
        if (!Arrays.equals(f.payload(), after)) {
            throw Expect.violation(MUX_10, "the echo " + text(after) + " only", "a frame " + WireLog.hex(f.payload()));
        }
    }

    @Test
    @Tag("MUX-11")
    @DisplayName("MUX-11 · a frame error (address type 00, 04 or ff, an empty domain, a domain byte 0x20 or 0x7f)"
            + " closes at once, without a byte; nothing after it is sent")
    void frameErrorsClose(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer sink = h.udpPeer(0);
        int port = sink.address().getPort();
        Map<String, byte[]> bad = new LinkedHashMap<>();
        for (int atyp : new int[] {0x00, 0x04, 0xff}) {
            bad.put(String.format("address type 0x%02x", atyp), new byte[] {(byte) atyp, 127, 0, 0, 1,
                    (byte) (port >>> 8), (byte) port, 0, 1, 'x'});
        }
        bad.put("an empty domain", MuxConnection.frameToName("", port, bytes("x")));
        bad.put("a domain with a space (0x20)", MuxConnection.frameToName("local host", port, bytes("x")));
        bad.put("a domain with 0x7f", MuxConnection.frameToName("localhost\u007f", port, bytes("x")));
        Duration atOnce = h.target().ioTimeout();
        List<String> faults = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            MuxConnection mux = ctx.mux(h);
            byte[] before = bytes("MUX-11: before " + e.getKey());
            byte[] behind = bytes("MUX-11: after " + e.getKey() + ": must not be sent");
            mux.write(VlessConnectionBytes.concat(MuxConnection.frame(sink.address(), before), e.getValue(),
                    MuxConnection.frame(sink.address(), behind)));
            UdpPeer.Datagram got = h.awaitDatagram(sink, h.target().ioTimeout());
            if (got == null || !Arrays.equals(got.payload(), before)) {
                throw Expect.blocked("MUX-7", "the valid frame in front of " + e.getKey() + " is sent", got == null
                        ? "nothing reached " + addr(sink.address()) : "a datagram " + WireLog.hex(got.payload()));
            }
            Outcome o = mux.await(atOnce);
            UdpPeer.Datagram leaked = sink.receive(Duration.ZERO);
            if (o.kind() == Outcome.Kind.DATA) {
                faults.add(e.getKey() + ": " + o);
            } else if (o.kind() == Outcome.Kind.STILL_OPEN) {
                faults.add(e.getKey() + ": not closed: " + o);
            } else if (leaked != null) {
                faults.add(e.getKey() + ": closed (" + o + "), but the frame after it was sent: "
                        + WireLog.hex(leaked.payload()));
            } else {
                h.log().note(e.getKey() + ": " + o);
            }
            // Closed on this side too, so that the next kind's wait at the sink does not end at this close.
            mux.close();
        }
        if (!faults.isEmpty()) {
            throw Expect.violation(MUX_11, "for each kind, no byte and a close within " + atOnce.toMillis() + " ms",
                    String.join("; ", faults));
        }
    }

    @Test
    @Tag("MUX-12")
    @Requires(Capability.PLAINTEXT_HALF_CLOSE)
    @DisplayName("MUX-12 · the client's end of stream closes the MUX connection; a partial frame before it is not sent")
    void endOfStreamCloses(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer sink = h.udpPeer(0);
        MuxConnection mux = ctx.mux(h);
        byte[] whole = bytes("MUX-12: the last whole frame");
        byte[] partial = MuxConnection.frame(sink.address(), bytes("MUX-12: cut short"));
        mux.write(VlessConnectionBytes.concat(MuxConnection.frame(sink.address(), whole),
                Arrays.copyOf(partial, partial.length - 4)));
        arrivedExactly(h, sink, whole, "MUX-7: the whole frame in front of the partial one is sent");
        mux.shutdownOutput();
        Outcome o = mux.await(h.target().ioTimeout());
        if (o.kind() != Outcome.Kind.CLOSED && o.kind() != Outcome.Kind.RESET) {
            throw Expect.violation(MUX_12, "the server closes within " + h.target().ioTimeout().toMillis()
                    + " ms of the client's FIN, without a byte", o.toString());
        }
        UdpPeer.Datagram cut = sink.receive(settle(h));
        if (cut != null) {
            throw Expect.violation(MUX_12, "the partial frame is discarded", "a datagram of " + cut.payload().length
                    + " B was sent: " + WireLog.hex(cut.payload()));
        }
    }

    // ---- mapping ----

    @Test
    @Tag("MUX-13")
    @DisplayName("MUX-13 · one remote sees one external address through MUX and command 2, whichever came first")
    void sameMappingAsCommand2(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer a = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer b = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() - 1), 0));
        MuxConnection mux = ctx.mux(h);
        byte[] muxToA = bytes("MUX-13: MUX to A first");
        mux.send(a.address(), muxToA);
        InetSocketAddress viaMux = arrived(h, a, muxToA, "the MUX frame to A");
        byte[] c2ToA = bytes("MUX-13: then command 2 to A");
        ctx.udp(h, a.address(), c2ToA);
        InetSocketAddress viaC2 = arrived(h, a, c2ToA, "the command-2 datagram to A");
        if (!viaC2.equals(viaMux)) {
            throw Expect.violation(MUX_13, "A sees the command-2 datagram from " + addr(viaMux) + ", where the MUX"
                    + " frame came from (NAT-2: the context dialed A)", "A saw it from " + addr(viaC2));
        }
        byte[] c2ToB = bytes("MUX-13: command 2 to B first");
        ctx.udp(h, b.address(), c2ToB);
        InetSocketAddress bViaC2 = arrived(h, b, c2ToB, "the command-2 datagram to B");
        byte[] muxToB = bytes("MUX-13: then MUX to B");
        mux.send(b.address(), muxToB);
        InetSocketAddress bViaMux = arrived(h, b, muxToB, "the MUX frame to B");
        if (!bViaMux.equals(bViaC2)) {
            throw Expect.violation(MUX_13, "B sees the MUX frame from " + addr(bViaC2) + ", where the command-2"
                    + " datagram came from (NAT-2: the context dialed B)", "B saw it from " + addr(bViaMux));
        }
        // A second MUX connection of the context is the same context: A sees the same address again.
        MuxConnection other = ctx.mux(h);
        byte[] again = bytes("MUX-13: a second MUX connection to A");
        other.send(a.address(), again);
        InetSocketAddress viaOther = arrived(h, a, again, "the second MUX connection's frame to A");
        if (!viaOther.equals(viaMux)) {
            throw Expect.violation(MUX_13, "A sees the second MUX connection's frame from " + addr(viaMux),
                    "A saw it from " + addr(viaOther));
        }
        h.fact("mux.mapping", viaMux.equals(bViaC2) ? "one external address for A and B (endpoint-independent)"
                : "A " + addr(viaMux) + ", B " + addr(bViaC2) + " (per-destination)");
    }

    @Test
    @Tag("MUX-14")
    @DisplayName("MUX-14 · a frame to a destination the target refuses is dropped, and the connection goes on")
    void refusedDestinationKeepsConnection(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer e = h.udpPeer(0).echo();
        InetSocketAddress refused = refusedDestination(h, ctx, e.address().getPort());
        MuxConnection mux = ctx.mux(h);
        byte[] after = bytes("MUX-14: after a frame to the refused " + addr(refused));
        mux.write(VlessConnectionBytes.concat(MuxConnection.frame(refused, bytes("MUX-14: to a refused"
                + " destination")), MuxConnection.frame(e.address(), after)));
        UdpPeer.Datagram got = h.awaitDatagram(e, h.target().ioTimeout());
        if (got == null || !Arrays.equals(got.payload(), after)) {
            throw Expect.violation(MUX_14, "the frame after the refused one reaches " + addr(e.address()), got == null
                    ? "nothing within " + h.target().ioTimeout().toMillis() + " ms" + endedNote(h) : "a datagram "
                    + WireLog.hex(got.payload()));
        }
        MuxConnection.Frame f;
        try {
            f = mux.receive();
        } catch (EOFException | SocketException ended) {
            throw Expect.violation(MUX_14, "the connection stays open", "it ended: " + ended.getMessage());
        }
        if (f == null || !Arrays.equals(f.payload(), after)) {
            throw Expect.violation(MUX_14, "the echo " + text(after) + " on the connection", f == null
                    ? "nothing within " + h.target().ioTimeout().toMillis() + " ms" : "a frame "
                    + WireLog.hex(f.payload()));
        }
    }

    /**
     * A destination the target refuses, found the way a client would meet it: a command-2 request to it is closed
     * without a byte (DST-2). Only addresses whose datagrams could not leave this machine are tried (the unspecified
     * address reaches this host; broadcast needs a socket option), so a target that allows them sends nothing out.
     */
    private static InetSocketAddress refusedDestination(Harness h, Ctx ctx, int port) throws Exception {
        List<String> seen = new ArrayList<>();
        for (String ip : List.of("0.0.0.0", "255.255.255.255")) {
            InetSocketAddress candidate = new InetSocketAddress(InetAddress.getByName(ip), port);
            UdpConnection c = ctx.udp(h, candidate, bytes("MUX-14: is " + ip + " refused?"));
            Outcome o = c.await(h.target().closeAllowance());
            c.close();
            if (o.kind() == Outcome.Kind.CLOSED || o.kind() == Outcome.Kind.RESET) {
                h.log().note("a command-2 request to " + addr(candidate) + " was " + o + ": refused");
                return candidate;
            }
            seen.add(ip + ": " + o);
        }
        throw Expect.notObservable("the target refuses none of the destinations the suite may name without sending"
                + " datagrams off this machine (command 2 to each: " + String.join("; ", seen) + "), so a refused"
                + " destination cannot be tried over MUX");
    }

    @Test
    @Tag("MUX-15")
    @Tag("MUX-16")
    @Requires(Capability.LOOPBACK_TARGET)
    @DisplayName("MUX-15 · MUX-16 · frames to localhost, LOCALHOST. and Localhost go in order to 127.0.0.1 from one"
            + " socket; a frame to another remote between them is not held up; replies are labelled 127.0.0.1")
    void domainDestinations(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer e = h.udpPeer(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0)).echo();
        UdpPeer other = h.udpPeer(1);
        int port = e.address().getPort();
        MuxConnection mux = ctx.mux(h);
        List<String> names = List.of("localhost", "LOCALHOST.", "Localhost", "localhost.");
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            byte[] p = bytes("MUX-15: frame " + (i + 1) + " to " + names.get(i));
            sent.add(p);
            all.writeBytes(MuxConnection.frameToName(names.get(i), port, p));
            if (i == 1) {
                all.writeBytes(MuxConnection.frame(other.address(), bytes("MUX-16: to another remote, between")));
            }
        }
        mux.write(all.toByteArray());
        arrivedExactly(h, other, bytes("MUX-16: to another remote, between"), MUX_16 + " (frames to other"
                + " destinations never wait for a name)");
        Set<InetSocketAddress> sources = new LinkedHashSet<>();
        for (byte[] p : sent) {
            UdpPeer.Datagram d = h.awaitDatagram(e, h.target().ioTimeout());
            if (d == null) {
                throw Expect.violation(MUX_15, "every frame to the name reaches " + addr(e.address())
                        + " (localhost's first IPv4 address)", text(p) + " did not arrive within "
                        + h.target().ioTimeout().toMillis() + " ms" + endedNote(h));
            }
            if (!Arrays.equals(d.payload(), p)) {
                throw Expect.violation(MUX_16, "the frames to the name in the order sent; next: " + text(p),
                        "next came " + WireLog.hex(d.payload()));
            }
            sources.add(d.source());
        }
        if (sources.size() != 1) {
            throw Expect.violation(MUX_15 + " (one name, one address, one socket)", "one source for all",
                    "sources " + sources.stream().map(NatClassificationCases::addr).toList());
        }
        for (int i = 0; i < sent.size(); i++) {
            MuxConnection.Frame f = frameOrFail(h, mux, MUX_8 + " (the replies to the frames sent to a name)");
            checkSource(f, e.address());
        }
        h.log().note("not observable here: that the name is looked up once, that a failed lookup holds 30 s, and that"
                + " other destinations never wait while a lookup takes time (localhost answers at once)");
    }

    // ---- delivery ----

    @Test
    @Tag("MUX-18")
    @Tag("MUX-8")
    @DisplayName("MUX-18 · MUX-8 · a remote the context never sent to reaches the MUX connection, labelled with its"
            + " true source (endpoint-independent filtering)")
    void unknownRemoteReachesMux(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer a = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer p = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() - 1), 0));
        MuxConnection mux = ctx.mux(h);
        byte[] toA = bytes("MUX-18: to A");
        mux.send(a.address(), toA);
        InetSocketAddress m = arrived(h, a, toA, "the MUX frame to A");
        byte[] fromP = bytes("MUX-18: P, never sent to, to M");
        p.send(m, fromP);
        MuxConnection.Frame f = nextFrame(mux, fromP, h.target().ioTimeout(), new ArrayList<>());
        if (f == null) {
            throw Expect.violation(MUX_18, "P's datagram to M " + addr(m) + " as a frame on the context's only MUX"
                    + " connection", "nothing within " + h.target().ioTimeout().toMillis() + " ms");
        }
        checkSource(f, p.address());
    }

    @Test
    @Tag("DLV-1")
    @Tag("MUX-17")
    @DisplayName("DLV-1 · MUX-17 · X's datagrams go to the open command-2 connection to X, not to the MUX connection"
            + " that sent to X; to the MUX connection once it closed")
    void command2TakesItsRemote(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer x = h.udpPeer(0);
        MuxConnection mux = ctx.mux(h);
        byte[] muxToX = bytes("DLV-1: MUX to X");
        mux.send(x.address(), muxToX);
        InetSocketAddress m = arrived(h, x, muxToX, "the MUX frame to X");
        byte[] c2ToX = bytes("DLV-1: command 2 to X");
        UdpConnection c2 = ctx.udp(h, x.address(), c2ToX);
        arrived(h, x, c2ToX, "the command-2 datagram to X");
        byte[] toC2 = bytes("DLV-1: X to M, for the command-2 connection");
        x.send(m, toC2);
        byte[] got = c2.receive();
        if (got == null || !Arrays.equals(got, toC2)) {
            MuxConnection.Frame stray = mux.receive(settle(h));
            throw Expect.violation(DLV_1, "X's datagram on the command-2 connection to X", (got == null ? "nothing"
                    : "a frame " + WireLog.hex(got)) + (stray != null ? "; the MUX connection got "
                    + WireLog.hex(stray.payload()) : ""));
        }
        MuxConnection.Frame stray = mux.receive(settle(h));
        if (stray != null) {
            throw Expect.violation(DLV_1, "X's datagram on the command-2 connection only", "the MUX connection got"
                    + " a frame too: " + WireLog.hex(stray.payload()));
        }
        c2.close();
        MuxConnection.Frame f = sendUntilFrame(h, x, m, "MUX-17: X after the command-2 connection closed", mux);
        if (f == null) {
            throw Expect.violation(MUX_17, "once the command-2 connection closed, X's datagrams on the MUX connection"
                    + " that sent to X", "nothing within " + 2 * h.target().ioTimeout().toMillis() + " ms");
        }
        checkSource(f, x.address());
    }

    @Test
    @Tag("MUX-17")
    @DisplayName("MUX-17 · of two MUX connections, the one that last sent to X gets X's datagrams, not the newer")
    void lastSenderGetsReplies(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer x = h.udpPeer(0);
        MuxConnection older = ctx.mux(h);
        MuxConnection newer = ctx.mux(h);
        byte[] first = bytes("MUX-17: the older MUX to X");
        older.send(x.address(), first);
        InetSocketAddress m = arrived(h, x, first, "the older MUX connection's frame to X");
        expectOn(h, x, m, "MUX-17: X answers the older MUX", older, "the older MUX connection, the last to send"
                + " to X", newer, "the newer");
        byte[] second = bytes("MUX-17: the newer MUX to X");
        newer.send(x.address(), second);
        arrived(h, x, second, "the newer MUX connection's frame to X");
        expectOn(h, x, m, "MUX-17: X answers the newer MUX", newer, "the newer MUX connection, now the last to"
                + " send to X", older, "the older");
        byte[] third = bytes("MUX-17: the older MUX to X again");
        older.send(x.address(), third);
        arrived(h, x, third, "the older MUX connection's second frame to X");
        expectOn(h, x, m, "MUX-17: X answers the older MUX again", older, "the older MUX connection, the last"
                + " to send to X again", newer, "the newer");
    }

    @Test
    @Tag("MUX-18")
    @DisplayName("MUX-18 · a remote nobody sent to reaches the newest MUX connection; a newer one takes over")
    void newestMuxGetsUnknown(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer a = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer p = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() - 1), 0));
        MuxConnection first = ctx.mux(h);
        byte[] toA = bytes("MUX-18: the first MUX to A");
        first.send(a.address(), toA);
        InetSocketAddress m = arrived(h, a, toA, "the first MUX connection's frame to A");
        MuxConnection second = ctx.mux(h);
        expectOn(h, p, m, "MUX-18: P to M with two MUX connections open", second, "the newest MUX connection",
                first, "the older");
        MuxConnection third = ctx.mux(h);
        expectOn(h, p, m, "MUX-18: P to M with three MUX connections open", third, "the newest MUX connection",
                second, "the one before it");
    }

    @Test
    @Tag("MUX-18")
    @Tag("DLV-2")
    @DisplayName("MUX-18 · DLV-2 · CRUMFURS gets no datagram while a MUX connection is open, and gets them again once"
            + " every MUX connection closed")
    void crumfursOnlyWithoutMux(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        CrumfursChannel crf = ctx.crumfurs(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer a = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer p = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() - 1), 0));
        MuxConnection mux = ctx.mux(h);
        byte[] toA = bytes("MUX-18: MUX to A");
        mux.send(a.address(), toA);
        InetSocketAddress m = arrived(h, a, toA, "the MUX frame to A");
        byte[] whileOpen = bytes("MUX-18: P to M while a MUX connection is open");
        p.send(m, whileOpen);
        MuxConnection.Frame f = nextFrame(mux, whileOpen, h.target().ioTimeout(), new ArrayList<>());
        CrumfursChannel.Umfurs u = crf.receive(f == null ? Duration.ZERO.plusMillis(1) : settle(h));
        if (u != null) {
            throw Expect.violation(MUX_18, "no UMFURS while the context has an open MUX connection",
                    "a UMFURS from " + addr(u.source()) + ": " + WireLog.hex(u.payload()));
        }
        if (f == null) {
            throw Expect.violation(MUX_18, "P's datagram on the MUX connection", "nothing within "
                    + h.target().ioTimeout().toMillis() + " ms, and no UMFURS either");
        }
        mux.close();
        CrumfursChannel.Umfurs back = sendUntilUmfurs(h, p, m, "DLV-2: P to M after the MUX connection closed", crf);
        if (back == null) {
            throw Expect.violation(DLV_2, "once the only MUX connection closed, P's datagrams as UMFURS",
                    "nothing within " + 2 * h.target().ioTimeout().toMillis() + " ms");
        }
        if (!back.source().equals(p.address())) {
            throw Expect.violation("UMF-4: the source of a UMFURS is the datagram's true source", addr(p.address()),
                    addr(back.source()));
        }
    }

    @Test
    @Tag("MUX-19")
    @Requires(Capability.FORGED_SOURCES)
    @DisplayName("MUX-19 · datagrams forged from port 0, multicast and broadcast sources reach no MUX connection")
    void forgedSourcesNeverReachMux(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        UdpPeer a = h.udpPeer(0);
        UdpPeer b = h.udpPeer(1);
        if (!(a.address().getAddress() instanceof Inet4Address)) {
            throw Expect.notRun("the harness forges IPv4 datagrams; the peers are on IPv6");
        }
        MuxConnection mux = ctx.mux(h);
        byte[] toA = bytes("MUX-19: MUX to A");
        mux.send(a.address(), toA);
        InetSocketAddress m = arrived(h, a, toA, "the MUX frame to A");
        if (!(VlessAddress.canonical(m.getAddress()) instanceof Inet4Address) || !m.getAddress().isLoopbackAddress()) {
            throw Expect.notRun("the target's external address " + addr(m) + " is not on 127.0.0.0/8, where the"
                    + " harness may send forged datagrams");
        }
        List<InetSocketAddress> invalid = List.of(
                new InetSocketAddress(a.address().getAddress(), 0),
                new InetSocketAddress(InetAddress.getByName("224.0.0.1"), a.address().getPort()),
                new InetSocketAddress(InetAddress.getByName("255.255.255.255"), a.address().getPort()));
        try (RawDatagrams raw = RawDatagrams.open()) {
            for (InetSocketAddress source : invalid) {
                byte[] payload = bytes("MUX-19: forged from " + addr(source));
                raw.send(source, m, payload);
                h.log().note("raw datagram from " + source + " → " + m + ": " + WireLog.hex(payload));
            }
        }
        byte[] marker = bytes("MUX-19: B after the forged datagrams");
        b.send(m, marker);
        List<MuxConnection.Frame> before = new ArrayList<>();
        MuxConnection.Frame got;
        try {
            got = nextFrame(mux, marker, h.target().ioTimeout(), before);
        } catch (AssertionError e) {
            throw Expect.violation(MUX_19, "no frame for a forged datagram", String.valueOf(e.getMessage()));
        }
        for (MuxConnection.Frame f : before) {
            if (f.text().startsWith("MUX-19: forged")) {
                throw Expect.violation(MUX_19, "no frame for the datagrams from " + invalid, "a frame labelled "
                        + addr(f.source()) + ": " + f.text());
            }
        }
        if (got == null) {
            throw Expect.blocked("MUX-18", "B's datagram after the forged ones reaches the MUX connection",
                    "nothing within " + h.target().ioTimeout().toMillis() + " ms");
        }
    }

    // ---- the NAT behaviour over MUX ----

    @Test
    @Tag("MUX-13")
    @DisplayName("MUX-13 · NAT class over UDP-MUX · mapping (R(ip1,p1), R(ip2,p1), R(ip2,p2)) and filtering measured"
            + " through MUX connections")
    void classificationOverMux(Harness h) throws Exception {
        h.requireMux();
        h.informational();
        List<InetAddress> hosts = distinctPeers(h);
        Set<MappingClass> mapping;
        Set<FilteringClass> filtering;
        // Mapping: one MUX connection sends to three reflectors.
        MuxConnection mux = Ctx.fresh(h).mux(h);
        UdpPeer r1 = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        InetAddress ip2 = hosts.size() > 1 ? hosts.get(1) : hosts.get(0);
        UdpPeer r2;
        try {
            r2 = h.udpPeer(new InetSocketAddress(ip2, hosts.size() > 1 ? r1.address().getPort() : 0));
        } catch (BindException e) {
            r2 = h.udpPeer(new InetSocketAddress(ip2, 0));
        }
        UdpPeer r3 = h.udpPeer(new InetSocketAddress(ip2, 0));
        List<InetSocketAddress> seen = new ArrayList<>();
        for (UdpPeer r : List.of(r1, r2, r3)) {
            byte[] p = bytes("NAT class over MUX: to " + addr(r.address()));
            mux.send(r.address(), p);
            seen.add(NatClassificationCases.observed(h, r, p));
        }
        h.log().note("mapping over MUX: M1 = " + addr(seen.get(0)) + ", M2 = " + addr(seen.get(1)) + ", M3 = "
                + addr(seen.get(2)));
        if (seen.contains(null)) {
            mapping = EnumSet.noneOf(MappingClass.class);
        } else if (new LinkedHashSet<>(seen).size() == 1) {
            mapping = hosts.size() > 1 ? EnumSet.of(MappingClass.EIM) : EnumSet.of(MappingClass.EIM, MappingClass.ADM);
        } else if (!seen.get(0).equals(seen.get(1)) && seen.get(1).equals(seen.get(2)) && hosts.size() > 1) {
            mapping = EnumSet.of(MappingClass.ADM);
        } else {
            mapping = EnumSet.of(MappingClass.APDM);
        }
        h.fact("nat.mux.mapping", mapping.isEmpty() ? "undetermined (a reflector received nothing)"
                : String.join(" or ", mapping.stream().map(Enum::name).toList()));

        // Filtering: a fresh context's MUX connection sends only to R(ip1,p1); two others send to M1.
        MuxConnection fresh = Ctx.unused(h).mux(h);
        UdpPeer f1 = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        byte[] hello = bytes("filtering over MUX: only to R(ip1,p1)");
        fresh.send(f1.address(), hello);
        InetSocketAddress m1 = NatClassificationCases.observed(h, f1, hello);
        if (m1 == null) {
            filtering = EnumSet.noneOf(FilteringClass.class);
        } else {
            UdpPeer other = hosts.size() > 1 ? h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() - 1), 0)) : null;
            UdpPeer samePort = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
            byte[] fromOther = bytes("filtering over MUX: from R(ip2,p2)");
            byte[] fromPort = bytes("filtering over MUX: from R(ip1,p2)");
            byte[] marker = bytes("filtering over MUX: marker from R(ip1,p1)");
            if (other != null) {
                other.send(m1, fromOther);
            }
            samePort.send(m1, fromPort);
            f1.send(m1, marker);
            List<MuxConnection.Frame> frames = new ArrayList<>();
            nextFrame(fresh, marker, h.target().ioTimeout(), frames);
            drainFrames(fresh, settle(h), frames);
            List<String> got = frames.stream().map(MuxConnection.Frame::text).toList();
            boolean otherIn = other != null && got.contains(text(fromOther));
            boolean portIn = got.contains(text(fromPort));
            h.log().note("filtering over MUX: M1 = " + addr(m1) + "; delivered: " + got);
            if (other == null) {
                filtering = portIn ? EnumSet.of(FilteringClass.EIF, FilteringClass.ADF)
                        : EnumSet.of(FilteringClass.APDF);
            } else {
                filtering = EnumSet.of(otherIn ? FilteringClass.EIF : portIn ? FilteringClass.ADF
                        : FilteringClass.APDF);
            }
        }
        h.fact("nat.mux.filtering", filtering.isEmpty() ? "undetermined (R(ip1,p1) received nothing)"
                : String.join(" or ", filtering.stream().map(Enum::name).toList()));
        h.fact("nat.mux.rfc4787", NatClassificationCases.rfc4787(mapping, filtering));
        h.fact("nat.mux.classic", NatClassificationCases.classic(mapping, filtering));
    }

    @Test
    @Tag("MUX-13")
    @Tag("MUX-18")
    @Tag("MUX-17")
    @DisplayName("MUX-13 · MUX-18 · MUX-17 · hole punching over UDP-MUX: P, told M by rendezvous Z, reaches C's MUX"
            + " connection, and C's answer leaves from M")
    void holePunchingOverMux(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer z = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer p = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() > 1 ? 1 : 0), 0));
        MuxConnection mux = ctx.mux(h);
        byte[] toZ = bytes("hole punching over MUX: C to rendezvous Z");
        mux.send(z.address(), toZ);
        InetSocketAddress m = arrived(h, z, toZ, "C's frame to Z");
        byte[] fromP = bytes("hole punching over MUX: P to M, as Z told it");
        p.send(m, fromP);
        MuxConnection.Frame f = nextFrame(mux, fromP, h.target().ioTimeout(), new ArrayList<>());
        if (f == null) {
            throw Expect.violation(MUX_18, "P's datagram to M " + addr(m) + " on C's MUX connection", "nothing"
                    + " within " + h.target().ioTimeout().toMillis() + " ms");
        }
        checkSource(f, p.address());
        byte[] answer = bytes("hole punching over MUX: C answers P");
        mux.send(p.address(), answer);
        InetSocketAddress seenByP = arrived(h, p, answer, "C's answer to P");
        if (!seenByP.equals(m)) {
            throw Expect.violation(MUX_13 + " (NAT-3: to a remote that sent to it, from the socket that heard it)",
                    "P sees C's answer come from M " + addr(m), "P saw it come from " + addr(seenByP));
        }
        byte[] again = bytes("hole punching over MUX: P again");
        p.send(m, again);
        MuxConnection.Frame g = nextFrame(mux, again, h.target().ioTimeout(), new ArrayList<>());
        if (g == null) {
            throw Expect.violation(MUX_17, "P's next datagram on the MUX connection that answered it", "nothing"
                    + " within " + h.target().ioTimeout().toMillis() + " ms");
        }
    }

    @Test
    @Tag("NAT-4")
    @DisplayName("NAT-4 · simultaneous open over UDP-MUX: C sends to P before P sent anything, and P sees the M"
            + " rendezvous Z saw")
    void simultaneousOpenOverMux(Harness h) throws Exception {
        h.requireMux();
        Ctx ctx = Ctx.fresh(h);
        List<InetAddress> hosts = distinctPeers(h);
        UdpPeer z = h.udpPeer(new InetSocketAddress(hosts.get(0), 0));
        UdpPeer p = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() > 1 ? 1 : 0), 0));
        MuxConnection mux = ctx.mux(h);
        byte[] toZ = bytes("simultaneous open over MUX: C to rendezvous Z");
        mux.send(z.address(), toZ);
        InetSocketAddress m = arrived(h, z, toZ, "C's frame to Z");
        byte[] toP = bytes("simultaneous open over MUX: C to P first");
        mux.send(p.address(), toP);
        InetSocketAddress seenByP = arrived(h, p, toP, "C's frame to P");
        if (!seenByP.equals(m)) {
            throw Expect.violation(NAT_4, "P sees " + addr(m) + ", the address Z saw (EIM)", "P saw "
                    + addr(seenByP) + ": a new socket for a new destination, so simultaneous-open hole punching"
                    + " fails over MUX");
        }
        byte[] fromP = bytes("simultaneous open over MUX: P to M");
        p.send(m, fromP);
        if (nextFrame(mux, fromP, h.target().ioTimeout(), new ArrayList<>()) == null) {
            throw Expect.blocked("MUX-17", "P's datagram reaches the MUX connection that sent to it", "nothing"
                    + " within " + h.target().ioTimeout().toMillis() + " ms");
        }
    }

    // ---- helpers ----

    /**
     * The context a case works in: the run's MUX context, the main user from one fresh loopback client IP per run
     * where the target is on loopback (no other group uses it), else the main context. The cases here run one after
     * another and close every connection they open, and each uses remotes (peer ports) of its own, so what one case
     * leaves in the context's tables never decides another's delivery.
     */
    record Ctx(UUID user, InetAddress clientIp) {

        static Ctx fresh(Harness h) throws IOException {
            InetAddress ip = h.muxClientAddress();
            h.log().note("NAT context: the main user from " + (ip != null ? ip.getHostAddress() + ", the run's MUX"
                    + " context" : "the default address (the main context)"));
            return new Ctx(h.target().user(), ip);
        }

        /**
         * A context that has sent to no remote yet, for the filtering probe: the second user from the MUX context's
         * address when given, else the main user from a fresh loopback address, else the run's MUX context.
         */
        static Ctx unused(Harness h) throws IOException {
            InetAddress ip = h.muxClientAddress();
            if (ip != null && h.target().has(Capability.SECOND_USER)) {
                return new Ctx(h.target().user2(), ip);
            }
            if (ip != null) {
                return new Ctx(h.target().user(), Harness.freshLoopbackClient());
            }
            return fresh(h);
        }

        MuxConnection mux(Harness h) throws IOException {
            return h.muxFrom(clientIp, user);
        }

        UdpConnection udp(Harness h, InetSocketAddress remote, byte[] payload) throws IOException {
            return h.udpFrom(clientIp, user, remote, UdpConnection.frame(payload));
        }

        CrumfursChannel crumfurs(Harness h) throws IOException {
            return h.crumfursFrom(clientIp, user);
        }
    }

    /** Concatenation of frames for one write. */
    static final class VlessConnectionBytes {
        private VlessConnectionBytes() {
        }

        static byte[] concat(byte[]... parts) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (byte[] p : parts) {
                out.writeBytes(p);
            }
            return out.toByteArray();
        }
    }

    /** A frame to an IPv4 destination written as its IPv4-mapped IPv6 address (address type 3). */
    private static byte[] mappedFrame(InetSocketAddress to, byte[] payload) {
        byte[] v4 = to.getAddress().getAddress();
        byte[] f = new byte[1 + 16 + 4 + payload.length];
        f[0] = 3;
        f[11] = (byte) 0xff;
        f[12] = (byte) 0xff;
        System.arraycopy(v4, 0, f, 13, 4);
        f[17] = (byte) (to.getPort() >>> 8);
        f[18] = (byte) to.getPort();
        f[19] = (byte) (payload.length >>> 8);
        f[20] = (byte) payload.length;
        System.arraycopy(payload, 0, f, 21, payload.length);
        return f;
    }

    /** The source {@code peer} saw {@code payload} come from; a MUX-7 violation (blocking others) when it never came. */
    static InetSocketAddress arrived(Harness h, UdpPeer peer, byte[] payload, String what) throws Exception {
        InetSocketAddress m = NatClassificationCases.observed(h, peer, payload);
        if (m == null) {
            throw Expect.violation(MUX_7 + " (a client frame's payload is sent to the destination it names)", what
                    + " reaches " + addr(peer.address()), "nothing within " + h.target().ioTimeout().toMillis()
                    + " ms" + endedNote(h));
        }
        return m;
    }

    /** The next datagram at {@code peer} carries {@code payload}, exactly. */
    private static void arrivedExactly(Harness h, UdpPeer peer, byte[] payload, String requirement) throws Exception {
        UdpPeer.Datagram d = h.awaitDatagram(peer, h.target().ioTimeout());
        if (d == null || !Arrays.equals(d.payload(), payload)) {
            throw Expect.violation(requirement, "one datagram " + text(payload) + " at " + addr(peer.address()),
                    d == null ? "nothing within " + h.target().ioTimeout().toMillis() + " ms" + endedNote(h)
                            : "a datagram of " + d.payload().length + " B: " + WireLog.hex(d.payload()));
        }
    }

    private static String endedNote(Harness h) {
        String ended = h.endedConnections();
        return ended == null ? "" : " (" + ended + ")";
    }

    /** The next frame, or a violation of {@code requirement} when none comes, the stream ends or breaks. */
    private static MuxConnection.Frame frameOrFail(Harness h, MuxConnection mux, String requirement)
            throws IOException {
        MuxConnection.Frame f;
        try {
            f = mux.receive();
        } catch (EOFException | SocketException e) {
            throw Expect.violation(requirement, "a frame", "the connection ended: " + e.getMessage());
        }
        if (f == null) {
            throw Expect.violation(requirement, "a frame within " + h.target().ioTimeout().toMillis() + " ms",
                    "none");
        }
        return f;
    }

    /** A frame must name {@code source}, exactly, as address type 1 for IPv4. */
    private static void checkSource(MuxConnection.Frame f, InetSocketAddress source) {
        boolean v4 = VlessAddress.canonical(source.getAddress()) instanceof Inet4Address;
        if (!f.source().equals(VlessAddress.canonical(source)) || (v4 && f.addressType() != 1)) {
            throw Expect.violation(MUX_8, "the frame carrying " + WireLog.hex(f.payload()) + " labelled "
                    + addr(source) + (v4 ? " as address type 1" : ""), "labelled " + addr(f.source())
                    + " as address type " + f.addressType());
        }
    }

    /** Reads frames into {@code into} until one carries {@code payload} (returned), or {@code null} after timeout. */
    static MuxConnection.Frame nextFrame(MuxConnection mux, byte[] payload, Duration timeout,
            List<MuxConnection.Frame> into) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            MuxConnection.Frame f;
            try {
                f = mux.receive(Duration.ofNanos(left));
            } catch (EOFException | SocketException e) {
                return null;
            }
            if (f == null) {
                return null;
            }
            if (Arrays.equals(f.payload(), payload)) {
                return f;
            }
            into.add(f);
        }
    }

    private static void drainFrames(MuxConnection mux, Duration quiet, List<MuxConnection.Frame> into)
            throws IOException {
        while (true) {
            MuxConnection.Frame f;
            try {
                f = mux.receive(quiet);
            } catch (EOFException | SocketException e) {
                return;
            }
            if (f == null) {
                return;
            }
            into.add(f);
        }
    }

    /**
     * {@code from} sends to {@code m}; the datagram must arrive on {@code on} (as a frame from {@code from}) and not
     * on {@code not}. The rule is the one {@code label} starts with.
     */
    private static void expectOn(Harness h, UdpPeer from, InetSocketAddress m, String label, MuxConnection on,
            String onName, MuxConnection not, String notName) throws Exception {
        String rule = label.startsWith("MUX-17") ? MUX_17 : MUX_18;
        byte[] payload = bytes(label);
        from.send(m, payload);
        MuxConnection.Frame f = nextFrame(on, payload, h.target().ioTimeout(), new ArrayList<>());
        if (f == null) {
            MuxConnection.Frame stray = nextFrame(not, payload, settle(h), new ArrayList<>());
            throw Expect.violation(rule, "the datagram of " + addr(from.address()) + " on " + onName,
                    stray != null ? "it arrived on " + notName : "it arrived on neither within "
                            + h.target().ioTimeout().toMillis() + " ms");
        }
        checkSource(f, from.address());
        MuxConnection.Frame dup = nextFrame(not, payload, settle(h), new ArrayList<>());
        if (dup != null) {
            throw Expect.violation(rule, "the datagram on " + onName + " only", notName + " got it too");
        }
    }

    /** Repeats datagrams from {@code peer} until one arrives on {@code mux}: a close takes a moment to take effect. */
    private static MuxConnection.Frame sendUntilFrame(Harness h, UdpPeer peer, InetSocketAddress m, String label,
            MuxConnection mux) throws IOException {
        long deadline = System.nanoTime() + 2 * h.target().ioTimeout().toNanos();
        for (int i = 1; System.nanoTime() < deadline; i++) {
            byte[] p = bytes(label + " #" + i);
            peer.send(m, p);
            long until = Math.min(deadline, System.nanoTime() + RESEND_EVERY.toNanos());
            while (System.nanoTime() < until) {
                MuxConnection.Frame f;
                try {
                    f = mux.receive(Duration.ofNanos(Math.max(1_000_000, until - System.nanoTime())));
                } catch (EOFException | SocketException e) {
                    return null;
                }
                if (f != null && f.text().startsWith(label)) {
                    return f;
                }
            }
        }
        return null;
    }

    /** Repeats datagrams from {@code peer} until one arrives as a UMFURS on {@code crf}. */
    private static CrumfursChannel.Umfurs sendUntilUmfurs(Harness h, UdpPeer peer, InetSocketAddress m, String label,
            CrumfursChannel crf) throws IOException {
        long deadline = System.nanoTime() + 2 * h.target().ioTimeout().toNanos();
        for (int i = 1; System.nanoTime() < deadline; i++) {
            byte[] p = bytes(label + " #" + i);
            peer.send(m, p);
            long until = Math.min(deadline, System.nanoTime() + RESEND_EVERY.toNanos());
            while (System.nanoTime() < until) {
                CrumfursChannel.Umfurs u;
                try {
                    u = crf.receive(Duration.ofNanos(Math.max(1_000_000, until - System.nanoTime())));
                } catch (EOFException | SocketException e) {
                    return null;
                }
                if (u != null && text(u.payload()).startsWith(label)) {
                    return u;
                }
            }
        }
        return null;
    }

    /** {@code size} bytes of a recognisable pattern. */
    static byte[] pattern(int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        return b;
    }
}
