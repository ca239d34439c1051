// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.client.testing.Rig;
import dev.vless.client.testing.Socks5;
import dev.vless.client.testing.TcpEchoServer;
import dev.vless.codec.VlessVersion;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** SOCKS5 CONNECT through the client and an in-process reference server to TCP echo servers on loopback. */
class TcpConnectTest {

    /** More than loopback's socket buffers hold on every hop, so each relay has to wait for writability. */
    private static final int LONG = 16 << 20;

    @Test
    void echoesThroughPlaintextServer() throws Exception {
        try (Rig rig = Rig.plaintext(); TcpEchoServer echo = TcpEchoServer.bind("127.0.0.2")) {
            assertEchoes(rig, "127.0.0.2", echo.address().getPort());
            assertThat(rig.client.stats().tcpTunnels()).isEqualTo(1);
            assertThat(rig.server.stats().tcpRequests()).isEqualTo(1);
        }
    }

    @Test
    void echoesThroughTlsServerWithPinnedCertificate() throws Exception {
        try (Rig rig = Rig.tls(); TcpEchoServer echo = TcpEchoServer.bind("127.0.0.2")) {
            assertThat(rig.client.config().tls().mode()).isEqualTo(UpstreamTls.Mode.PINNED);
            assertEchoes(rig, "127.0.0.2", echo.address().getPort());
        }
    }

    @Test
    void reachesDomainTarget() throws Exception {
        try (Rig rig = Rig.plaintext(); TcpEchoServer echo = TcpEchoServer.bind("127.0.0.1")) {
            assertEchoes(rig, "localhost", echo.address().getPort());
        }
    }

    @Test
    void reachesIpv6Target() throws Exception {
        try (Rig rig = Rig.plaintext(); TcpEchoServer echo = TcpEchoServer.bind("::1")) {
            assertEchoes(rig, "::1", echo.address().getPort());
        }
    }

    @Test
    void speaksV0AndSkipsTheResponseHeader() throws Exception {
        try (Rig rig = Rig.of(false, s -> { }, c -> c.version(VlessVersion.V0));
                TcpEchoServer echo = TcpEchoServer.bind("127.0.0.2")) {
            assertEchoes(rig, "127.0.0.2", echo.address().getPort());
        }
    }

    @Test
    void relaysLargeTransfersBothWays() throws Exception {
        try (Rig rig = Rig.tls(); TcpEchoServer echo = TcpEchoServer.bind("127.0.0.2");
                Socket s = Socks5.connect(rig.socks(), "127.0.0.2", echo.address().getPort())) {
            byte[] data = new byte[4 << 20];
            new Random(42).nextBytes(data);
            Thread writer = new Thread(() -> {
                try {
                    s.getOutputStream().write(data);
                    s.shutdownOutput();
                } catch (Exception e) {
                    // the reader sees the short stream
                }
            });
            writer.start();
            s.setSoTimeout(20_000);
            byte[] back = Socks5.readExactly(s.getInputStream(), data.length);
            writer.join();
            assertThat(back).isEqualTo(data);
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo(TcpEchoServer.BYE);
        }
    }

    /**
     * An application that sends its request and ends its direction at once (HTTP/1.0 style) reads an answer larger
     * than the socket buffers, after a pause: the client's half-closed SOCKS connection has to wait to write.
     */
    @Test
    void applicationThatEndedFirstGetsALongAnswer() throws Exception {
        byte[] answer = new byte[LONG];
        new Random(7).nextBytes(answer);
        try (Rig rig = Rig.plaintext(); ServerSocket target = new ServerSocket(0, 1,
                java.net.InetAddress.getByName("127.0.0.2"))) {
            Thread t = new Thread(() -> {
                try (Socket c = target.accept()) {
                    c.getInputStream().readAllBytes();
                    c.getOutputStream().write(answer);
                } catch (Exception e) {
                    // the test sees the short answer
                }
            });
            t.setDaemon(true);
            t.start();
            try (Socket s = Socks5.connect(rig.socks(), "127.0.0.2", target.getLocalPort())) {
                s.getOutputStream().write("request".getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                Thread.sleep(500);
                s.setSoTimeout(20_000);
                assertThat(Socks5.readExactly(s.getInputStream(), LONG)).isEqualTo(answer);
                assertThat(s.getInputStream().read()).isEqualTo(-1);
            }
        }
    }

    /**
     * A target that ends its direction at once and reads only after a pause gets the whole of a request larger than
     * the socket buffers: the client's half-closed connection to the server has to wait to write.
     */
    @Test
    void targetThatEndedFirstGetsALongRequest() throws Exception {
        byte[] request = new byte[LONG];
        new Random(8).nextBytes(request);
        CompletableFuture<byte[]> received = new CompletableFuture<>();
        try (Rig rig = Rig.plaintext(); ServerSocket target = new ServerSocket(0, 1,
                java.net.InetAddress.getByName("127.0.0.2"))) {
            Thread t = new Thread(() -> {
                try (Socket c = target.accept()) {
                    c.shutdownOutput();
                    Thread.sleep(500);
                    received.complete(c.getInputStream().readAllBytes());
                } catch (Exception e) {
                    received.completeExceptionally(e);
                }
            });
            t.setDaemon(true);
            t.start();
            try (Socket s = Socks5.connect(rig.socks(), "127.0.0.2", target.getLocalPort())) {
                s.setSoTimeout(20_000);
                assertThat(s.getInputStream().read()).isEqualTo(-1);
                s.getOutputStream().write(request);
                s.shutdownOutput();
                assertThat(received.get(20, TimeUnit.SECONDS)).isEqualTo(request);
            }
        }
    }

    @Test
    void sendsBytesTheApplicationPipelinedBehindTheRequest() throws Exception {
        try (Rig rig = Rig.plaintext(); TcpEchoServer echo = TcpEchoServer.bind("127.0.0.2");
                Socket s = Socks5.open(rig.socks())) {
            Socks5.greet(s);
            byte[] request = Socks5.request(Socks5.CONNECT, "127.0.0.2", echo.address().getPort());
            byte[] early = "early bytes".getBytes(StandardCharsets.US_ASCII);
            byte[] both = new byte[request.length + early.length];
            System.arraycopy(request, 0, both, 0, request.length);
            System.arraycopy(early, 0, both, request.length, early.length);
            s.getOutputStream().write(both);
            assertThat(Socks5.readReply(s.getInputStream()).status()).isZero();
            assertThat(Socks5.readExactly(s.getInputStream(), early.length)).isEqualTo(early);
        }
    }

    @Test
    void letsTheServerSpeakFirst() throws Exception {
        // A target that greets first (SMTP-like): the header must leave without waiting for application bytes.
        try (Rig rig = Rig.plaintext(); ServerSocket greeter = new ServerSocket(0, 1,
                java.net.InetAddress.getByName("127.0.0.2"))) {
            Thread t = new Thread(() -> {
                try (Socket c = greeter.accept()) {
                    c.getOutputStream().write("220 hello\r\n".getBytes(StandardCharsets.US_ASCII));
                    c.getInputStream().read();
                } catch (Exception e) {
                    // the test sees the missing greeting
                }
            });
            t.setDaemon(true);
            t.start();
            try (Socket s = Socks5.connect(rig.socks(), "127.0.0.2", greeter.getLocalPort())) {
                assertThat(new String(Socks5.readExactly(s.getInputStream(), 11), StandardCharsets.US_ASCII))
                        .isEqualTo("220 hello\r\n");
            }
        }
    }

    @Test
    void answersGeneralFailureWhenTheServerIsUnreachable() throws Exception {
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0)) {
            closedPort = probe.getLocalPort();
        }
        try (VlessClient client = VlessClient.builder().server("127.0.0.1", closedPort)
                .user(java.util.UUID.randomUUID()).plaintext().socks("127.0.0.1", 0).build()) {
            client.start().join();
            try (Socket s = Socks5.open(client.socksAddress())) {
                Socks5.greet(s);
                s.getOutputStream().write(Socks5.request(Socks5.CONNECT, "127.0.0.2", 80));
                assertThat(Socks5.readReply(s.getInputStream()).status()).isEqualTo(1);
                assertThat(s.getInputStream().read()).isEqualTo(-1);
            }
            assertThat(client.stats().tcpFailures()).isEqualTo(1);
        }
    }

    /** Sends text, ends the stream, and expects the echo followed by the server's own end. */
    private static void assertEchoes(Rig rig, String host, int port) throws Exception {
        try (Socket s = Socks5.connect(rig.socks(), host, port)) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write("hello".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(Socks5.readExactly(in, 5), StandardCharsets.US_ASCII)).isEqualTo("hello");
            out.write(" again".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(Socks5.readExactly(in, 6), StandardCharsets.US_ASCII)).isEqualTo(" again");
            // Half-close: our end reaches the target, whose reply and end still come back (D21).
            s.shutdownOutput();
            assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo(TcpEchoServer.BYE);
        }
    }
}
