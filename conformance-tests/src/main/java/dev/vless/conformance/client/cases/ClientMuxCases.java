// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.cases;

import static dev.vless.conformance.client.cases.Waits.addr;
import static dev.vless.conformance.client.cases.Waits.atApp;
import static dev.vless.conformance.client.cases.Waits.atPeer;
import static dev.vless.conformance.client.cases.Waits.bytes;
import static dev.vless.conformance.client.cases.Waits.label;
import static dev.vless.conformance.client.cases.Waits.labelled;
import static dev.vless.conformance.client.cases.Waits.ms;
import static dev.vless.conformance.client.cases.Waits.requireMux;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.Expect;
import dev.vless.conformance.PreconditionFailed;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.conformance.client.ClientCases;
import dev.vless.conformance.client.ClientHarness;
import dev.vless.conformance.client.ScriptedServer.ClientDatagram;
import dev.vless.conformance.client.ServerConnection;
import dev.vless.conformance.client.ServerScript.Answer;
import dev.vless.conformance.client.SocksApplication;
import dev.vless.spec.SpecRule;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * §23 UDP-MUX, the client's side. Every case starts with one datagram from the application and looks at the client's
 * first UDP request: a client that does not ask for UDP-MUX (CRUMFURS or command 2 first) is NOT_APPLICABLE here.
 */
@ClientCases
@Tag("mux")
public class ClientMuxCases {

    static final String MUX_1 = "MUX-1: a UDP-MUX request is version 1, user ID and command 5, 18 bytes with nothing"
            + " after the command byte";
    static final String MUX_4 = "MUX-4: a client sends no frame before it has read 0x15, and reads bytes that arrive"
            + " with it as frames";
    static final String MUX_5 = "MUX-5: end of stream, a first byte other than 0x15, or no byte within a deadline"
            + " (default 5 s) means the mode is unavailable: the client closes the connection and carries its"
            + " datagrams per remote (command 2 and CRUMFURS)";
    static final String MUX_6 = "MUX-6: a client that found the mode unavailable SHOULD NOT request it from that"
            + " server again for 10 minutes";
    static final String MUX_7 = "MUX-7: on a MUX connection every datagram, both ways, is one frame atyp addr port(2)"
            + " len(2) payload, with exactly the datagram's payload";
    static final String MUX_8 = "MUX-8: a client's frame names the datagram's destination";
    static final String MUX_9 = "MUX-9: a frame of length 0 is a valid empty datagram and lengths of 32768 and above"
            + " are valid; a receiver does not treat the length as signed";
    static final String MUX_11 = "MUX-11: a frame error (an unknown address type, a domain name or source port 0 from"
            + " the server) closes the connection at once";
    static final String MUX_23 = "MUX-23: a client hands a datagram received in a MUX frame to the application"
            + " labelled with the frame's source";
    static final String MUX_24 = "MUX-24: a client SHOULD re-open a closed MUX connection with the back-off of CRF-7"
            + " (1 s, doubling)";

    /** How long the server holds 0x15 in MUX-4: long enough for an early frame to show. */
    private static final Duration HOLD = Duration.ofSeconds(1);
    /** MUX-5's default answer deadline. */
    private static final Duration MUX_DEADLINE = Duration.ofSeconds(5);
    /** A datagram well above 32767 bytes (an unsigned length) and below what loopback UDP carries. */
    private static final int LARGE = 40_000;

    @Test
    @Tag("MUX-1")
    @DisplayName("MUX-1 · the UDP-MUX request is exactly the 18 bytes 01 <user ID> 05")
    public void request(ClientHarness h) throws Exception {
        // A short hold on 0x15: bytes sent right after the request show as early bytes, not as frames.
        h.script().mux(Answer.ACK, Duration.ofMillis(300));
        UdpPeer a = h.udpPeer(0);
        SocksApplication.Udp app = h.udp();
        app.send(a.address(), bytes("MUX-1: the application's first datagram"));
        ServerConnection mux = requireMux(h);
        byte[] expected = ByteBuffer.allocate(18).put((byte) 1).putLong(h.user().getMostSignificantBits())
                .putLong(h.user().getLeastSignificantBits()).put((byte) 5).array();
        byte[] header = mux.header();
        if (!Arrays.equals(header, expected)) {
            throw Expect.violation(MUX_1, WireLog.hex(expected), WireLog.hex(header));
        }
        Waits.answered(h, mux, h.ioTimeout().plusMillis(300));
        byte[] early = mux.earlyBytes();
        if (early.length > 0) {
            throw Expect.violation(MUX_1, "nothing after the command byte until the answer (held 300 ms)",
                    early.length + " more bytes, " + ms(mux.earlyNanos() - mux.headerNanos())
                            + " ms after the request: " + WireLog.hex(early));
        }
    }

    @Test
    @Tag("MUX-4")
    @DisplayName("MUX-4 · no frame before 0x15 (held 1 s), and a frame in the same write as 0x15 reaches the"
            + " application with its source")
    public void noFrameBeforeAnswer(ClientHarness h) throws Exception {
        h.requireFreshClient("MUX-4 looks at a UDP-MUX request the client sends in the case");
        UdpPeer a = h.udpPeer(0);
        UdpPeer p = h.udpPeer(1);
        byte[] fromP = bytes("MUX-4: a frame from P in the same write as 0x15");
        h.script().mux(Answer.ACK, HOLD).afterMuxAck(ServerConnection.umfurs(p.address(), fromP));
        SocksApplication.Udp app = h.udp();
        // Sent at once: the client has it while the server still holds 0x15.
        byte[] toA = bytes("MUX-4: the application's datagram, sent before 0x15");
        app.send(a.address(), toA);
        ServerConnection mux = requireMux(h);
        if (!Waits.answered(h, mux, HOLD.plus(h.ioTimeout()))) {
            throw new PreconditionFailed(null, "the scripted server never answered " + mux.label());
        }
        byte[] early = mux.earlyBytes();
        if (early.length > 0) {
            throw Expect.violation(MUX_4, "no byte after the request until 0x15, which the server held "
                    + HOLD.toMillis() + " ms", early.length + " bytes " + ms(mux.earlyNanos() - mux.headerNanos())
                    + " ms after the request, " + ms(mux.answeredNanos() - mux.earlyNanos())
                    + " ms before 0x15: " + WireLog.hex(early));
        }
        SocksApplication.Udp.Received r = atApp(app, fromP, h.ioTimeout());
        if (r == null) {
            throw Expect.violation(MUX_4, "the frame from " + addr(p.address()) + " that came in the same write as"
                    + " 0x15 (" + WireLog.hex(ServerConnection.umfurs(p.address(), fromP)) + ") handed to the"
                    + " application", "nothing within " + h.ioTimeout().toMillis() + " ms");
        }
        if (!labelled(r, p.address())) {
            throw Expect.violation(MUX_4, "the frame read and handed over labelled " + addr(p.address()),
                    "labelled " + label(r));
        }
        // After 0x15 the held datagram may go out; that it does is CLI-4's concern, recorded here as a fact.
        UdpPeer.Datagram got = atPeer(a, toA, h.ioTimeout());
        h.fact("MUX-4 held datagram", got == null ? "not delivered to the peer within " + h.ioTimeout().toMillis()
                + " ms" : "delivered after 0x15");
    }

    @Test
    @Tag("MUX-5")
    @DisplayName("MUX-5 · end of stream instead of 0x15: the client falls back to CRUMFURS and command 2, and the"
            + " datagram reaches its peer")
    public void fallBackOnClose(ClientHarness h) throws Exception {
        fallBack(h, Answer.CLOSE, "end of stream (the server closed at once)", h.ioTimeout());
    }

    @Test
    @Tag("MUX-5")
    @DisplayName("MUX-5 · a first byte other than 0x15 ('H'): the client closes, falls back, and the datagram reaches"
            + " its peer")
    public void fallBackOnWrongByte(ClientHarness h) throws Exception {
        h.script().wrongByte('H');
        fallBack(h, Answer.WRONG_BYTE, "the first byte 0x48 ('H', as from an HTTP fallback)", h.ioTimeout());
    }

    @Test
    @Tag("MUX-5")
    @DisplayName("MUX-5 · no answer: within the 5 s deadline the client closes, falls back, and the datagram reaches"
            + " its peer")
    public void fallBackOnSilence(ClientHarness h) throws Exception {
        fallBack(h, Answer.NONE, "no byte", MUX_DEADLINE.plus(h.ioTimeout()));
    }

    private static void fallBack(ClientHarness h, Answer answer, String what, Duration within) throws Exception {
        h.requireFreshClient("MUX-5 looks at the client's first UDP-MUX request");
        h.script().mux(answer, Duration.ZERO);
        UdpPeer a = h.udpPeer(0);
        SocksApplication.Udp app = h.udp();
        byte[] payload = bytes("MUX-5: the datagram that must still arrive");
        long sent = System.nanoTime();
        app.send(a.address(), payload);
        ServerConnection mux = requireMux(h);
        UdpPeer.Datagram got = atPeer(a, payload, within);
        List<ServerConnection> all = h.server().connections();
        if (got == null) {
            throw Expect.violation(MUX_5, "after " + what + ", the datagram carried per remote to "
                    + addr(a.address()) + " within " + within.toMillis() + " ms", "it never reached the peer;"
                    + " connections the server saw: " + all);
        }
        long arrived = System.nanoTime();
        ClientDatagram d = h.server().awaitDatagram(x -> Arrays.equals(x.payload(), payload), Duration.ZERO);
        if (d == null || !d.via().is(VlessCommand.UDP)) {
            throw Expect.violation(MUX_5, "the datagram on a command-2 connection",
                    d == null ? "not recorded" : "on " + d.via().label());
        }
        ServerConnection crumfurs = h.server().await(c -> c.is(VlessCommand.CRUMFURS) && c.id() > mux.id(),
                Duration.ZERO);
        if (crumfurs == null) {
            throw Expect.violation(MUX_5, "per remote means command 2 and CRUMFURS (for datagrams from remotes it"
                    + " never sent to)", "no CRUMFURS after " + mux.label() + "; connections: " + all);
        }
        if (answer != Answer.CLOSE && !mux.awaitEnded(h.ioTimeout())) {
            throw Expect.violation(MUX_5, "the client closes " + mux.label() + " after " + what,
                    "still open " + h.ioTimeout().toMillis() + " ms after the datagram arrived per remote");
        }
        h.fact("MUX-5 " + answer.name().toLowerCase() + " fall-back", "the datagram reached the peer "
                + ms(arrived - sent) + " ms after the application sent it, over " + d.via().label()
                + "; CRUMFURS was " + crumfurs.label() + (crumfurs.id() < d.via().id() ? ", before" : ", after")
                + " command 2");
    }

    @Test
    @Tag("MUX-6")
    @DisplayName("MUX-6 · after a fall-back, a second association's datagram brings no new UDP-MUX request")
    public void noNewRequestAfterFallBack(ClientHarness h) throws Exception {
        h.requireFreshClient("MUX-6 looks at the client's first UDP-MUX request");
        h.script().mux(Answer.CLOSE, Duration.ZERO);
        UdpPeer a = h.udpPeer(0);
        SocksApplication.Udp first = h.udp();
        byte[] one = bytes("MUX-6: the first association's datagram");
        first.send(a.address(), one);
        ServerConnection mux = requireMux(h);
        if (atPeer(a, one, h.ioTimeout()) == null) {
            throw Expect.blocked("MUX-5", "after end of stream instead of 0x15, the datagram carried per remote",
                    "it never reached the peer within " + h.ioTimeout().toMillis() + " ms");
        }
        Thread.sleep(2000); // "a few seconds later": the fall-back is not a moment's state
        SocksApplication.Udp second = h.udp();
        byte[] two = bytes("MUX-6: the second association's datagram, 2 s later");
        second.send(a.address(), two);
        UdpPeer.Datagram got = atPeer(a, two, h.ioTimeout());
        Thread.sleep(500); // an attempt made in the background, next to the per-remote datagram
        ServerConnection again = h.server().await(c -> c.is(VlessCommand.UDP_MUX) && c.id() > mux.id(),
                Duration.ZERO);
        if (again != null) {
            throw Expect.violation(MUX_6, "no UDP-MUX request for 10 minutes after " + mux.label() + " was closed"
                    + " without 0x15", "a new one, " + again.label() + ", "
                    + ms(again.acceptedNanos() - mux.acceptedNanos()) + " ms later");
        }
        h.fact("MUX-6 second datagram", got == null ? "did not reach the peer" : "reached the peer per remote");
    }

    @Test
    @Tag("MUX-7")
    @Tag("MUX-8")
    @DisplayName("MUX-7 · MUX-8 · the client's frames name the destination (an IPv4 address as type 1) and carry"
            + " exact payloads (empty, 40 000 bytes); frames from two peers reach the application with their sources")
    public void frames(ClientHarness h) throws Exception {
        UdpPeer a = h.udpPeer(0);
        UdpPeer b = h.udpPeer(1);
        SocksApplication.Udp app = h.udp();
        byte[] toA = bytes("MUX-7: to A");
        app.send(a.address(), toA);
        ServerConnection mux = requireMux(h);
        byte[] empty = new byte[0];
        byte[] large = new byte[LARGE];
        new Random(7).nextBytes(large);
        byte[] toName = bytes("MUX-8: to localhost");
        app.send(a.address(), empty);
        app.send(b.address(), large);
        app.send("localhost", a.address().getPort(), toName);
        expectFrame(h, a.address(), toA, "a datagram to " + addr(a.address()));
        expectFrame(h, a.address(), empty, "an empty datagram to " + addr(a.address()));
        expectFrame(h, b.address(), large, "a " + LARGE + "-byte datagram to " + addr(b.address()));
        ClientDatagram n = h.server().awaitDatagram(d -> Arrays.equals(d.payload(), toName), h.ioTimeout());
        if (n == null) {
            throw Expect.violation(MUX_7, "one frame with the datagram to localhost:" + a.address().getPort(),
                    "none within " + h.ioTimeout().toMillis() + " ms; frames the server took: "
                            + describe(h.server().datagrams()));
        }
        boolean byName = n.addressType() == 2 && n.destinationName().equalsIgnoreCase("localhost");
        boolean resolved = n.addressType() != 2 && n.destination().getAddress().isLoopbackAddress();
        if (n.destination().getPort() != a.address().getPort() || !(byName || resolved)) {
            throw Expect.violation(MUX_8, "a frame to localhost:" + a.address().getPort() + ", as the name (type 2)"
                    + " or a loopback address", describe(List.of(n)));
        }
        h.fact("MUX-8 a datagram to a name", byName ? "sent as the name (address type 2)"
                : "resolved by the client to " + addr(n.destination()) + " (address type " + n.addressType() + ")");
        // The other way: both peers send to the context's external address; the client labels each with its peer.
        InetSocketAddress external = h.server().externalAddress(h.user());
        byte[] fromA = bytes("MUX-7: from A");
        byte[] fromB = new byte[LARGE];
        new Random(8).nextBytes(fromB);
        a.send(external, fromA);
        b.send(external, fromB);
        expectDelivered(h, app, a.address(), fromA, "A's datagram");
        expectDelivered(h, app, b.address(), fromB, "B's " + LARGE + "-byte datagram");
        if (mux.ended()) {
            h.fact("MUX-7 connection", mux.label() + " ended during the case");
        }
    }

    private static void expectFrame(ClientHarness h, InetSocketAddress to, byte[] payload, String what)
            throws InterruptedException {
        ClientDatagram d = h.server().awaitDatagram(x -> x.destination().equals(to)
                && Arrays.equals(x.payload(), payload), h.ioTimeout());
        if (d == null) {
            throw Expect.violation(MUX_7, "one frame with " + what + ", its payload exact",
                    "none within " + h.ioTimeout().toMillis() + " ms; frames the server took: "
                            + describe(h.server().datagrams()));
        }
        if (!d.via().is(VlessCommand.UDP_MUX)) {
            throw Expect.violation(MUX_7, what + " as a frame on the MUX connection", "on " + d.via().label());
        }
        if (d.addressType() != 1) {
            throw Expect.violation(MUX_8, what + " names its IPv4 destination as address type 1",
                    describe(List.of(d)));
        }
    }

    private static void expectDelivered(ClientHarness h, SocksApplication.Udp app, InetSocketAddress from,
            byte[] payload, String what) throws Exception {
        SocksApplication.Udp.Received r = atApp(app, payload, h.ioTimeout());
        if (r == null) {
            throw Expect.violation(MUX_7, what + " (" + payload.length + " B), a frame from the server, handed to"
                    + " the application whole", "nothing with that payload within " + h.ioTimeout().toMillis()
                    + " ms");
        }
        if (!labelled(r, from)) {
            throw Expect.violation(MUX_7, what + " labelled with its source " + addr(from), "labelled " + label(r));
        }
    }

    private static String describe(List<ClientDatagram> ds) {
        List<String> out = new ArrayList<>();
        for (ClientDatagram d : ds) {
            out.add(d.path() + " frame (type " + d.addressType() + ", \"" + d.destinationName() + "\") to "
                    + addr(d.destination()) + " of " + d.payload().length + " B");
        }
        return out.isEmpty() ? "none" : String.join("; ", out);
    }

    @Test
    @Tag("MUX-23")
    @DisplayName("MUX-23 · a frame from a source the client never sent to reaches the application labelled with"
            + " that source")
    public void strangerSource(ClientHarness h) throws Exception {
        UdpPeer a = h.udpPeer(0);
        SocksApplication.Udp app = h.udp();
        byte[] toA = bytes("MUX-23: to A");
        app.send(a.address(), toA);
        ServerConnection mux = requireMux(h);
        if (atPeer(a, toA, h.ioTimeout()) == null) {
            throw Expect.blocked("MUX-7", "the application's datagram as a frame on the MUX connection",
                    "it never reached the peer within " + h.ioTimeout().toMillis() + " ms");
        }
        // A source on another address and a port nobody uses: the client cannot have sent there.
        InetSocketAddress source = new InetSocketAddress(InetAddress.getByName("127.0.0.3"),
                a.address().getPort() == 47_113 ? 47_114 : 47_113);
        byte[] payload = bytes("MUX-23: from a source the client never sent to");
        mux.write(ServerConnection.umfurs(source, payload));
        SocksApplication.Udp.Received r = atApp(app, payload, h.ioTimeout());
        if (r == null) {
            throw Expect.violation(MUX_23, "the frame from " + addr(source) + " handed to the application",
                    "nothing within " + h.ioTimeout().toMillis() + " ms");
        }
        if (!labelled(r, source)) {
            throw Expect.violation(MUX_23, "labelled " + addr(source), "labelled " + label(r));
        }
    }

    @Test
    @Tag("MUX-9")
    @Tag("CLI-4")
    @DisplayName("MUX-9 · CLI-4 · an empty frame from the server reaches the application as an empty datagram, and a 65 535-byte"
            + " one is skipped whole: the frame after it arrives")
    public void emptyAndLargestServerFrames(ClientHarness h) throws Exception {
        UdpPeer a = h.udpPeer(0);
        SocksApplication.Udp app = h.udp();
        byte[] toA = bytes("MUX-9: to A");
        app.send(a.address(), toA);
        ServerConnection mux = requireMux(h);
        if (atPeer(a, toA, h.ioTimeout()) == null) {
            throw Expect.blocked("MUX-7", "the application's datagram as a frame on the MUX connection",
                    "it never reached the peer within " + h.ioTimeout().toMillis() + " ms");
        }
        mux.write(ServerConnection.umfurs(a.address(), new byte[0]));
        SocksApplication.Udp.Received empty = app.receive(h.ioTimeout());
        if (empty == null || empty.payload().length != 0) {
            throw Expect.violation(MUX_9, "an empty datagram labelled " + addr(a.address()), empty == null
                    ? "nothing within " + h.ioTimeout().toMillis() + " ms" : empty.payload().length + " bytes");
        }
        // 65 535 bytes: no UDP datagram to the application holds it; the client reads it as one frame and goes on.
        byte[] after = bytes("MUX-9: the frame after a 65 535-byte one");
        java.io.ByteArrayOutputStream two = new java.io.ByteArrayOutputStream();
        two.writeBytes(ServerConnection.umfurs(a.address(), new byte[65_535]));
        two.writeBytes(ServerConnection.umfurs(a.address(), after));
        mux.write(two.toByteArray());
        SocksApplication.Udp.Received next = app.receive(h.ioTimeout());
        if (next != null && next.payload().length != after.length) {
            throw Expect.violation("CLI-4: a client hands each datagram over whole", "the 65 535-byte datagram"
                    + " dropped (it cannot be handed over whole), then the next one",
                    next.payload().length + " bytes of it handed to the application");
        }
        if (next == null || !java.util.Arrays.equals(next.payload(), after)) {
            throw Expect.violation(MUX_9, "the frame after the 65 535-byte frame, labelled " + addr(a.address()),
                    next == null ? "nothing within " + h.ioTimeout().toMillis() + " ms (the length read as signed,"
                    + " or the connection out of step?)" : WireLog.hex(next.payload()));
        }
    }

    @Test
    @Tag("MUX-11")
    @DisplayName("MUX-11 · a server frame with address type 2 (a domain) closes the MUX connection; nothing reaches the"
            + " application")
    public void domainFromServerIsFrameError(ClientHarness h) throws Exception {
        byte[] bad = {2, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', (byte) 0x9c, 0x41, 0, 3, 'b', 'a', 'd'};
        frameError(h, "a frame with address type 2 (a domain) from the server", bad);
    }

    @Test
    @Tag("MUX-11")
    @DisplayName("MUX-11 · a server frame from source port 0 closes the MUX connection; nothing reaches the application")
    public void portZeroFromServerIsFrameError(ClientHarness h) throws Exception {
        byte[] bad = {1, 127, 0, 0, 2, 0, 0, 0, 3, 'b', 'a', 'd'};
        frameError(h, "a frame from source port 0", bad);
    }

    private static void frameError(ClientHarness h, String what, byte[] bad) throws Exception {
        h.requireFreshClient("MUX-11 makes the client close its UDP-MUX connection");
        UdpPeer a = h.udpPeer(0);
        SocksApplication.Udp app = h.udp();
        byte[] toA = bytes("MUX-11: to A");
        app.send(a.address(), toA);
        ServerConnection mux = requireMux(h);
        if (atPeer(a, toA, h.ioTimeout()) == null) {
            throw Expect.blocked("MUX-7", "the application's datagram as a frame on the MUX connection",
                    "it never reached the peer within " + h.ioTimeout().toMillis() + " ms");
        }
        mux.write(bad);
        boolean closed = mux.awaitEnded(h.ioTimeout());
        SocksApplication.Udp.Received r = app.receive(Duration.ofMillis(300));
        if (r != null) {
            throw Expect.violation(MUX_11, "nothing handed to the application", what + " (" + WireLog.hex(bad)
                    + ") reached it as " + r.payload().length + " B labelled " + label(r));
        }
        if (!closed) {
            throw Expect.violation(MUX_11, "the MUX connection closed at once", "still open "
                    + h.ioTimeout().toMillis() + " ms after " + what + " (" + WireLog.hex(bad) + ")");
        }
    }

    @Test
    @Tag("MUX-24")
    @DisplayName("MUX-24 · a MUX connection the server closes is re-opened after about 1 s, then about 2 s")
    public void reopenWithBackOff(ClientHarness h) throws Exception {
        h.requireFreshClient("MUX-24 closes the client's UDP-MUX connection");
        UdpPeer a = h.udpPeer(0);
        SocksApplication.Udp app = h.udp();
        app.send(a.address(), bytes("MUX-24: the association's datagram"));
        ServerConnection first = requireMux(h);
        if (!Waits.answered(h, first, h.ioTimeout())) {
            throw new PreconditionFailed(null, "the scripted server never answered " + first.label());
        }
        long[] gaps = new long[2];
        ServerConnection closing = first;
        for (int i = 0; i < 2; i++) {
            ServerConnection c = closing;
            Thread.sleep(200); // established for a moment: a close, not a failed open
            long closed = System.nanoTime();
            c.close();
            long expected = 1000L << i;
            ServerConnection next = h.server().await(x -> x.is(VlessCommand.UDP_MUX) && x.id() > c.id(),
                    Duration.ofMillis(expected).plus(h.ioTimeout()));
            if (next == null) {
                throw Expect.violation(MUX_24, "a new UDP-MUX request about " + expected + " ms after the server"
                        + " closed " + c.label(), "none within " + (expected + h.ioTimeout().toMillis()) + " ms");
            }
            gaps[i] = ms(next.acceptedNanos() - closed);
            h.fact("MUX-24 re-open " + (i + 1), gaps[i] + " ms after the close (back-off " + expected + " ms)");
            if (gaps[i] < expected * 8 / 10) {
                throw Expect.violation(MUX_24, "re-open no sooner than about " + expected + " ms (at least "
                        + expected * 8 / 10 + ") after close " + (i + 1), "re-opened after " + gaps[i] + " ms");
            }
            if (!Waits.answered(h, next, h.ioTimeout())) {
                throw new PreconditionFailed(null, "the scripted server never answered " + next.label());
            }
            closing = next;
        }
    }
}
