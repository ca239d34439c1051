// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.faulty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.link.ShareLink;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each faulty target does what it claims, checked with plain sockets (not the suite's runner), so that tests of the
 * suite's verdicts can rely on the faults.
 */
@Timeout(60)
class FaultyTargetTest {

    private static final byte[] PING = "ping".getBytes(US_ASCII);
    private static final int IO_TIMEOUT_MS = 3000;

    @Test
    void diesOnFirstUdpReplyCutsTheReplyRefusesConnectionsAndComesBackOnRestart() throws Exception {
        try (FaultyTarget t = FaultyTarget.diesOnFirstUdpReply(); UdpEcho udp = new UdpEcho();
                TcpEcho tcp = new TcpEcho()) {
            assertPlaintextLink(t);
            assertThat(t.user2()).isNotNull();
            assertThat(t.restartCommand()).isNotNull();
            // Until its fault strikes it is an ordinary server, for both users.
            assertTcpEcho(t, t.user(), tcp);
            assertTcpEcho(t, t.user2(), tcp);
            assertCrumfursAcknowledged(t);

            assertUdpReplyCut(t, udp);
            assertThat(t.crashes()).isEqualTo(1);
            assertThat(t.isDown()).isTrue();
            assertThat(t.lastCrashReason()).contains("command-2");
            assertRefused(t);
            assertRefused(t); // and stays down

            restart(t);
            assertThat(t.restarts()).isEqualTo(1);
            assertThat(t.isDown()).isFalse();
            assertTcpEcho(t, t.user(), tcp);
            restart(t); // harmless while it runs
            assertThat(t.restarts()).isEqualTo(1);

            // Up again, it dies again at the next first UDP reply.
            assertUdpReplyCut(t, udp);
            assertThat(t.crashes()).isEqualTo(2);
            assertRefused(t);
            restart(t);
            assertTcpEcho(t, t.user2(), tcp);
        }
    }

    @Test
    void diesOnBadHeaderCrashesOnEachKindOfBadInputAndRestarts() throws Exception {
        try (FaultyTarget t = FaultyTarget.diesOnBadHeader(); TcpEcho tcp = new TcpEcho()) {
            assertPlaintextLink(t);
            assertTcpEcho(t, t.user(), tcp);
            assertTcpEcho(t, t.user2(), tcp);

            byte[] badVersion = header(t.user(), VlessCommand.TCP, tcp.address());
            badVersion[0] = 0x07;
            byte[] unknownUser = header(UUID.randomUUID(), VlessCommand.TCP, tcp.address());
            byte[] truncated = java.util.Arrays.copyOf(header(t.user(), VlessCommand.TCP, tcp.address()), 20);
            byte[][] badInputs = {badVersion, unknownUser, truncated};
            for (int i = 0; i < badInputs.length; i++) {
                try (Socket s = connect(t)) {
                    s.getOutputStream().write(badInputs[i]);
                    if (badInputs[i] == truncated) {
                        s.shutdownOutput(); // the stream ends inside the header (HDR-12)
                    }
                    End end = readToEnd(s);
                    assertThat(end.bytes()).isEmpty();
                    assertThat(end.reset()).as("reset, as by a process that died").isTrue();
                }
                assertThat(t.crashes()).isEqualTo(i + 1);
                assertRefused(t);
                restart(t);
                assertThat(t.restarts()).isEqualTo(i + 1);
                assertTcpEcho(t, t.user(), tcp);
            }
            assertThat(t.lastCrashReason()).contains("HDR-12");
        }
    }

    @Test
    void resetsUdpConnectionsAfterTheFirstFrameAndKeepsServing() throws Exception {
        try (FaultyTarget t = FaultyTarget.resetsUdpConnections(); UdpEcho udp = new UdpEcho();
                TcpEcho tcp = new TcpEcho()) {
            assertPlaintextLink(t);
            assertThat(t.restartCommand()).isNull();
            for (int round = 1; round <= 2; round++) {
                try (Socket s = connect(t)) {
                    OutputStream out = s.getOutputStream();
                    out.write(concat(header(t.user(), VlessCommand.UDP, udp.address()), frame(PING)));
                    assertThat(readExactly(s, 6)).isEqualTo(frame(PING));
                    End end = readToEnd(s);
                    assertThat(end.bytes()).isEmpty();
                    assertThat(end.reset()).isTrue();
                }
                assertThat(t.udpResets()).isEqualTo(round);
                assertThat(t.crashes()).isZero();
                assertTcpEcho(t, t.user(), tcp); // the server keeps running
            }
        }
    }

    @Test
    void refusesLoopbackPeersClosesWithoutAByte() throws Exception {
        try (FaultyTarget t = FaultyTarget.refusesLoopbackPeers(); TcpEcho tcp = new TcpEcho()) {
            assertPlaintextLink(t);
            assertThat(t.restartCommand()).isNull();
            try (Socket s = connect(t)) {
                s.getOutputStream().write(concat(header(t.user(), VlessCommand.TCP, tcp.address()), PING));
                End end = readToEnd(s);
                assertThat(end.bytes()).isEmpty();
                assertThat(end.reset()).isFalse();
                // Refused at once (DST-2), not discarded until the deadline: the header was valid.
                assertThat(end.millis()).isLessThan(HANDSHAKE_MS);
            }
            assertThat(tcp.accepted()).isZero();
            assertCrumfursAcknowledged(t); // the server and the user are fine; only the destination is refused
        }
    }

    @Test
    void wrongUserIdIsClosedWithoutAByteAtTheDeadline() throws Exception {
        try (FaultyTarget t = FaultyTarget.wrongUserId(); TcpEcho tcp = new TcpEcho()) {
            assertPlaintextLink(t);
            assertThat(t.servedUsers()).hasSize(2).doesNotContain(t.user());
            assertThat(t.user2()).isNull();
            try (Socket s = connect(t)) {
                s.getOutputStream().write(concat(header(t.user(), VlessCommand.TCP, tcp.address()), PING));
                End end = readToEnd(s);
                assertThat(end.bytes()).isEmpty();
                assertThat(end.millis()).isBetween(HANDSHAKE_MS - 200, HANDSHAKE_MS + 1500);
            }
            assertThat(tcp.accepted()).isZero();
            assertTcpEcho(t, t.servedUsers().get(0), tcp); // the server works for the IDs it has
        }
    }

    @Test
    void withFallbackAnswersBadInputWithHttp400() throws Exception {
        try (FaultyTarget t = FaultyTarget.withFallback(); TcpEcho tcp = new TcpEcho()) {
            assertPlaintextLink(t);
            try (Socket s = connect(t)) {
                s.getOutputStream().write("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n".getBytes(US_ASCII));
                End end = readToEnd(s);
                assertThat(new String(end.bytes(), US_ASCII)).isEqualTo(FaultyTarget.FALLBACK_RESPONSE);
                assertThat(end.reset()).isFalse();
            }
            try (Socket s = connect(t)) {
                byte[] unknownUser = header(UUID.randomUUID(), VlessCommand.TCP, tcp.address());
                s.getOutputStream().write(unknownUser);
                assertThat(new String(readToEnd(s).bytes(), US_ASCII)).isEqualTo(FaultyTarget.FALLBACK_RESPONSE);
            }
            assertThat(t.fallbackAnswers()).isEqualTo(2);
            assertTcpEcho(t, t.user(), tcp); // valid requests are still served
        }
    }

    @Test
    void crumfursThiefReplacesTheSuitesCrumfursWithinAPeriod() throws Exception {
        try (FaultyTarget t = FaultyTarget.crumfursThief(); TcpEcho tcp = new TcpEcho()) {
            assertPlaintextLink(t);
            assertTcpEcho(t, t.user(), tcp);
            for (int round = 0; round < 3; round++) {
                try (Socket s = connect(t)) {
                    s.getOutputStream().write(header(t.user(), VlessCommand.CRUMFURS, null));
                    assertThat(readExactly(s, 1)).containsExactly(0x14);
                    End end = readToEnd(s);
                    assertThat(end.bytes()).as("no UMFURS, just the close").isEmpty();
                    // The next theft comes within a period (250 ms); the rest is slack for a loaded machine.
                    assertThat(end.millis()).isLessThan(1500);
                }
            }
            assertThat(t.thefts()).isGreaterThanOrEqualTo(3);
            // user2's CRUMFURS is a context of its own: the thief leaves it alone.
            try (Socket s = connect(t)) {
                s.getOutputStream().write(header(t.user2(), VlessCommand.CRUMFURS, null));
                assertThat(readExactly(s, 1)).containsExactly(0x14);
                s.setSoTimeout(1000);
                assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            }
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static final long HANDSHAKE_MS = FaultyTarget.HANDSHAKE_TIMEOUT.toMillis();

    private static void assertPlaintextLink(FaultyTarget t) {
        ShareLink link = ShareLink.parse(t.link());
        assertThat(link.tls()).isFalse();
        assertThat(link.host()).isEqualTo("127.0.0.1");
        assertThat(link.port()).isEqualTo(t.address().getPort());
        assertThat(link.user()).isEqualTo(t.user());
    }

    private static void assertTcpEcho(FaultyTarget t, UUID user, TcpEcho echo) throws IOException {
        try (Socket s = connect(t)) {
            s.getOutputStream().write(concat(header(user, VlessCommand.TCP, echo.address()), PING));
            assertThat(readExactly(s, PING.length)).isEqualTo(PING);
        }
    }

    private static void assertCrumfursAcknowledged(FaultyTarget t) throws IOException {
        try (Socket s = connect(t)) {
            s.getOutputStream().write(header(t.user(), VlessCommand.CRUMFURS, null));
            assertThat(readExactly(s, 1)).containsExactly(0x14);
        }
    }

    /** A command-2 request whose first reply would be the echo: the target dies instead of sending it. */
    private static void assertUdpReplyCut(FaultyTarget t, UdpEcho udp) throws IOException {
        int echoedBefore = udp.echoed();
        try (Socket s = connect(t)) {
            s.getOutputStream().write(concat(header(t.user(), VlessCommand.UDP, udp.address()), frame(PING)));
            End end = readToEnd(s);
            assertThat(end.bytes()).as("the first reply is cut").isEmpty();
            assertThat(end.reset()).as("reset, as by a process that died").isTrue();
        }
        assertThat(udp.echoed()).as("the datagram reached the peer, and the echo came back").isGreaterThan(echoedBefore);
    }

    private static void assertRefused(FaultyTarget t) {
        assertThatThrownBy(() -> {
            try (Socket s = new Socket()) {
                s.connect(t.address(), 1000);
            }
        }).isInstanceOf(ConnectException.class);
    }

    private static void restart(FaultyTarget t) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", t.restartCommand()).redirectErrorStream(true).start();
        assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("restart command finished").isTrue();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("restart command's exit status; output: " + output).isZero();
    }

    private static Socket connect(FaultyTarget t) throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.connect(t.address(), 2000);
        s.setSoTimeout(IO_TIMEOUT_MS);
        return s;
    }

    private static byte[] header(UUID user, VlessCommand command, InetSocketAddress destination) {
        VlessRequest r = command == VlessCommand.CRUMFURS ? VlessRequest.crumfurs(user)
                : VlessRequest.v1(user, command, VlessAddress.of(destination));
        ByteBuf b = Unpooled.buffer(r.encodedLength());
        try {
            VlessClientEncoder.encode(r, b);
            byte[] out = new byte[b.readableBytes()];
            b.readBytes(out);
            return out;
        } finally {
            b.release();
        }
    }

    private static byte[] frame(byte[] payload) {
        byte[] f = new byte[2 + payload.length];
        f[0] = (byte) (payload.length >> 8);
        f[1] = (byte) payload.length;
        System.arraycopy(payload, 0, f, 2, payload.length);
        return f;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static byte[] readExactly(Socket s, int n) throws IOException {
        byte[] out = new byte[n];
        InputStream in = s.getInputStream();
        for (int off = 0; off < n;) {
            int r = in.read(out, off, n - off);
            if (r < 0) {
                fail("closed after " + off + " of " + n + " bytes");
            }
            off += r;
        }
        return out;
    }

    /** What came before the target ended the connection, whether by a reset, and how long after the call. */
    private record End(byte[] bytes, boolean reset, long millis) {
    }

    private static End readToEnd(Socket s) throws IOException {
        long t0 = System.nanoTime();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        InputStream in = s.getInputStream();
        while (true) {
            int n;
            try {
                n = in.read(buf);
            } catch (SocketTimeoutException e) {
                fail("still open after " + IO_TIMEOUT_MS + " ms, having sent " + got.size() + " bytes");
                return null;
            } catch (SocketException e) {
                assertThat(e.getMessage()).containsIgnoringCase("reset");
                return new End(got.toByteArray(), true, (System.nanoTime() - t0) / 1_000_000);
            }
            if (n < 0) {
                return new End(got.toByteArray(), false, (System.nanoTime() - t0) / 1_000_000);
            }
            got.write(buf, 0, n);
        }
    }

    /** A loopback UDP peer that sends every datagram back. */
    private static final class UdpEcho implements AutoCloseable {
        private final DatagramSocket socket;
        private final java.util.concurrent.atomic.AtomicInteger echoed = new java.util.concurrent.atomic.AtomicInteger();

        UdpEcho() throws IOException {
            socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread t = new Thread(() -> {
                byte[] buf = new byte[65535];
                while (!socket.isClosed()) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    try {
                        socket.receive(p);
                        echoed.incrementAndGet(); // before the echo, so a test that saw the echo's effect sees this
                        socket.send(new DatagramPacket(buf, p.getLength(), p.getSocketAddress()));
                    } catch (IOException e) {
                        // closed, or the sender is gone
                    }
                }
            }, "udp-echo");
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return (InetSocketAddress) socket.getLocalSocketAddress();
        }

        int echoed() {
            return echoed.get();
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    /** A loopback TCP peer that sends every byte back and passes on the end of stream. */
    private static final class TcpEcho implements AutoCloseable {
        private final ServerSocket listener;
        private final java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();

        TcpEcho() throws IOException {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread t = new Thread(() -> {
                while (true) {
                    Socket s;
                    try {
                        s = listener.accept();
                    } catch (IOException e) {
                        return;
                    }
                    accepted.incrementAndGet();
                    Thread c = new Thread(() -> {
                        try (s) {
                            s.getInputStream().transferTo(s.getOutputStream());
                            s.shutdownOutput();
                        } catch (IOException e) {
                            // the other side went away
                        }
                    }, "tcp-echo-" + s.getPort());
                    c.setDaemon(true);
                    c.start();
                }
            }, "tcp-echo");
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return (InetSocketAddress) listener.getLocalSocketAddress();
        }

        int accepted() {
            return accepted.get();
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }
}
