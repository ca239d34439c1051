// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.cases;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.ConformanceExtension;
import dev.vless.conformance.TcpPeer;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.conformance.client.ClientCases;
import dev.vless.conformance.client.ClientHarness;
import dev.vless.conformance.client.ServerConnection;
import dev.vless.spec.Profile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** §3–§5 from the client's side: the request headers a client writes, byte for byte. */
@ClientCases
@Tag("header")
public class ClientHeaderCases {

    @Test
    @Tag("VER-1")
    @Tag("HDR-1")
    @Tag("HDR-2")
    @Tag("ADR-1")
    @DisplayName("VER-1 · HDR-1 · ADR-1 · a CONNECT to an IPv4 address is 01, user ID, 01, port, 01, the address (v0: HDR-2)")
    public void tcpToIpv4(ClientHarness h) throws Exception {
        TcpPeer peer = h.tcpPeer(true);
        String host = peer.address().getAddress().getHostAddress();
        ServerConnection c = connectAndCapture(h, host, peer.address().getPort());
        expect(h, c, VlessCommand.TCP, address(1, peer.address().getAddress().getAddress()), peer.address().getPort(),
                "ADR-1");
    }

    @Test
    @Tag("HDR-1")
    @Tag("HDR-2")
    @Tag("ADR-1")
    @DisplayName("HDR-1 · ADR-1 · a CONNECT to a name goes as address type 2 with the name's length and bytes")
    public void tcpToDomain(ClientHarness h) throws Exception {
        TcpPeer peer = h.tcpPeer(true);
        if (!peer.address().getAddress().isLoopbackAddress()) {
            throw new TestAbortedException(ConformanceExtension.NOT_APPLICABLE + "the peers are not on loopback, and"
                    + " only \"localhost\" is sure to name them");
        }
        ServerConnection c = connectAndCapture(h, "localhost", peer.address().getPort());
        byte[] name = "localhost".getBytes(StandardCharsets.US_ASCII);
        byte[] a = new byte[2 + name.length];
        a[0] = 2;
        a[1] = (byte) name.length;
        System.arraycopy(name, 0, a, 2, name.length);
        expect(h, c, VlessCommand.TCP, a, peer.address().getPort(), "ADR-1");
    }

    @Test
    @Tag("HDR-1")
    @Tag("HDR-2")
    @Tag("ADR-1")
    @DisplayName("HDR-1 · ADR-1 · a CONNECT to an IPv6 address goes as address type 3 with 16 bytes")
    public void tcpToIpv6(ClientHarness h) throws Exception {
        InetAddress v6 = InetAddress.getByName("::1");
        TcpPeer peer;
        try {
            peer = h.track(new TcpPeer(v6, h.log(), true));
        } catch (IOException e) {
            throw new TestAbortedException(ConformanceExtension.NOT_APPLICABLE + "this machine has no ::1 ("
                    + e.getMessage() + ")");
        }
        ServerConnection c = connectAndCapture(h, "::1", peer.address().getPort());
        expect(h, c, VlessCommand.TCP, address(3, v6.getAddress()), peer.address().getPort(), "ADR-1");
    }

    @Test
    @Tag("HDR-9")
    @Tag("HDR-1")
    @Tag("HDR-2")
    @DisplayName("HDR-9 · HDR-1 · CRUMFURS is exactly 01, user ID, 04; command 2 is 01, user ID, 02, port, 01, the address")
    public void udpHeaders(ClientHarness h) throws Exception {
        PerRemote.refuseMux(h);
        UdpPeer peer = h.udpPeer(0).echo();
        h.udp().send(peer.address(), "header".getBytes(StandardCharsets.US_ASCII));
        ServerConnection udp = h.server().await(c -> c.is(VlessCommand.UDP), h.ioTimeout().plusSeconds(1));
        if (udp == null) {
            throw new AssertionError("HDR-1: no command-2 request within " + (h.ioTimeout().toMillis() + 1000)
                    + " ms of the application's datagram; connections seen: " + h.server().connections());
        }
        expect(h, udp, VlessCommand.UDP, address(1, peer.address().getAddress().getAddress()), peer.address().getPort(),
                null);
        if (h.profile() == Profile.V0) {
            return;
        }
        ServerConnection crumfurs = h.server().await(c -> c.is(VlessCommand.CRUMFURS), java.time.Duration.ZERO);
        if (crumfurs == null) {
            throw new AssertionError("HDR-9: the client sent command 2 without a CRUMFURS request (CRF-5 says whether"
                    + " that is allowed; here the header cannot be checked); connections: "
                    + h.server().connections());
        }
        byte[] want = ByteBuffer.allocate(18).put((byte) 1).put(uuid(h.user())).put((byte) 4).array();
        if (!Arrays.equals(crumfurs.header(), want)) {
            throw new AssertionError("HDR-9: the CRUMFURS request is " + WireLog.hex(crumfurs.header())
                    + ", expected the 18 bytes " + WireLog.hex(want));
        }
    }

    /** Sends a CONNECT through the client and returns the server's record of the command-1 request. */
    private static ServerConnection connectAndCapture(ClientHarness h, String host, int port) throws Exception {
        long since = System.nanoTime();
        Socket s = h.track(h.app().connect(host, port));
        // Some clients hold the request until the application sends: give them a byte.
        s.getOutputStream().write('x');
        // Connections from this CONNECT on: a CRUMFURS or UDP-MUX connection may be open from earlier cases.
        Predicate<ServerConnection> tcp = c -> c.acceptedNanos() >= since
                && (c.header() != null || c.headerError() != null);
        ServerConnection c = h.server().await(tcp, h.ioTimeout());
        if (c == null) {
            throw new AssertionError("HDR-1: no request reached the server within " + h.ioTimeout().toMillis()
                    + " ms of a CONNECT to " + host + ":" + port + "; connections seen: " + h.server().connections());
        }
        return c;
    }

    /** Fails unless {@code c}'s header is exactly what the profile's layout gives for the command and address. */
    private static void expect(ClientHarness h, ServerConnection c, VlessCommand command, byte[] address, int port,
            String addressRule) {
        boolean v0 = h.profile() == Profile.V0;
        String rule = v0 ? "HDR-2" : "HDR-1";
        byte[] got = c.header();
        if (c.headerError() != null) {
            throw new AssertionError(rule + ": the request is no valid header (" + c.headerError() + "): "
                    + WireLog.hex(got == null ? new byte[0] : got));
        }
        ByteArrayOutputStream want = new ByteArrayOutputStream();
        want.write(v0 ? 0 : 1);
        want.writeBytes(uuid(h.user()));
        if (v0) {
            // v0 allows addons (HDR-2): take the client's length and bytes, check the rest around them.
            int n = got.length > 17 ? got[17] & 0xff : 0;
            want.write(n);
            if (got.length >= 18 + n) {
                want.write(got, 18, n);
            }
        }
        want.write(command.byteValue());
        want.write(port >> 8);
        want.write(port);
        want.writeBytes(address);
        byte[] w = want.toByteArray();
        if (got[0] != w[0]) {
            throw new AssertionError("VER-1: the request starts with version " + String.format("%02x", got[0])
                    + ", expected " + String.format("%02x", w[0]) + " for profile " + h.profile() + ": "
                    + WireLog.hex(got));
        }
        if (!Arrays.equals(got, w)) {
            int prefix = w.length - address.length;
            boolean sameUpToAddress = got.length >= prefix
                    && Arrays.equals(Arrays.copyOf(got, prefix), Arrays.copyOf(w, prefix));
            throw new AssertionError(sameUpToAddress ? (addressRule == null ? rule : addressRule) + ": the address is sent as "
                    + WireLog.hex(Arrays.copyOfRange(got, prefix, got.length)) + ", expected " + WireLog.hex(address)
                    + " (whole header " + WireLog.hex(got) + ")"
                    : rule + ": the request header is " + WireLog.hex(got) + ", expected " + WireLog.hex(w));
        }
        h.log().note("the header is as the layout says: " + WireLog.hex(got));
    }

    private static byte[] address(int type, byte[] ip) {
        byte[] a = new byte[1 + ip.length];
        a[0] = (byte) type;
        System.arraycopy(ip, 0, a, 1, ip.length);
        return a;
    }

    static byte[] uuid(UUID u) {
        return ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits())
                .array();
    }
}
