// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import dev.vless.conformance.Capability;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.Outcome;
import dev.vless.conformance.Requires;
import dev.vless.conformance.TcpPeer;
import dev.vless.conformance.VlessConnection;
import dev.vless.conformance.WireLog;
import dev.vless.spec.Profile;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** §7 TCP relay, and the v0 response header of §6 as several response writes meet it. */
@ConformanceCases
@Tag("relay")
class TcpRelayCases {

    private static final byte[] REQUEST = "GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] REPLY = "HTTP/1.0 200 OK\r\n\r\nhello".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] LATER = "still flowing".getBytes(StandardCharsets.US_ASCII);
    private static final int MIB = 1 << 20;
    private static final int CHUNK = 64 * 1024;
    /** More than loopback's socket buffers hold between the server and the client. */
    private static final int LONG_REPLY = 16 * MIB;
    /** How long the client leaves the reply unread: the server's buffers towards it fill meanwhile. */
    private static final Duration READ_PAUSE = Duration.ofMillis(300);
    /** Time for 16 MiB on top of the I/O timeout: a slow but correct server is not a fault. */
    private static final Duration LONG_ALLOWANCE = Duration.ofSeconds(15);

    @Test
    @Tag("TCP-1")
    @DisplayName("TCP-1 · 1 MiB each way is relayed intact and in order")
    void largeTransfer(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] data = new byte[MIB];
        new Random(7).nextBytes(data);
        VlessConnection c = h.tcp(echo.address(), new byte[0]);
        // Write while reading: the echo comes back as it goes, and a writer that waited for nothing would fill every
        // buffer on the way and stall.
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                for (int at = 0; at < data.length; at += CHUNK) {
                    c.write(Arrays.copyOfRange(data, at, Math.min(data.length, at + CHUNK)));
                }
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        });
        int skip = h.target().profile() == Profile.V0 ? 2 : 0;
        Duration time = h.target().ioTimeout().multipliedBy(5);
        byte[] got;
        try {
            got = Arrays.copyOfRange(c.readExactly(skip + data.length, time), skip, skip + data.length);
        } catch (IOException e) {
            throw Expect.violation("TCP-1: the server relays bytes in both directions unchanged and in order",
                    "the 1 MiB echoed within " + time.toMillis() + " ms", e.getMessage());
        }
        writer.join();
        TcpPeer.Accepted at = echo.accepted(h.target().ioTimeout());
        byte[] atPeer = at == null ? new byte[0] : at.bytes();
        int upstream = Arrays.mismatch(atPeer, data);
        if (upstream >= 0) {
            throw Expect.violation("TCP-1: client to target, unchanged and in order",
                    "the peer receives the 1 MiB sent", "it received " + atPeer.length + " B, first difference at"
                            + " offset " + upstream);
        }
        int downstream = Arrays.mismatch(got, data);
        if (downstream >= 0) {
            throw Expect.violation("TCP-1: target to client, unchanged and in order",
                    "the 1 MiB the peer echoed", "first difference at offset " + downstream);
        }
    }

    @Test
    @Tag("TCP-2")
    @DisplayName("TCP-2 · a target that refuses the connection (a closed port) gets the client closed, no byte")
    void unreachableTarget(Harness h) throws Exception {
        int port;
        // A port that was just free on the peer address: nothing listens there, so the connect is refused.
        try (ServerSocket probe = new ServerSocket(0, 1, h.target().peer(0))) {
            port = probe.getLocalPort();
        }
        InetSocketAddress closed = new InetSocketAddress(h.target().peer(0), port);
        h.log().note("nothing listens on " + closed);
        VlessConnection c = h.tcp(closed, REQUEST);
        Expect.noByteThenClose(c, "TCP-2: a server that cannot reach the target MUST close the client connection"
                + " without sending a byte");
    }

    @Test
    @Tag("TCP-2")
    @Tag("NAT-7")
    @DisplayName("TCP-2 · NAT-7 · a domain that does not resolve (.invalid) gets the client closed, no byte")
    void unresolvableTarget(Harness h) throws Exception {
        // RFC 6761 reserves .invalid: no resolver may answer it.
        VlessConnection c = h.tcp(InetSocketAddress.createUnresolved("no-such-host.invalid", 80), REQUEST);
        // A slow resolver is no fault: allow its time on top of the usual close allowance.
        Outcome o = c.await(h.target().closeAllowance().plus(h.target().ioTimeout()));
        if (o.kind() == Outcome.Kind.DATA || o.kind() == Outcome.Kind.STILL_OPEN) {
            throw Expect.violation("TCP-2, NAT-7: if resolution fails the server closes without sending a byte",
                    "no byte, then close", o.toString());
        }
    }

    @Test
    @Tag("TCP-3")
    @Requires(Capability.PLAINTEXT_HALF_CLOSE)
    @DisplayName("TCP-3 · the client ends first: the target sees the end, and its later reply still arrives")
    void clientEndsFirst(Harness h) throws Exception {
        Duration io = h.target().ioTimeout();
        TcpPeer peer = h.tcpScripted();
        VlessConnection c = h.tcp(peer.address(), REQUEST);
        TcpPeer.Accepted a = requestThenClientEnd(peer, c, io);
        a.send(REPLY);
        int skip = h.target().profile() == Profile.V0 ? 2 : 0;
        byte[] got;
        try {
            got = c.readExactly(skip + REPLY.length);
        } catch (IOException e) {
            throw Expect.violation("TCP-3: the target's direction stays open after the client's end",
                    "the reply " + WireLog.hex(REPLY), e.getMessage());
        }
        byte[] data = Arrays.copyOfRange(got, skip, got.length);
        if (!Arrays.equals(data, REPLY)) {
            throw Expect.violation("TCP-3: the target's direction stays open after the client's end",
                    WireLog.hex(REPLY), WireLog.hex(data));
        }
        a.shutdownOutput();
        expectClosed(c, io);
    }

    @Test
    @Tag("TCP-3")
    @Requires(Capability.PLAINTEXT_HALF_CLOSE)
    @DisplayName("TCP-3 · the target ends first: the client sees the end, and its own direction still works")
    void targetEndsFirst(Harness h) throws Exception {
        Duration io = h.target().ioTimeout();
        TcpPeer peer = h.tcpScripted();
        VlessConnection c = h.tcp(peer.address(), REQUEST);
        TcpPeer.Accepted a = accepted(peer, io);
        if (!a.awaitBytes(REQUEST.length, io)) {
            throw Expect.violation("TCP-1: the request reaches the target", WireLog.hex(REQUEST),
                    WireLog.hex(a.bytes()));
        }
        a.send(REPLY);
        a.shutdownOutput();
        int skip = h.target().profile() == Profile.V0 ? 2 : 0;
        byte[] got = c.readExactly(skip + REPLY.length);
        if (!Arrays.equals(Arrays.copyOfRange(got, skip, got.length), REPLY)) {
            throw Expect.violation("TCP-1: the reply reaches the client unchanged", WireLog.hex(REPLY),
                    WireLog.hex(got));
        }
        Outcome end = c.await(io);
        if (end.kind() != Outcome.Kind.CLOSED) {
            throw Expect.violation("TCP-3: the server passes the target's end of stream on to the client",
                    "EOF after the reply", end.toString());
        }
        try {
            c.write(LATER);
        } catch (IOException e) {
            throw Expect.violation("TCP-3: the client's direction stays open after the target's end",
                    "the write succeeds", e.toString());
        }
        if (!a.awaitBytes(REQUEST.length + LATER.length, io)) {
            throw Expect.violation("TCP-3: the client's direction stays open after the target's end",
                    "the target receives " + WireLog.hex(LATER) + " after its own end",
                    "it has " + WireLog.hex(a.bytes()));
        }
        c.shutdownOutput();
        if (!a.awaitEnded(io)) {
            throw Expect.violation("TCP-3: the client's end is passed on too", "the target sees EOF", "it did not");
        }
    }

    @Test
    @Tag("TCP-3")
    @Requires(Capability.PLAINTEXT_HALF_CLOSE)
    @DisplayName("TCP-3 · the client ends first, then the target sends 16 MiB the client reads after a pause: all of it"
            + " arrives")
    void clientEndsFirstThenLongReply(Harness h) throws Exception {
        // HTTP/1.0 style: request, end of stream, then a reply larger than every buffer on the way, so the server must
        // wait to write to a connection whose client direction has ended. Netty 4.2.18's epoll transport fails that
        // wait unless worked around, and the reply is cut off.
        Duration io = h.target().ioTimeout();
        TcpPeer peer = h.tcpScripted();
        VlessConnection c = h.tcp(peer.address(), REQUEST);
        TcpPeer.Accepted a = requestThenClientEnd(peer, c, io);
        byte[] reply = new byte[LONG_REPLY];
        new Random(11).nextBytes(reply);
        h.log().note("the peer sends " + LONG_REPLY + " B and ends; the client reads after "
                + READ_PAUSE.toMillis() + " ms (the bytes themselves are left out of this log)");
        h.log().quiet(true);
        byte[] got;
        Duration time = io.plus(LONG_ALLOWANCE);
        try {
            CompletableFuture.runAsync(() -> {
                try {
                    a.send(reply);
                    a.shutdownOutput();
                } catch (IOException e) {
                    // a server that cut the reply off: the client sees the short stream
                }
            });
            Thread.sleep(READ_PAUSE.toMillis());
            int skip = h.target().profile() == Profile.V0 ? 2 : 0;
            got = Arrays.copyOfRange(c.readExactly(skip + reply.length, time), skip, skip + reply.length);
        } catch (IOException e) {
            throw Expect.violation("TCP-3: the target's direction stays open after the client's end, however much"
                    + " it carries", "the whole " + LONG_REPLY + " B reply within " + time.toMillis() + " ms",
                    e.getMessage());
        } finally {
            h.log().quiet(false);
        }
        int differs = Arrays.mismatch(got, reply);
        if (differs >= 0) {
            throw Expect.violation("TCP-1: target to client, unchanged and in order", "the peer's " + LONG_REPLY
                    + " B", "first difference at offset " + differs);
        }
        expectClosed(c, io);
    }

    @Test
    @Tag("RSP-2")
    @DisplayName("RSP-2 · a v0 response header comes exactly once, even when the target answers in several writes")
    void v0HeaderOnceOverSeveralWrites(Harness h) throws Exception {
        Duration io = h.target().ioTimeout();
        TcpPeer peer = h.tcpScripted();
        VlessConnection c = h.tcp(peer.address(), REQUEST);
        TcpPeer.Accepted a = accepted(peer, io);
        if (!a.awaitBytes(REQUEST.length, io)) {
            throw Expect.violation("TCP-1: the request reaches the target", WireLog.hex(REQUEST),
                    WireLog.hex(a.bytes()));
        }
        String requirement = "RSP-2: a v0 server sends 00 00 once, immediately before the first byte of response"
                + " data";
        byte[][] parts = {"first".getBytes(StandardCharsets.US_ASCII), "second".getBytes(StandardCharsets.US_ASCII),
                "third".getBytes(StandardCharsets.US_ASCII)};
        for (int i = 0; i < parts.length; i++) {
            // Each part is read before the next is sent, so each is a response write of its own at the server.
            a.send(parts[i]);
            byte[] expected = i == 0 ? VlessConnection.concat(new byte[] {0, 0}, parts[i]) : parts[i];
            byte[] got;
            try {
                got = c.readExactly(expected.length);
            } catch (IOException e) {
                throw Expect.violation(requirement, WireLog.hex(expected), e.getMessage());
            }
            if (!Arrays.equals(got, expected)) {
                throw Expect.violation(requirement, "response write " + (i + 1) + " as " + WireLog.hex(expected),
                        WireLog.hex(got));
            }
        }
        Outcome after = c.await(Duration.ofMillis(200));
        if (after.kind() == Outcome.Kind.DATA) {
            throw Expect.violation(requirement, "nothing after the three parts", after.toString());
        }
    }

    /** The request reaches the target, then the client ends its direction and the target sees that end. */
    private static TcpPeer.Accepted requestThenClientEnd(TcpPeer peer, VlessConnection c, Duration io)
            throws IOException, InterruptedException {
        TcpPeer.Accepted a = accepted(peer, io);
        if (!a.awaitBytes(REQUEST.length, io)) {
            throw Expect.violation("TCP-1: the request reaches the target", WireLog.hex(REQUEST),
                    WireLog.hex(a.bytes()));
        }
        c.shutdownOutput();
        if (!a.awaitEnded(io)) {
            throw Expect.violation("TCP-3: the server passes the client's end of stream on to the target",
                    "the target sees EOF within " + io.toMillis() + " ms", "it did not");
        }
        return a;
    }

    /** After both directions have ended, the client sees the connection close. */
    private static void expectClosed(VlessConnection c, Duration io) throws IOException {
        Outcome end = c.await(io);
        if (end.kind() != Outcome.Kind.CLOSED) {
            throw Expect.violation("TCP-3: the target's end of stream is passed on, and the connection closes once"
                    + " both directions have ended", "EOF", end.toString());
        }
    }

    private static TcpPeer.Accepted accepted(TcpPeer peer, Duration io) throws InterruptedException {
        TcpPeer.Accepted a = peer.accepted(io);
        if (a == null) {
            throw Expect.violation("TCP-1: for command 1 the server connects to the target",
                    "a connection at " + peer.address() + " within " + io.toMillis() + " ms", "none");
        }
        return a;
    }

    @Test
    @Tag("TCP-4")
    @Requires(Capability.LOOPBACK_TARGET)
    @DisplayName("TCP-4 · both sockets of a TCP relay, the client's and the target's, keep alive with an idle time of 60 s or less")
    void keepaliveOnBothSockets(Harness h) throws Exception {
        String unavailable = ProcNetTcp.unavailableReason();
        if (unavailable != null) {
            throw Expect.notObservable("keepalive shows only in the first probe, 60 s or more away, or in the kernel's"
                    + " socket table, and " + unavailable);
        }
        TcpPeer echo = h.tcpEcho();
        VlessConnection c = h.tcp(echo.address(), REQUEST);
        int skip = h.target().profile() == Profile.V0 ? 2 : 0;
        c.readExactly(skip + REQUEST.length, h.target().ioTimeout());
        TcpPeer.Accepted out = echo.accepted(h.target().ioTimeout());
        if (out == null) {
            throw Expect.blocked("TCP-1", "the relay's connection to the peer", "none accepted");
        }
        Thread.sleep(200); // the echo's ACKs land, so that no retransmit timer stands in for the keepalive timer
        // The target's end of each connection: local and remote as the target sees them.
        InetSocketAddress clientSide = (InetSocketAddress) c.socket().getLocalSocketAddress();
        String client = keepalive(h, "the client's connection", h.target().address(), clientSide);
        String outbound = keepalive(h, "the connection to the destination", out.remote(), echo.address());
        if (client == null && outbound == null) {
            throw Expect.notObservable("neither of the target's sockets is in this machine's socket table (is the"
                    + " target in another network namespace, a container?)");
        }
        String bad = java.util.stream.Stream.of(client, outbound).filter(x -> x != null && !x.startsWith("ok"))
                .reduce((x, y) -> x + "; " + y).orElse(null);
        if (bad != null) {
            throw Expect.violation("TCP-4: both ends SHOULD enable TCP keepalive with an idle time of 60 s or less",
                    "a keepalive timer due within 60 s on both of the target's sockets", bad);
        }
    }

    /**
     * What the kernel says of the target's socket {@code local} → {@code remote}: {@code "ok: ..."}, a finding, or
     * {@code null} when the socket is not in the table.
     */
    private static String keepalive(Harness h, String which, InetSocketAddress local, InetSocketAddress remote)
            throws IOException {
        ProcNetTcp.Timer t = ProcNetTcp.timerOf(local, remote);
        if (t == null) {
            h.log().note(which + " (" + local + " → " + remote + "): not in /proc/net/tcp");
            return null;
        }
        h.log().note(which + " (" + local + " → " + remote + "): timer " + t.timer() + ", due in " + t.whenMs()
                + " ms");
        String problem = t.keepaliveProblem();
        if (problem != null) {
            return which + ": " + problem;
        }
        return "ok: " + which + " probes within " + t.whenMs() / 1000 + " s";
    }
}
