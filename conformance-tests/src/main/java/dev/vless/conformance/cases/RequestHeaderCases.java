// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.conformance.Capability;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.Outcome;
import dev.vless.conformance.Requires;
import dev.vless.conformance.TcpPeer;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.VlessConnection;
import dev.vless.conformance.WireLog;
import dev.vless.spec.Profile;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** §3 Versions, §4 Request header and §6 Responses: the header in every shape a client may send it. */
@ConformanceCases
@Tag("header")
class RequestHeaderCases {

    private static final byte[] PING = "ping over vless".getBytes(StandardCharsets.US_ASCII);
    /** Fixed, so that a failing split can be replayed; the wire log shows every chunk. */
    private static final long SPLIT_SEED = 0x564c455353L;

    @Test
    @Tag("HDR-1")
    @Tag("RSP-1")
    @DisplayName("HDR-1 · RSP-1 · a v1 TCP request with its payload in the same write is relayed, no response header")
    void v1PayloadInHeaderWrite(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        VlessConnection c = h.tcp(echo.address(), PING);
        byte[] got = c.readExactly(PING.length);
        if (!Arrays.equals(got, PING)) {
            throw Expect.violation("RSP-1: the first bytes a v1 server sends on a TCP connection are target data",
                    "the echoed payload " + WireLog.hex(PING), WireLog.hex(got));
        }
    }

    @Test
    @Tag("HDR-2")
    @Tag("RSP-2")
    @DisplayName("HDR-2 · RSP-2 · a v0 TCP request is answered with 00 00 right before the response data")
    void v0ResponseHeader(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        VlessConnection c = h.tcp(echo.address(), PING);
        byte[] got = c.readExactly(2 + PING.length);
        byte[] expected = VlessConnection.concat(new byte[] {0, 0}, PING);
        if (!Arrays.equals(got, expected)) {
            throw Expect.violation("RSP-2: a v0 server sends 00 00 once, immediately before the first response byte",
                    WireLog.hex(expected), WireLog.hex(got));
        }
    }

    @Test
    @Tag("VER-1")
    @DisplayName("VER-1 · a request whose first byte is the profile's version (01 for v1, 00 for v0) is served")
    void versionByteOfProfile(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] header = VlessConnection.encode(h.request(h.target().user(), VlessCommand.TCP, echo.address()));
        h.log().note(String.format("version byte 0x%02x (profile %s)", header[0],
                h.target().profile().name().toLowerCase(Locale.ROOT)));
        VlessConnection c = h.connect();
        c.write(VlessConnection.concat(header, PING));
        expectEcho(h, c, PING, "VER-1: the first byte of a request is the protocol version, 0x00 for v0 and 0x01"
                + " for v1; a request of the served version is relayed");
    }

    @Test
    @Tag("VER-3")
    @DisplayName("VER-3 · a v0 request on the v1 listener is served as v0, with 00 00 before the response data")
    void v0RequestOnV1Listener(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        VlessRequest v0 = VlessRequest.v0(h.target().user(), VlessCommand.TCP,
                VlessAddress.of(echo.address()));
        VlessConnection c = h.connect();
        c.writeRequest(v0, PING);
        byte[] expected = VlessConnection.concat(new byte[] {0, 0}, PING);
        Outcome first = c.await(h.target().ioTimeout());
        if (first.kind() != Outcome.Kind.DATA) {
            throw Expect.violation("VER-3: a v1 server SHOULD also serve v0 requests on the same listener",
                    "00 00 then the echoed payload " + WireLog.hex(PING), first.toString());
        }
        byte[] got = first.bytes();
        if (got.length < expected.length) {
            got = VlessConnection.concat(got, c.readExactly(expected.length - got.length));
        }
        if (!Arrays.equals(got, expected)) {
            throw Expect.violation("VER-3: a v0 connection on a v1 listener gets v0 treatment (RSP-2's 00 00)",
                    WireLog.hex(expected), WireLog.hex(got));
        }
    }

    @Test
    @Tag("HDR-1")
    @Tag("ADR-1")
    @DisplayName("HDR-1 · ADR-1 · an IPv4 target (address type 1, 4 bytes) is reached")
    void ipv4Target(Harness h) throws Exception {
        assumeTrue(h.target().peer(0) instanceof java.net.Inet4Address,
                "NOT APPLICABLE: the first peer address " + h.target().peer(0) + " is not IPv4");
        TcpPeer echo = h.tcpEcho();
        VlessConnection c = h.tcp(echo.address(), PING);
        expectEcho(h, c, PING, "ADR-1: address type 1 is an IPv4 address of 4 bytes");
    }

    @Test
    @Tag("HDR-1")
    @Tag("ADR-1")
    @Requires(Capability.LOOPBACK_TARGET)
    @DisplayName("HDR-1 · ADR-1 · an IPv6 target (address type 3, 16 bytes: ::1) is reached")
    void ipv6Target(Harness h) throws Exception {
        TcpPeer echo;
        try {
            echo = h.tcpEcho(InetAddress.getByName("::1"));
        } catch (IOException e) {
            assumeTrue(false, "NOT APPLICABLE: this machine cannot bind ::1 (" + e.getMessage() + ")");
            return;
        }
        VlessConnection c = h.tcp(echo.address(), PING);
        expectEcho(h, c, PING, "ADR-1: address type 3 is an IPv6 address of 16 bytes");
    }

    /*
     * The target resolves the name itself (NAT-7): it takes the first IPv4 address, else the first IPv6 one. Every
     * usual hosts file maps localhost to 127.0.0.1, so a peer there is what a conforming target reaches even where
     * localhost also maps to ::1.
     */
    @Test
    @Tag("HDR-1")
    @Tag("ADR-1")
    @Tag("NAT-7")
    @Requires(Capability.LOOPBACK_TARGET)
    @DisplayName("HDR-1 · ADR-1 · NAT-7 · a domain target (localhost) is resolved by the target, first IPv4 address")
    void domainTarget(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}));
        VlessConnection c = h.tcp(InetSocketAddress.createUnresolved("localhost", echo.address().getPort()), PING);
        expectEcho(h, c, PING, "NAT-7: a domain target is resolved once and its first IPv4 address (127.0.0.1 for"
                + " localhost) is connected to");
    }

    @Test
    @Tag("HDR-11")
    @DisplayName("HDR-11 · payload sent after the header, in a later write, is relayed")
    void payloadAfterHeader(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        VlessConnection c = h.tcp(echo.address(), new byte[0]);
        Thread.sleep(50);
        c.write(PING);
        expectEcho(h, c, PING);
    }

    @Test
    @Tag("HDR-11")
    @DisplayName("HDR-11 · every byte after the header in the header's own write is payload (4 KiB in one write)")
    void trailingBytesInHeaderWrite(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] payload = new byte[4096];
        new Random(SPLIT_SEED).nextBytes(payload);
        VlessConnection c = h.tcp(echo.address(), payload);
        expectEcho(h, c, payload, "HDR-11: bytes that follow a complete request header in the same segment are"
                + " payload");
    }

    /*
     * HDR-11 for command 2: what follows the header in its own write is the first UDP frames. A server that decodes
     * the header and then starts its UDP relay on the next read loses them; one that keeps the header parser's
     * leftovers for the relay does not.
     */
    @Test
    @Tag("HDR-11")
    @DisplayName("HDR-11 · a command-2 header with its first UDP frame in the same write: the datagram goes out whole,"
            + " the reply comes back as a frame")
    void udpFrameInHeaderWrite(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        byte[] payload = "first datagram, in the header's write".getBytes(StandardCharsets.US_ASCII);
        UdpConnection c = h.udp(h.target().user(), peer.address(), UdpConnection.frame(payload));
        expectRelayedFrames(h, c, peer, List.of(payload));
    }

    @Test
    @Tag("HDR-11")
    @DisplayName("HDR-11 · a command-2 header with two UDP frames in the same write: both datagrams go out, in order,"
            + " and both replies come back")
    void twoUdpFramesInHeaderWrite(Harness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        byte[] first = "first of two datagrams in the header's write".getBytes(StandardCharsets.US_ASCII);
        byte[] second = "second of two".getBytes(StandardCharsets.US_ASCII);
        UdpConnection c = h.udp(h.target().user(), peer.address(),
                VlessConnection.concat(UdpConnection.frame(first), UdpConnection.frame(second)));
        expectRelayedFrames(h, c, peer, List.of(first, second));
    }

    /** Each payload reaches {@code peer} as one datagram, in order, and its echo comes back as one frame. */
    private static void expectRelayedFrames(Harness h, UdpConnection c, UdpPeer peer, List<byte[]> payloads)
            throws Exception {
        String rule = "HDR-11: bytes that follow a complete command-2 request header in the same segment are its"
                + " first UDP frames";
        for (int i = 0; i < payloads.size(); i++) {
            byte[] p = payloads.get(i);
            String which = "datagram " + (i + 1) + " of " + payloads.size();
            UdpPeer.Datagram d = h.awaitDatagram(peer, h.target().ioTimeout());
            if (d == null) {
                String ended = h.endedConnections();
                throw Expect.violation(rule, which + ", " + p.length + " B " + WireLog.hex(p) + ", at "
                        + peer.address(), "nothing within " + h.target().ioTimeout().toMillis() + " ms"
                        + (ended != null ? "; " + ended : ""));
            }
            if (!Arrays.equals(d.payload(), p)) {
                throw Expect.violation(rule, which + ": " + WireLog.hex(p), d.payload().length + " B "
                        + WireLog.hex(d.payload()));
            }
        }
        for (int i = 0; i < payloads.size(); i++) {
            byte[] p = payloads.get(i);
            byte[] reply = c.receive();
            if (reply == null || !Arrays.equals(reply, p)) {
                throw Expect.violation(rule + "; the peer's reply comes back as a frame (UDP-1)", "frame "
                        + (i + 1) + " carrying " + WireLog.hex(p), reply == null ? "no frame within "
                        + h.target().ioTimeout().toMillis() + " ms" : WireLog.hex(reply));
            }
        }
    }

    @Test
    @Tag("HDR-10")
    @DisplayName("HDR-10 · a header sent one byte per write is accepted")
    void headerOneBytePerWrite(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        VlessConnection c = h.connect();
        c.socket().setTcpNoDelay(true);
        byte[] header = VlessConnection.encode(h.request(h.target().user(), VlessCommand.TCP, echo.address()));
        for (byte b : header) {
            c.write(new byte[] {b});
            Thread.sleep(5);
        }
        c.write(PING);
        expectEcho(h, c, PING);
    }

    @Test
    @Tag("HDR-10")
    @DisplayName("HDR-10 · a header with its payload split into random-sized writes is accepted (3 splits)")
    void headerInRandomChunks(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        Random random = new Random(SPLIT_SEED);
        h.log().note("split seed " + SPLIT_SEED);
        for (int round = 0; round < 3; round++) {
            byte[] header = VlessConnection.encode(h.request(h.target().user(), VlessCommand.TCP, echo.address()));
            byte[] all = VlessConnection.concat(header, PING);
            VlessConnection c = h.connect();
            int at = 0;
            while (at < all.length) {
                int n = Math.min(all.length - at, 1 + random.nextInt(9));
                c.write(Arrays.copyOfRange(all, at, at + n));
                at += n;
                Thread.sleep(3);
            }
            expectEcho(h, c, PING, "HDR-10: a server MUST accept a request header split at any byte over any number"
                    + " of TCP segments or TLS records");
        }
    }

    @Test
    @Tag("HDR-10")
    @DisplayName("HDR-10 · a header split at every field boundary, one field per write, is accepted")
    void headerSplitAtFieldBoundaries(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] header = VlessConnection.encode(h.request(h.target().user(), VlessCommand.TCP, echo.address()));
        VlessConnection c = h.connect();
        for (byte[] field : fields(h.target().profile(), header)) {
            c.write(field);
            Thread.sleep(20);
        }
        c.write(PING);
        expectEcho(h, c, PING, "HDR-10: a server MUST accept a request header split at any byte, field boundaries"
                + " included");
    }

    @Test
    @Tag("HDR-9")
    @Tag("HDR-11")
    @DisplayName("HDR-9 · HDR-11 · bytes after the 18-byte CRUMFURS header in its write are discarded; 0x14 comes")
    void crumfursWithTrailingBytes(Harness h) throws Exception {
        assumeTrue(h.target().profile() == Profile.V1, "NOT APPLICABLE: CRUMFURS exists only in v1");
        byte[] request = VlessConnection.encode(VlessRequest.crumfurs(h.target().user()));
        byte[] trailing = "CRUMFURS input, read and discarded".getBytes(StandardCharsets.US_ASCII);
        VlessConnection c = h.connect();
        c.write(VlessConnection.concat(request, trailing));
        Outcome first = c.await(h.target().ioTimeout());
        if (first.kind() != Outcome.Kind.DATA || first.bytes()[0] != 0x14 || first.bytes().length != 1) {
            throw Expect.violation("HDR-9, HDR-11: a CRUMFURS header is exactly 18 bytes; what follows is CRUMFURS"
                    + " input, read and discarded (CRF-4), and the request is acknowledged (CRF-1)",
                    "exactly one byte, 14", first.toString());
        }
        Expect.silentAndOpen(c, Duration.ofMillis(300), "HDR-11: the trailing bytes are CRUMFURS input, not bad"
                + " input: the channel stays open and sends nothing more");
    }

    /**
     * The header cut into its fields: version, user ID, (v0: addons length,) command, port, address type and, for a
     * domain, its length byte apart from the name.
     */
    static List<byte[]> fields(Profile profile, byte[] header) {
        List<Integer> ends = new ArrayList<>(List.of(1, 17));
        int at = 17;
        if (profile == Profile.V0) {
            ends.add(++at);
        }
        ends.add(++at); // command
        at += 2;
        ends.add(at); // port
        int type = header[at] & 0xff;
        ends.add(++at); // address type
        if (type == 2) {
            ends.add(++at); // the domain's length byte
        }
        ends.add(header.length);
        List<byte[]> out = new ArrayList<>();
        int from = 0;
        for (int end : ends) {
            out.add(Arrays.copyOfRange(header, from, end));
            from = end;
        }
        return out;
    }

    static void expectEcho(Harness h, VlessConnection c, byte[] payload) throws Exception {
        expectEcho(h, c, payload, "TCP-1: bytes are relayed unchanged and in order");
    }

    static void expectEcho(Harness h, VlessConnection c, byte[] payload, String requirement) throws Exception {
        expectEcho(c, h.target().profile() == Profile.V0 ? 2 : 0, payload, requirement);
    }

    /** The echo of a later write on a connection that already had its first response (and v0 header). */
    static void expectLaterEcho(VlessConnection c, byte[] payload, String requirement) throws Exception {
        expectEcho(c, 0, payload, requirement);
    }

    private static void expectEcho(VlessConnection c, int skip, byte[] payload, String requirement)
            throws Exception {
        byte[] got;
        try {
            got = c.readExactly(skip + payload.length);
        } catch (IOException e) {
            throw Expect.violation(requirement, "the echoed payload " + WireLog.hex(payload), e.getMessage());
        }
        byte[] data = Arrays.copyOfRange(got, skip, got.length);
        if (!Arrays.equals(data, payload)) {
            throw Expect.violation(requirement, WireLog.hex(payload), WireLog.hex(data));
        }
    }
}
