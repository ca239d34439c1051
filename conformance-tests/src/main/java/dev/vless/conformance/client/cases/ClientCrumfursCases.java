// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.cases;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.conformance.client.ClientHarness;
import dev.vless.conformance.client.ClientCases;
import dev.vless.conformance.client.ServerConnection;
import dev.vless.conformance.client.ServerScript;
import dev.vless.conformance.client.SocksApplication;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** §9 and §10 from the client's side: opening CRUMFURS, its answer, re-opening, and reading UMFURS. */
@ClientCases
@Tag("crumfurs")
public class ClientCrumfursCases {

    @Test
    @Tag("CRF-5")
    @DisplayName("CRF-5 · the client opens CRUMFURS and reads 0x14 before its first command-2 request (0x14 held 1.5 s)")
    public void crumfursBeforeCommand2(ClientHarness h) throws Exception {
        h.requireFreshClient("CRF-5 is about the first command-2 request");
        PerRemote.refuseMux(h);
        h.script().crumfurs(ServerScript.Answer.ACK, Duration.ofMillis(1500));
        UdpPeer peer = h.udpPeer(0).echo();
        SocksApplication.Udp app = h.udp();
        app.send(peer.address(), "first".getBytes(StandardCharsets.US_ASCII));
        Duration wait = h.ioTimeout().plusMillis(1500);
        ServerConnection udp = h.server().await(c -> c.is(VlessCommand.UDP), wait);
        ServerConnection crumfurs = h.server().await(c -> c.is(VlessCommand.CRUMFURS), Duration.ZERO);
        if (udp == null && crumfurs == null) {
            throw new AssertionError("CRF-5: the application's datagram brought neither a CRUMFURS nor a command-2"
                    + " request within " + wait.toMillis() + " ms; connections seen: " + h.server().connections());
        }
        if (udp == null) {
            throw new AssertionError("CRF-5: the client opened CRUMFURS but sent no command-2 request within "
                    + wait.toMillis() + " ms (0x14 was written after 1500 ms)");
        }
        if (crumfurs == null || crumfurs.acceptedNanos() > udp.headerNanos()) {
            throw new AssertionError("CRF-5: the first command-2 request (" + WireLog.hex(udp.header())
                    + ") came with no CRUMFURS opened before it on the server; connections: "
                    + h.server().connections());
        }
        if (crumfurs.answeredNanos() == 0 || udp.headerNanos() < crumfurs.answeredNanos()) {
            long early = crumfurs.answeredNanos() == 0 ? -1
                    : (crumfurs.answeredNanos() - udp.headerNanos()) / 1_000_000;
            throw new AssertionError("CRF-5: the first command-2 request came " + (early < 0 ? "before any 0x14"
                    : early + " ms before 0x14 was written") + " (the server held 0x14 for 1500 ms)");
        }
        h.log().note("CRUMFURS answered, then command 2 " + (udp.headerNanos() - crumfurs.answeredNanos()) / 1_000_000
                + " ms later");
        if (peer.receive(h.ioTimeout()) == null) {
            throw new AssertionError("CRF-5: after 0x14, the application's datagram never reached " + peer.address());
        }
    }

    @Test
    @Tag("CRF-6")
    @DisplayName("CRF-6 · a first byte other than 0x14 on CRUMFURS is a protocol error: the client closes it and sends no command 2")
    public void wrongFirstByte(ClientHarness h) throws Exception {
        h.requireFreshClient("CRF-6 looks at a CRUMFURS the client opens in the case");
        PerRemote.refuseMux(h);
        h.script().crumfurs(ServerScript.Answer.WRONG_BYTE, Duration.ZERO).wrongByte(0x15);
        UdpPeer peer = h.udpPeer(0);
        h.udp().send(peer.address(), "first".getBytes(StandardCharsets.US_ASCII));
        ServerConnection crumfurs = h.server().await(c -> c.is(VlessCommand.CRUMFURS), h.ioTimeout());
        if (crumfurs == null) {
            throw new AssertionError("CRF-5: the client opened no CRUMFURS within " + h.ioTimeout().toMillis()
                    + " ms of the application's datagram; connections: " + h.server().connections());
        }
        boolean closed = crumfurs.awaitEnded(h.ioTimeout());
        ServerConnection udp = h.server().await(c -> c.is(VlessCommand.UDP), Duration.ZERO);
        if (udp != null) {
            throw new AssertionError("CRF-6: after CRUMFURS was answered 15 instead of 14, the client sent a command-2"
                    + " request (" + WireLog.hex(udp.header()) + "): it took the wrong byte for the answer");
        }
        if (!closed) {
            throw new AssertionError("CRF-6: the client kept the CRUMFURS answered 15 open for "
                    + h.ioTimeout().toMillis() + " ms instead of closing it as a protocol error");
        }
        h.log().note("the client closed the CRUMFURS " + (crumfurs.endedNanos() - crumfurs.acceptedNanos()) / 1_000_000
                + " ms after it opened it");
    }

    @Test
    @Tag("CRF-7")
    @DisplayName("CRF-7 · a closed CRUMFURS is re-opened with back-off: about 1 s, then 2 s, then 4 s")
    public void reopenWithBackoff(ClientHarness h) throws Exception {
        h.requireFreshClient("CRF-7 closes the client's CRUMFURS and refuses it for seconds");
        UdpPeer peer = h.udpPeer(0).echo();
        PerRemote.Established e = PerRemote.establish(h, peer);
        // From now on every CRUMFURS is refused at once, so that each re-open fails and the back-off must grow.
        h.script().crumfurs(ServerScript.Answer.CLOSE, Duration.ZERO);
        long closedAt = System.nanoTime();
        e.crumfurs().close();
        List<Long> gaps = new ArrayList<>();
        long previous = closedAt;
        double[] expected = {1.0, 2.0, 4.0};
        for (int i = 0; i < expected.length; i++) {
            long after = previous;
            long budget = (long) (expected[i] * 2000) + h.ioTimeout().toMillis();
            ServerConnection next = h.server().await(c -> c.is(VlessCommand.CRUMFURS) && c.acceptedNanos() > after,
                    Duration.ofMillis(budget));
            if (next == null) {
                if (i == 0) {
                    throw new AssertionError("CRF-7: the client did not re-open its closed CRUMFURS within " + budget
                            + " ms while its application's association stayed open");
                }
                break; // slower than doubling is still back-off
            }
            gaps.add((next.acceptedNanos() - previous) / 1_000_000);
            previous = next.acceptedNanos();
        }
        h.fact("client.crumfursReopenGapsMs", gaps.toString());
        for (int i = 0; i < gaps.size(); i++) {
            long min = (long) (expected[i] * 800);
            if (gaps.get(i) < min) {
                throw new AssertionError(String.format(Locale.ROOT, "CRF-7: re-open %d came %d ms after the previous"
                        + " close or attempt; back-off %.0f s (at least %d ms) expected; all gaps: %s ms", i + 1,
                        gaps.get(i), expected[i], min, gaps));
            }
        }
    }

    @Test
    @Tag("UMF-1")
    @Tag("UMF-5")
    @DisplayName("UMF-1 · UMF-5 · UMFURS two in one write, one a byte per write, one empty, one from IPv6 reach the application whole")
    public void umfursLayout(ClientHarness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        PerRemote.Established e = PerRemote.establish(h, peer);
        h.log().note("UMFURS from remotes the client never sent to, written by the server on CRUMFURS");
        InetSocketAddress a = new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 40001);
        InetSocketAddress b = new InetSocketAddress(InetAddress.getByName("127.0.0.3"), 65535);
        InetSocketAddress c = new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 1);
        InetSocketAddress v6 = new InetSocketAddress(InetAddress.getByName("::1"), 40002);
        byte[] pa = PerRemote.pattern(300, 1);
        byte[] pb = PerRemote.pattern(1200, 2);
        ByteArrayOutputStream two = new ByteArrayOutputStream();
        two.writeBytes(ServerConnection.umfurs(a, pa));
        two.writeBytes(ServerConnection.umfurs(b, pb));
        e.crumfurs().write(two.toByteArray());
        PerRemote.expectDatagram("UMF-1", "the first of two UMFURS in one write", PerRemote.next(h, e.app()), a, pa);
        PerRemote.expectDatagram("UMF-1", "the second of two UMFURS in one write", PerRemote.next(h, e.app()), b, pb);
        byte[] pc = PerRemote.pattern(40, 3);
        e.crumfurs().writeByteByByte(ServerConnection.umfurs(c, pc));
        PerRemote.expectDatagram("UMF-1", "a UMFURS written a byte at a time", PerRemote.next(h, e.app()), c, pc);
        e.crumfurs().write(ServerConnection.umfurs(a, new byte[0]));
        PerRemote.expectDatagram("UMF-5", "an empty UMFURS (length 0)", PerRemote.next(h, e.app()), a, new byte[0]);
        byte[] p6 = PerRemote.pattern(64, 4);
        e.crumfurs().write(ServerConnection.umfurs(v6, p6));
        PerRemote.expectDatagram("UMF-1", "a UMFURS from an IPv6 source (address type 3)", PerRemote.next(h, e.app()),
                v6, p6);
    }

    @Test
    @Tag("UMF-2")
    @DisplayName("UMF-2 · a UMFURS with address type 2 (a domain) is a protocol error: CRUMFURS closed, nothing delivered")
    public void umfursDomainIsError(ClientHarness h) throws Exception {
        byte[] bad = {2, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', (byte) 0x9c, 0x41, 0, 3, 'b', 'a', 'd'};
        protocolError(h, "UMF-2", "a UMFURS with address type 2", bad);
    }

    @Test
    @Tag("UMF-6")
    @DisplayName("UMF-6 · a UMFURS from source port 0 is a protocol error: CRUMFURS closed, nothing delivered")
    public void umfursPortZeroIsError(ClientHarness h) throws Exception {
        byte[] bad = {1, 127, 0, 0, 2, 0, 0, 0, 3, 'b', 'a', 'd'};
        protocolError(h, "UMF-6", "a UMFURS from port 0", bad);
    }

    private static void protocolError(ClientHarness h, String rule, String what, byte[] bad) throws Exception {
        h.requireFreshClient(rule + " makes the client close its CRUMFURS");
        UdpPeer peer = h.udpPeer(0).echo();
        PerRemote.Established e = PerRemote.establish(h, peer);
        e.crumfurs().write(bad);
        boolean closed = e.crumfurs().awaitEnded(h.ioTimeout());
        SocksApplication.Udp.Received r = e.app().receive(Duration.ofMillis(300));
        if (r != null) {
            throw new AssertionError(rule + ": " + what + " (" + WireLog.hex(bad) + ") reached the application as "
                    + r.payload().length + " B labelled " + r.sourceName() + ":" + r.source().getPort());
        }
        if (!closed) {
            throw new AssertionError(rule + ": after " + what + " (" + WireLog.hex(bad) + ") the client kept its"
                    + " CRUMFURS open for " + h.ioTimeout().toMillis() + " ms instead of closing it");
        }
    }
}
