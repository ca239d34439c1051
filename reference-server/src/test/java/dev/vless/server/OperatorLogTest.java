// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.concat;
import static dev.vless.server.testing.TestClient.header;
import static dev.vless.server.testing.TestClient.v0;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.LogCapture;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The lines that tell an operator what to do, as a program using {@code VlessServer.builder()} gets them through
 * SLF4J (slf4j-simple on standard error here): each case provoked against a server of its own, its line written once,
 * at INFO (the server's default level), holding no secret; a burst of bad connections is one line.
 */
class OperatorLogTest {

    /** A user ID no test server serves; only its first 8 hex digits may appear in a log. */
    static final UUID STRANGER = UUID.fromString("0badc0de-1111-4222-8333-444455556666");

    @Test
    @DisplayName("DST-1 · a refused loopback destination names --allow-loopback")
    void refusedLoopbackDestination() throws Exception {
        try (LogCapture log = LogCapture.start();
             VlessServer server = start(b -> b.plaintext())) {
            refuse(server, new InetSocketAddress("127.0.0.1", 8080));

            assertOnce(log, "refused destination 127.0.0.1:8080 for client 127.0.0.1: loopback (DST-1); start the "
                    + "server with --allow-loopback to allow it");
        }
    }

    @Test
    @DisplayName("DST-1 · a refused private destination names --allow-private and --allow-destination")
    void refusedPrivateDestination() throws Exception {
        try (LogCapture log = LogCapture.start();
             VlessServer server = start(b -> b.plaintext())) {
            // Refused before any connection is tried: no packet leaves loopback.
            refuse(server, new InetSocketAddress("10.1.2.3", 80));

            assertOnce(log, "refused destination 10.1.2.3:80 for client 127.0.0.1: private (DST-1); start the server "
                    + "with --allow-private, or --allow-destination 10.1.2.3/32 for this address alone, to allow it");
        }
    }

    @Test
    @DisplayName("HDR-3 · an unknown user ID is named by its first 8 hex digits only")
    void unknownUser() throws Exception {
        try (LogCapture log = LogCapture.start();
             VlessServer server = start(b -> b.plaintext())) {
            try (TestClient c = TestClient.connect(server.localAddress())) {
                c.sendHeader(v1(STRANGER, VlessCommand.TCP, new InetSocketAddress("127.0.0.1", 9)),
                        ascii("payload-not-for-logs"));
                Loopback.await("bad input counted", 5000, () -> server.stats().badInput() == 1);
            }

            assertOnce(log, "bad input from 127.0.0.1: unknown user ID (first 8 hex: 0badc0de); check the link's UUID "
                    + "against --user/--users-file");
            assertNoSecrets(log);
        }
    }

    @Test
    @DisplayName("a burst of 100 connections with a wrong user ID is one line")
    void aBurstIsOneLine() throws Exception {
        try (LogCapture log = LogCapture.start();
             VlessServer server = start(b -> b.plaintext().handshakeTimeout(Duration.ofMillis(500)))) {
            List<TestClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 100; i++) {
                    clients.add(TestClient.connect(server.localAddress()).sendHeader(v1(STRANGER, VlessCommand.TCP,
                            new InetSocketAddress("127.0.0.1", 9)), ascii("payload-not-for-logs")));
                }
                Loopback.await("100 bad inputs counted", 10_000, () -> server.stats().badInput() == 100);
            } finally {
                for (TestClient c : clients) {
                    c.close();
                }
            }

            // Well within the 10 s interval (the rest of the burst's count goes into the next line of the kind,
            // which OperatorLogLinesTest checks with a clock of its own).
            assertThat(log.linesContaining("unknown user ID")).hasSize(1);
            assertNoSecrets(log);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(TlsConfig.Provider.class)
    @DisplayName("TLS-1 · a client that does not trust the certificate: the handshake failure and what to do")
    void tlsClientDoesNotTrustTheCertificate(TlsConfig.Provider provider) throws Exception {
        try (LogCapture log = LogCapture.start();
             VlessServer server = start(b -> b.tls(TlsConfig.selfSigned("localhost").withProvider(provider)))) {
            SSLContext defaultTrust = SSLContext.getInstance("TLS");
            defaultTrust.init(null, null, null); // the JDK's CAs, which never signed a self-signed certificate
            try (SSLSocket s = (SSLSocket) defaultTrust.getSocketFactory().createSocket()) {
                s.connect(server.localAddress(), 5000);
                s.setSoTimeout(5000);
                assertThatThrownBy(s::startHandshake).isInstanceOf(SSLHandshakeException.class);
            }

            // Each engine words the alert its own way; the advice is the same.
            String alert = provider == TlsConfig.Provider.JDK ? "Received fatal alert: certificate_unknown"
                    : "error:10000416:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_UNKNOWN";
            assertOnce(log, "TLS handshake with client 127.0.0.1 failed: " + alert + "; "
                    + "the client does not trust the server certificate: give it the share link the server printed "
                    + "(pcs= pins a self-signed certificate), or use --cert/--key with a certificate its CAs trust");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(TlsConfig.Provider.class)
    @DisplayName("TLS-2 · a client that offers only TLS 1.0: the handshake failure names the version")
    void tlsClientSpeaksAnotherVersion(TlsConfig.Provider provider) throws Exception {
        try (LogCapture log = LogCapture.start();
             VlessServer server = start(b -> b.tls(TlsConfig.selfSigned("localhost").withProvider(provider)))) {
            try (Socket s = new Socket()) {
                s.connect(server.localAddress(), 5000);
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write(TLS_1_0_CLIENT_HELLO);
                out.flush();
                s.getInputStream().readAllBytes(); // the server's alert, then its close
            }

            // The JDK names the version it refused; BoringSSL says UNSUPPORTED_PROTOCOL.
            String refused = provider == TlsConfig.Provider.JDK ? ".*TLSv1\\b.*" : ".*UNSUPPORTED_PROTOCOL.*";
            String line = assertOnce(log, Pattern.compile("TLS handshake with client 127\\.0\\.0\\.1 failed: "
                    + refused + "; " + Pattern.quote("the client speaks a TLS version the server does not: the "
                    + "server accepts TLS 1.3 and 1.2 (TLS-2)")));
            assertThat(line).doesNotContain("\tat ");
        }
    }

    @ParameterizedTest(name = "VLESS v{0}")
    @ValueSource(ints = {0, 1})
    @DisplayName("TLS-1 · a plaintext VLESS client on the TLS port is told apart from a TLS failure")
    void plaintextClientOnTheTlsPort(int version) throws Exception {
        try (LogCapture log = LogCapture.start();
             VlessServer server = start(b -> b.tls(TlsConfig.selfSigned("localhost")))) {
            InetSocketAddress target = new InetSocketAddress("127.0.0.1", 9);
            VlessRequest request = version == 0 ? v0(USER, VlessCommand.TCP, target)
                    : v1(USER, VlessCommand.TCP, target);
            try (Socket s = new Socket()) {
                s.connect(server.localAddress(), 5000);
                s.setSoTimeout(5000);
                s.getOutputStream().write(concat(header(request), ascii("payload-not-for-logs")));
                s.getInputStream().readAllBytes(); // at most a TLS alert, then the close
            }

            assertOnce(log, "a plaintext client (VLESS version byte 0x0" + version + ") from 127.0.0.1 connected to "
                    + "the TLS port: the client's link needs security=tls, or run the server with "
                    + "--plaintext-for-testing");
            Loopback.await("the connection closed", 5000, () -> server.stats().connectionsOpen() == 0);
            assertThat(log.linesContaining("TLS handshake with client")).as("not also a TLS failure").isEmpty();
            assertNoSecrets(log);
        }
    }

    @Test
    @DisplayName("TLS-1 · a TLS client on a plaintext port is told to use security=none")
    void tlsClientOnThePlaintextPort() throws Exception {
        try (LogCapture log = LogCapture.start();
             VlessServer server = start(b -> b.plaintext().handshakeTimeout(Duration.ofMillis(500)))) {
            SSLContext any = SSLContext.getInstance("TLS");
            any.init(null, null, null);
            try (SSLSocket s = (SSLSocket) any.getSocketFactory().createSocket()) {
                s.connect(server.localAddress(), 5000);
                s.setSoTimeout(5000);
                assertThatThrownBy(s::startHandshake).isInstanceOf(java.io.IOException.class);
            }

            assertOnce(log, "a TLS client from 127.0.0.1 connected to the plaintext port: the client's link needs"
                    + " security=none, or run the server with TLS (without --plaintext-for-testing)");
            assertNoSecrets(log);
        }
    }

    @Test
    @DisplayName("a connection that sends nothing (a port scan, a health check) is not the operator's business")
    void aSilentConnectionWritesNoLine() throws Exception {
        try (LogCapture log = LogCapture.start();
             VlessServer server = start(b -> b.tls(TlsConfig.selfSigned("localhost")))) {
            new Socket(server.localAddress().getAddress(), server.localAddress().getPort()).close();
            Loopback.await("the connection closed", 5000,
                    () -> server.stats().connectionsAccepted() == 1 && server.stats().connectionsOpen() == 0);

            assertThat(log.linesContaining("OperatorLog - ")).as("no line for the operator").isEmpty();
        }
    }

    // ---- helpers ----

    private static VlessServer start(Consumer<VlessServerBuilder> settings) throws Exception {
        VlessServerBuilder b = VlessServer.builder()
                .listen(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
                .user(USER)
                .ioThreads(2);
        settings.accept(b); // the destination filter stays the secure default
        return b.build().start().get(10, TimeUnit.SECONDS);
    }

    private static void refuse(VlessServer server, InetSocketAddress target) throws IOException {
        try (TestClient c = TestClient.connect(server.localAddress())) {
            c.sendHeader(v1(USER, VlessCommand.TCP, target), ascii("payload-not-for-logs"));
            c.assertNoByteAndClosedWithin(Duration.ofSeconds(5));
        }
    }

    /** Waits for {@code message}; it must be one whole line, once, at INFO, from the operator's logger. */
    private static String assertOnce(LogCapture log, String message) throws InterruptedException {
        return assertOnce(log, Pattern.compile(Pattern.quote(message)));
    }

    private static String assertOnce(LogCapture log, Pattern message) throws InterruptedException {
        Pattern line = Pattern.compile(".* INFO (dev\\.vless\\.server\\.relay\\.)?OperatorLog - "
                + message.pattern());
        Loopback.await("a line matching " + line + " in " + log.lines(), 5000,
                () -> log.lines().stream().anyMatch(l -> line.matcher(l).matches()));
        Thread.sleep(200); // a second line would come from the same event; give it the time to show
        List<String> matching = log.lines().stream().filter(l -> line.matcher(l).matches()).toList();
        assertThat(matching).as("written once").hasSize(1);
        return matching.get(0);
    }

    private static void assertNoSecrets(LogCapture log) {
        String hex = STRANGER.toString().replace("-", "");
        String user = USER.toString().replace("-", "");
        for (String line : log.lines()) {
            assertThat(line.replace("-", "")).as("a user ID beyond its first 8 hex digits")
                    .doesNotContain(hex.substring(8, 16)).doesNotContain(user.substring(8, 16));
            assertThat(line).as("payload").doesNotContain("payload-not-for-logs");
        }
    }

    /**
     * A TLS 1.0 ClientHello offering TLS_RSA_WITH_AES_128_CBC_SHA and nothing newer: what a client of 2010 sends. The
     * JDK will not build one any more, so here are its bytes.
     */
    private static final byte[] TLS_1_0_CLIENT_HELLO = HexFormat.of().parseHex(
            "160301002d" // handshake record, TLS 1.0, 45 bytes
                    + "01000029" // ClientHello, 41 bytes
                    + "0301" // client_version TLS 1.0
                    + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" // random
                    + "00" // no session ID
                    + "0002002f" // one cipher suite
                    + "0100"); // null compression; no extensions
}
