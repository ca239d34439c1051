// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v0;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.codec.VlessCommand;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Command 1 end to end: the relay itself, response headers, half-close, unreachable targets. */
class TcpRelayTest {

    /** More than loopback's socket buffers hold on both sides, so the relay has to wait for writability. */
    private static final int LONG = 16 << 20;

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension();

    private static TcpEchoServer echo;

    @BeforeAll
    static void startEcho() throws IOException {
        echo = TcpEchoServer.start();
    }

    @AfterAll
    static void stopEcho() throws IOException {
        echo.close();
        assertThat(echo.errors()).isEmpty();
    }

    @Test
    @DisplayName("TCP-1, HDR-11 · payload written with the header and payload written after it both reach the target")
    void relaysPayloadSentWithTheHeaderAndAfterIt() throws IOException {
        try (TestClient c = server.open(v1(USER, VlessCommand.TCP, echo.address()), ascii("with-header"))) {
            assertThat(c.readAscii(11)).isEqualTo("with-header");
            c.send(ascii("after-header"));
            assertThat(c.readAscii(12)).isEqualTo("after-header");
        }
    }

    @Test
    @DisplayName("RSP-1 · a v1 TCP response is the target's stream with no header in front")
    void v1ResponseHasNoHeader() throws IOException {
        try (TestClient c = server.open(v1(USER, VlessCommand.TCP, echo.address()), ascii("abc"))) {
            c.shutdownOutput();
            assertThat(new String(c.readToEnd(), StandardCharsets.US_ASCII)).isEqualTo("abc");
        }
    }

    @Test
    @DisplayName("RSP-2 · v0 sends 00 00 once, right before the first response byte and not at acceptance")
    void v0SendsResponseHeaderOnceBeforeFirstResponseByte() throws IOException {
        try (TestClient c = server.open(v0(USER, VlessCommand.TCP, echo.address()))) {
            // The echo target speaks only after the client: a header sent at acceptance would show up now.
            c.assertSilentFor(Duration.ofMillis(300));
            c.send(ascii("one"));
            c.expectV0ResponseHeader();
            assertThat(c.readAscii(3)).isEqualTo("one");
            c.send(ascii("two"));
            assertThat(c.readAscii(3)).isEqualTo("two");
            c.shutdownOutput();
            assertThat(c.readToEnd()).as("nothing after the echoed data, no second header").isEmpty();
        }
    }

    @Test
    @DisplayName("TCP-3 · the client's end of stream reaches the target, which can still answer")
    void clientHalfCloseReachesTargetWhichStillAnswers() throws Exception {
        try (TcpEchoServer target = TcpEchoServer.start((s, conn) -> {
            TcpEchoServer.drainAndRecord(s, conn);
            OutputStream out = s.getOutputStream();
            out.write(("got " + conn.received().length).getBytes(StandardCharsets.US_ASCII));
            out.flush();
        });
             TestClient c = server.open(v1(USER, VlessCommand.TCP, target.address()), ascii("hello"))) {
            c.send(ascii(" world"));
            c.shutdownOutput();
            assertThat(target.connection(0).awaitEnd(Duration.ofSeconds(5))).as("target saw end of stream").isTrue();
            assertThat(new String(c.readToEnd(), StandardCharsets.US_ASCII)).isEqualTo("got 11");
            assertThat(target.errors()).isEmpty();
        }
    }

    @Test
    @DisplayName("TCP-3 · the target's end of stream reaches the client, which can still send")
    void targetHalfCloseReachesClientWhichStillSends() throws Exception {
        try (TcpEchoServer target = TcpEchoServer.start((s, conn) -> {
            s.getOutputStream().write(ascii("bye"));
            s.shutdownOutput();
            TcpEchoServer.drainAndRecord(s, conn);
        });
             TestClient c = server.open(v1(USER, VlessCommand.TCP, target.address()))) {
            assertThat(c.readAscii(3)).isEqualTo("bye");
            c.assertEndOfStream();
            c.send(ascii("still here"));
            c.shutdownOutput();
            TcpEchoServer.Connection conn = target.connection(0);
            assertThat(conn.awaitEnd(Duration.ofSeconds(5))).as("target saw end of stream").isTrue();
            assertThat(new String(conn.received(), StandardCharsets.US_ASCII)).isEqualTo("still here");
            assertThat(target.errors()).isEmpty();
        }
    }

    @Test
    @DisplayName("TCP-3 · a client that ends its direction at once still gets an answer larger than the socket buffers")
    void clientThatEndedFirstGetsALongAnswer() throws Exception {
        assertLongAnswerAfterClientEnded(server);
    }

    /** The client ends its direction, then reads after a pause an answer the server cannot write at once (TCP-3). */
    static void assertLongAnswerAfterClientEnded(VlessServerExtension server) throws Exception {
        byte[] answer = new byte[LONG];
        new Random(7).nextBytes(answer);
        try (TcpEchoServer target = TcpEchoServer.start((s, conn) -> {
            TcpEchoServer.drainAndRecord(s, conn);
            s.getOutputStream().write(answer);
            s.shutdownOutput();
        });
             TestClient c = server.open(v1(USER, VlessCommand.TCP, target.address()), ascii("request"))) {
            c.shutdownOutput();
            assertThat(target.connection(0).awaitEnd(Duration.ofSeconds(5))).as("target saw end of stream").isTrue();
            // The server now holds a half-closed connection and more to send than fits: it must wait to write.
            Thread.sleep(300);
            assertThat(c.readExactly(LONG)).isEqualTo(answer);
            c.assertEndOfStream();
            assertThat(target.errors()).isEmpty();
        }
    }

    @Test
    @DisplayName("TCP-3 · a target that ends its direction at once still gets a request larger than the socket buffers")
    void targetThatEndedFirstGetsALongRequest() throws Exception {
        assertLongRequestAfterTargetEnded(server);
    }

    /** The target ends its direction, then reads after a pause a request the server cannot write at once (TCP-3). */
    static void assertLongRequestAfterTargetEnded(VlessServerExtension server) throws Exception {
        byte[] request = new byte[LONG];
        new Random(8).nextBytes(request);
        CountDownLatch readNow = new CountDownLatch(1);
        try (TcpEchoServer target = TcpEchoServer.start((s, conn) -> {
            s.shutdownOutput();
            try {
                readNow.await(); // the relay has to wait to write to a target whose direction has ended
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            TcpEchoServer.drainAndRecord(s, conn);
        });
             TestClient c = server.open(v1(USER, VlessCommand.TCP, target.address()))) {
            c.assertEndOfStream();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    c.socket().getOutputStream().write(request);
                    c.shutdownOutput();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(300);
            readNow.countDown();
            writer.get(10, TimeUnit.SECONDS);
            TcpEchoServer.Connection conn = target.connection(0);
            assertThat(conn.awaitEnd(Duration.ofSeconds(10))).as("target saw end of stream").isTrue();
            assertThat(conn.received()).isEqualTo(request);
            assertThat(target.errors()).isEmpty();
        }
    }

    @Test
    @DisplayName("TCP-1 · 8 MiB each way arrive intact and in order")
    void largeTransferArrivesIntact() throws Exception {
        byte[] data = new byte[8 << 20];
        new Random(42).nextBytes(data);
        try (TestClient c = server.open(v1(USER, VlessCommand.TCP, echo.address()))) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = c.socket().getOutputStream();
                    for (int off = 0; off < data.length; off += 100_000) {
                        out.write(data, off, Math.min(100_000, data.length - off));
                    }
                    out.flush();
                    c.shutdownOutput();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] back = c.readExactly(data.length);
            writer.get(10, TimeUnit.SECONDS);
            assertThat(back).isEqualTo(data);
            c.assertEndOfStream();
        }
    }

    @Test
    @DisplayName("TCP-2 · a target that refuses the connection: no byte, closed")
    void unreachableTargetClosesWithoutAByte() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort(); // closed again at once: nothing listens there any more
        }
        long before = server.stats().tcpRequests();
        try (TestClient c = server.open(v1(USER, VlessCommand.TCP, new InetSocketAddress("127.0.0.1", port)),
                ascii("payload"))) {
            c.assertNoByteAndClosedWithin(Duration.ofSeconds(5));
        }
        assertThat(server.stats().tcpRequests()).isEqualTo(before + 1);
        assertThat(server.stats().badInput()).as("an unreachable target is not bad input").isZero();
    }

    @Test
    @DisplayName("TCP-1 · an IPv6 target (::1) is relayed")
    void relaysToIpv6Target() throws Exception {
        assumeTrue(Loopback.hasIpv6(), "no ::1 on this host");
        try (TcpEchoServer v6 = TcpEchoServer.start("::1", TcpEchoServer::echo);
             TestClient c = server.open(v1(USER, VlessCommand.TCP, v6.address()), ascii("six"))) {
            assertThat(c.readAscii(3)).isEqualTo("six");
        }
    }

    @Test
    @DisplayName("TCP-1 · a target that closes at once after speaking: its data arrives, then end of stream")
    void targetThatClosesAtOnceStillDeliversItsData() throws Exception {
        try (TcpEchoServer target = TcpEchoServer.start((s, conn) -> {
            s.getOutputStream().write(ascii("banner"));
            // handler returns: the socket is closed in full
        });
             TestClient c = server.open(v1(USER, VlessCommand.TCP, target.address()))) {
            assertThat(c.readAscii(6)).isEqualTo("banner");
            c.assertEndOfStream();
        }
    }
}
