// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import dev.vless.conformance.Capability;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.Outcome;
import dev.vless.conformance.Requires;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.VlessConnection;
import dev.vless.conformance.WireLog;
import java.io.ByteArrayOutputStream;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * §8 UDP frames: a command-2 connection carries every datagram as {@code len(2) payload} in both directions, of any
 * length from 0 to the largest a socket can send, however the frames are cut into writes.
 */
@ConformanceCases
@Tag("udp")
class UdpFrameCases {

    /** The largest UDP payload over IPv4 (65535 minus 20 bytes of IP and 8 of UDP header) and over IPv6. */
    static final int MAX_IPV4_DATAGRAM = 65507;
    static final int MAX_IPV6_DATAGRAM = 65527;

    private static final String UDP_2_LARGE = "UDP-2: frame lengths of 32768 and above are valid (unsigned): such a"
            + " frame is sent whole as one datagram";
    private static final String UDP_4 = "UDP-4: the server receives datagrams into buffers of at least 65535 bytes and"
            + " never truncates one it relays";
    private static final String UDP_1 = "UDP-1: every datagram from the target comes back as one frame, len(2) payload";
    private static final String UDP_3 = "UDP-3: the server sends the payload of every client frame as one datagram to"
            + " the connection's target";

    @Test
    @Tag("UDP-1")
    @Tag("UDP-3")
    @DisplayName("UDP-1 · UDP-3 · a small frame goes to the target as one datagram and its reply comes back as one frame")
    void smallDatagramBothWays(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        UdpConnection c = h.udp(peer.address());
        roundTrip(h, c, peer, ascii("a small datagram over a command-2 connection"));
    }

    @Test
    @Tag("UDP-2")
    @DisplayName("UDP-2 · an empty frame is sent as an empty datagram, and an empty reply comes back as the frame 0000")
    void emptyDatagramBothWays(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        UdpConnection c = h.udp(peer.address());
        byte[] after = ascii("sent after the empty datagram");
        // One write, two frames: the empty one must neither vanish nor swallow the next.
        c.write(VlessConnection.concat(UdpConnection.frame(new byte[0]), UdpConnection.frame(after)));
        String rule = "UDP-2: a frame length of 0 is a valid empty datagram";
        UdpPeer.Datagram first = peer.receive(h.target().ioTimeout());
        if (first == null || first.payload().length != 0) {
            throw Expect.violation(rule, "an empty datagram at " + peer.address() + ", then " + after.length + " B",
                    first == null ? "nothing within " + ms(h) : "first a datagram of " + first.payload().length
                            + " B (" + WireLog.hex(first.payload()) + "): the empty frame was not sent");
        }
        expectDatagram(h, peer, after, rule);
        byte[] reply = c.receive();
        if (reply == null || reply.length != 0) {
            throw Expect.violation(rule, "the frame 0000 (the target's empty reply), then the second reply",
                    reply == null ? "no frame within " + ms(h) : "first a frame of " + reply.length
                            + " B: the empty reply was not relayed");
        }
        expectFrame(h, c, after, rule);
    }

    @Test
    @Tag("UDP-1")
    @Tag("UDP-3")
    @DisplayName("UDP-1 · UDP-3 · a 1200-byte datagram is relayed intact both ways")
    void datagramOf1200Bytes(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        UdpConnection c = h.udp(peer.address());
        roundTrip(h, c, peer, payload(1200, 1200));
    }

    @Test
    @Tag("UDP-2")
    @Tag("UDP-3")
    @DisplayName("UDP-2 · UDP-3 · a 32768-byte frame (length 0x8000) from the client leaves whole as one datagram")
    void frameOf32768BytesFromClient(Harness h) throws Exception {
        largeFrameFromClient(h, 32768);
    }

    @Test
    @Tag("UDP-2")
    @Tag("UDP-4")
    @DisplayName("UDP-2 · UDP-4 · a 32768-byte datagram from the target arrives whole as one frame of length 0x8000")
    void datagramOf32768BytesToClient(Harness h) throws Exception {
        largeDatagramToClient(h, 32768);
    }

    @Test
    @Tag("UDP-2")
    @Tag("UDP-3")
    @DisplayName("UDP-2 · UDP-3 · a frame of the largest datagram (65507 bytes to IPv4, 65527 to IPv6) leaves whole")
    void largestFrameFromClient(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0);
        largeFrameFromClient(h, maxDatagram(peer.address()));
    }

    @Test
    @Tag("UDP-2")
    @Tag("UDP-4")
    @DisplayName("UDP-2 · UDP-4 · the largest datagram (65507 bytes over IPv4, 65527 over IPv6) from the target arrives whole")
    void largestDatagramToClient(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0);
        largeDatagramToClient(h, maxDatagram(peer.address()));
    }

    /**
     * One direction per case, so that a server that truncates one way is not blamed for the other: the client's frame
     * must leave as one whole datagram. Nothing at all points at the length (read as signed, UDP-2); a shorter
     * datagram holding the payload's first bytes is a truncation (UDP-3).
     */
    private static void largeFrameFromClient(Harness h, int size) throws Exception {
        UdpPeer peer = h.udpPeer(0);
        requirePathCarries(h, peer, size);
        UdpConnection c = h.udp(peer.address());
        byte[] p = payload(size, size);
        c.send(p);
        long start = System.nanoTime();
        UdpPeer.Datagram d = h.awaitDatagram(peer, h.target().ioTimeout());
        if (d == null) {
            String ended = h.endedConnections();
            throw Expect.violation(UDP_2_LARGE, "one datagram of " + size + " B at " + peer.address(),
                    ended != null ? "nothing after " + (System.nanoTime() - start) / 1_000_000 + " ms, when " + ended
                            : "nothing within " + ms(h));
        }
        if (!Arrays.equals(d.payload(), p)) {
            throw Expect.violation(UDP_3 + ", whole", "one datagram of " + size + " B", truncation(d.payload(), p));
        }
    }

    /** The other direction: a datagram from the target must arrive as one whole frame (UDP-4). */
    private static void largeDatagramToClient(Harness h, int size) throws Exception {
        UdpPeer peer = h.udpPeer(0);
        requirePathCarries(h, peer, size);
        UdpConnection c = h.udp(peer.address());
        InetSocketAddress mapped = mappedAddress(h, c, peer);
        byte[] p = payload(size, size + 1);
        peer.send(mapped, p);
        byte[] got = c.receive();
        if (got == null) {
            throw Expect.violation(UDP_4, "a frame of " + size + " B", "no frame within " + ms(h));
        }
        if (!Arrays.equals(got, p)) {
            throw Expect.violation(UDP_4, "a frame of " + size + " B", truncation(got, p));
        }
    }

    /** What a wrong large payload is: cut short (its first bytes right), or otherwise different. */
    private static String truncation(byte[] got, byte[] p) {
        if (got.length < p.length && Arrays.equals(got, Arrays.copyOf(p, got.length))) {
            return "one of " + got.length + " B: the first " + got.length + " bytes of the payload (truncated)";
        }
        return differs(got, p);
    }

    @Test
    @Tag("UDP-1")
    @Tag("UDP-3")
    @DisplayName("UDP-1 · UDP-3 · 20 frames in one write become 20 datagrams in order, and 20 replies come back as 20 frames")
    void manyFramesInOneWrite(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        UdpConnection c = h.udp(peer.address());
        byte[][] payloads = new byte[20][];
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < payloads.length; i++) {
            // Different lengths, so that a reader that loses a frame boundary cannot stay in step by luck.
            String text = String.format("datagram %02d ", i) + "x".repeat(i * 7);
            payloads[i] = ascii(text);
            all.writeBytes(UdpConnection.frame(payloads[i]));
        }
        c.write(all.toByteArray());
        for (byte[] p : payloads) {
            expectDatagram(h, peer, p, UDP_3 + ", in order");
        }
        for (byte[] p : payloads) {
            expectFrame(h, c, p, UDP_1 + ", in order");
        }
    }

    @Test
    @Tag("UDP-1")
    @Tag("UDP-3")
    @DisplayName("UDP-1 · UDP-3 · a frame written in pieces (each length byte alone, then the payload in parts) is one datagram")
    void frameSplitAcrossWrites(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0);
        UdpConnection c = h.udp(peer.address());
        // Small enough that no server truncates it for size: this case is about the cuts only.
        byte[] p = payload(1000, 1000);
        byte[] f = UdpConnection.frame(p);
        int[] cuts = {0, 1, 2, 300, 700, f.length};
        Duration gap = Duration.ofMillis(50);
        for (int i = 0; i + 1 < cuts.length; i++) {
            c.write(Arrays.copyOfRange(f, cuts[i], cuts[i + 1]));
            if (i + 2 < cuts.length) {
                // The pause between writes doubles as a check: nothing may go out before the frame is complete.
                UdpPeer.Datagram early = peer.receive(gap);
                if (early != null) {
                    throw Expect.violation(UDP_1, "one datagram of " + p.length + " B once all "
                            + f.length + " B of the frame have arrived",
                            "a datagram of " + early.payload().length + " B after only " + cuts[i + 1] + " B");
                }
            }
        }
        expectDatagram(h, peer, p, UDP_1);
        UdpPeer.Datagram extra = peer.receive(Duration.ofMillis(300));
        if (extra != null) {
            throw Expect.violation(UDP_3, "exactly one datagram for one frame",
                    "a further datagram of " + extra.payload().length + " B");
        }
    }

    @Test
    @Tag("UDP-5")
    @DisplayName("UDP-5 · frames too big for one datagram (65508 and 65535 bytes to IPv4) are dropped and the connection stays in sync")
    void oversizedFramesAreDropped(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        UdpConnection c = h.udp(peer.address());
        int max = maxDatagram(peer.address());
        byte[] after = ascii("the frame after the oversized ones");
        ByteArrayOutputStream frames = new ByteArrayOutputStream();
        frames.writeBytes(UdpConnection.frame(payload(max + 1, 1)));
        frames.writeBytes(UdpConnection.frame(payload(0xffff, 2)));
        c.write(frames.toByteArray());
        c.send(after);
        String rule = "UDP-5: a frame the socket cannot send (over " + max + " B here) is dropped and counted, and the"
                + " connection stays open and in sync";
        UdpPeer.Datagram first = peer.receive(h.target().ioTimeout());
        if (first == null) {
            throw Expect.violation(rule, "the " + after.length + "-byte datagram that followed the oversized frames",
                    "nothing within " + ms(h));
        }
        if (!Arrays.equals(first.payload(), after)) {
            throw Expect.violation(rule, "only the " + after.length + "-byte datagram that followed",
                    "a datagram of " + first.payload().length + " B" + (first.payload().length <= max
                            ? " (an oversized frame cut to fit, or the stream out of step)" : ""));
        }
        expectFrame(h, c, after, rule);
    }

    @Test
    @Tag("UDP-6")
    @DisplayName("UDP-6 · a command-2 connection is served although the case opened no CRUMFURS")
    void servedWithoutCrumfurs(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        UdpConnection c = h.udp(peer.address());
        byte[] p = ascii("no CRUMFURS was opened for this datagram");
        c.send(p);
        expectDatagram(h, peer, p, "UDP-6: a server serves command 2 whether or not the user has a live CRUMFURS");
        expectFrame(h, c, p, "UDP-6: a server serves command 2 whether or not the user has a live CRUMFURS");
    }

    @Test
    @Tag("UDP-8")
    @Requires(Capability.PLAINTEXT_HALF_CLOSE)
    @DisplayName("UDP-8 · when the client ends its stream, the server closes the command-2 connection")
    void clientEndOfStreamCloses(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        UdpConnection c = h.udp(peer.address());
        roundTrip(h, c, peer, ascii("before the end of stream"));
        c.shutdownOutput();
        Outcome o = c.await(h.target().ioTimeout());
        if (o.kind() != Outcome.Kind.CLOSED && o.kind() != Outcome.Kind.RESET) {
            throw Expect.violation("UDP-8: when the client ends the stream of a command-2 connection, the server"
                    + " closes that connection", "close within " + ms(h), o.toString());
        }
    }

    @Test
    @Tag("ADR-4")
    @DisplayName("ADR-4 · a target named as an IPv4-mapped IPv6 address is that IPv4 host: it gets the datagram and its"
            + " reply comes back")
    void ipv4MappedTargetIsTheIpv4Host(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        java.net.InetAddress ip = peer.address().getAddress();
        org.junit.jupiter.api.Assumptions.assumeTrue(ip instanceof java.net.Inet4Address,
                "NOT APPLICABLE: the first peer address is not IPv4");
        dev.vless.codec.VlessAddress mapped = new dev.vless.codec.VlessAddress(dev.vless.codec.VlessAddressType.IPV6,
                "::ffff:" + ip.getHostAddress(), peer.address().getPort());
        UdpConnection c = h.udpTo(mapped);
        byte[] p = ascii("to ::ffff:" + ip.getHostAddress());
        c.send(p);
        String rule = "ADR-4: an IPv4-mapped IPv6 address is canonicalised to the IPv4 address before any lookup or"
                + " comparison";
        expectDatagram(h, peer, p, rule);
        expectFrame(h, c, p, rule + " (the reply from the IPv4 host belongs to this connection)");
    }

    @Test
    @Tag("UDP-7")
    @DisplayName("UDP-7 · a v0 command-2 connection receives its target's datagrams but not a stranger's")
    void v0ConnectionIgnoresStrangers(Harness h) throws Exception {
        UdpPeer target = h.udpPeer(0);
        UdpPeer stranger = h.udpPeer(1);
        UdpConnection c = h.udp(target.address());
        InetSocketAddress mapped = mappedAddress(h, c, target);
        byte[] fromStranger = ascii("from a stranger: must not be delivered");
        byte[] fromTarget = ascii("from the target: must be delivered");
        stranger.send(mapped, fromStranger);
        target.send(mapped, fromTarget);
        String rule = "UDP-7: a v0 command-2 connection has a socket of its own and receives only datagrams from its"
                + " target";
        byte[] got = c.receive();
        if (got == null) {
            throw Expect.violation(rule, "the target's datagram as a frame, after the 00 00 response header (RSP-2)",
                    "no frame within " + ms(h));
        }
        if (!Arrays.equals(got, fromTarget)) {
            throw Expect.violation(rule, "only the target's datagram (" + WireLog.hex(fromTarget) + ")",
                    Arrays.equals(got, fromStranger) ? "the stranger's datagram was delivered"
                            : "a frame of " + got.length + " B: " + WireLog.hex(got));
        }
        byte[] late = c.receive(Duration.ofMillis(300));
        if (late != null) {
            throw Expect.violation(rule, "nothing more", "a further frame of " + late.length + " B: "
                    + WireLog.hex(late));
        }
    }

    /** Sends {@code p} as one frame; the echo peer must receive it as one datagram and its echo must come back. */
    static void roundTrip(Harness h, UdpConnection c, UdpPeer echoPeer, byte[] p) throws Exception {
        roundTrip(h, c, echoPeer, p, UDP_3, UDP_1);
    }

    /**
     * {@link #roundTrip(Harness, UdpConnection, UdpPeer, byte[])}, blaming {@code out} and {@code back}: a case about
     * datagram sizes fails its own size rule, not the generic relay rules.
     */
    static void roundTrip(Harness h, UdpConnection c, UdpPeer echoPeer, byte[] p, String out, String back)
            throws Exception {
        c.send(p);
        expectDatagram(h, echoPeer, p, out);
        expectFrame(h, c, p, back);
    }

    /** The next datagram at {@code peer} must be exactly {@code p}. */
    static UdpPeer.Datagram expectDatagram(Harness h, UdpPeer peer, byte[] p, String rule) throws Exception {
        long start = System.nanoTime();
        UdpPeer.Datagram d = h.awaitDatagram(peer, h.target().ioTimeout());
        if (d == null) {
            String ended = h.endedConnections();
            throw Expect.violation(rule, "a datagram of " + p.length + " B at " + peer.address(),
                    ended != null ? "nothing after " + (System.nanoTime() - start) / 1_000_000 + " ms, when " + ended
                            : "nothing within " + ms(h));
        }
        if (!Arrays.equals(d.payload(), p)) {
            throw Expect.violation(rule, "a datagram of " + p.length + " B: " + WireLog.hex(p),
                    differs(d.payload(), p));
        }
        return d;
    }

    /**
     * The next datagram at {@code peer} whose payload is {@code p}, skipping others (earlier cases' stragglers, a
     * flood's tail), within the I/O timeout; {@code null} if none comes.
     */
    static UdpPeer.Datagram nextMatching(Harness h, UdpPeer peer, byte[] p) throws Exception {
        long deadline = System.nanoTime() + h.target().ioTimeout().toNanos();
        while (System.nanoTime() < deadline) {
            UdpPeer.Datagram d = h.awaitDatagram(peer, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (d == null) {
                return null;
            }
            if (Arrays.equals(d.payload(), p)) {
                return d;
            }
        }
        return null;
    }

    /** The next frame on {@code c} must carry exactly {@code p}. */
    static void expectFrame(Harness h, UdpConnection c, byte[] p, String rule) throws Exception {
        byte[] got = c.receive();
        if (got == null) {
            throw Expect.violation(rule, "a frame of " + p.length + " B", "no frame within " + ms(h));
        }
        if (!Arrays.equals(got, p)) {
            throw Expect.violation(rule, "a frame of " + p.length + " B: " + WireLog.hex(p), differs(got, p));
        }
    }

    /**
     * The server's address and port for {@code c}, as {@code peer} (the connection's target) observes them: sends a
     * probe and returns the probe's source. Peers that must reach the client send there.
     */
    static InetSocketAddress mappedAddress(Harness h, UdpConnection c, UdpPeer peer) throws Exception {
        byte[] probe = ascii("probe: where does this datagram come from?");
        c.send(probe);
        UdpPeer.Datagram d = expectDatagram(h, peer, probe, UDP_3);
        h.log().note("mapped address, as " + peer.address() + " observed it: " + d.source());
        return d.source();
    }

    /**
     * Makes sure this machine's own UDP path carries a datagram of {@code size} bytes to {@code receiver}, so that a
     * failure to relay one can be blamed on the server. When it does not, the case cannot decide: that is an ERROR
     * (the exception is not a violation), never a PASS.
     */
    static void requirePathCarries(Harness h, UdpPeer receiver, int size) throws Exception {
        UdpPeer sender = h.udpPeer(1);
        byte[] p = payload(size, -size);
        sender.send(receiver.address(), p);
        UdpPeer.Datagram d = receiver.receive(h.target().ioTimeout());
        if (d == null || !Arrays.equals(d.payload(), p)) {
            throw new IllegalStateException("the harness's own UDP path from " + sender.address() + " to "
                    + receiver.address() + " does not carry a " + size + "-byte datagram ("
                    + (d == null ? "nothing arrived" : d.payload().length + " B arrived")
                    + "), so this size cannot be checked here");
        }
    }

    /** The largest payload one datagram to {@code to} can carry. */
    static int maxDatagram(InetSocketAddress to) {
        return to.getAddress() instanceof Inet6Address ? MAX_IPV6_DATAGRAM : MAX_IPV4_DATAGRAM;
    }

    /** {@code size} reproducible pseudo-random bytes. */
    static byte[] payload(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static String ms(Harness h) {
        return h.target().ioTimeout().toMillis() + " ms";
    }

    /** How {@code got} differs from {@code expected}, briefly. */
    static String differs(byte[] got, byte[] expected) {
        if (got.length != expected.length) {
            return got.length + " B (" + (got.length < expected.length ? "truncated or another datagram" : "longer")
                    + "): " + WireLog.hex(got);
        }
        int i = Arrays.mismatch(got, expected);
        return got.length + " B, differing from byte " + i + ": " + WireLog.hex(got);
    }
}
