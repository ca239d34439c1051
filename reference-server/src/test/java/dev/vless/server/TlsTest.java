// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The TLS listener (§17): self-signed and PEM certificates, relaying TCP, UDP and CRUMFURS inside TLS. */
class TlsTest {

    private static TcpEchoServer echo;

    @BeforeAll
    static void startEcho() throws IOException {
        echo = TcpEchoServer.start();
    }

    @AfterAll
    static void stopEcho() throws IOException {
        echo.close();
    }

    static VlessServer start(TlsConfig tls) throws Exception {
        return VlessServer.builder()
                .listen(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
                .user(USER)
                .tls(tls)
                .destinations(DestinationFilter.allowingLoopback())
                .ioThreads(2)
                .build().start().get(10, TimeUnit.SECONDS);
    }

    /** Trusts any server certificate and remembers the chain it was shown. */
    static class RecordingTrustManager implements X509TrustManager {
        volatile X509Certificate[] chain;

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
            throw new UnsupportedOperationException("client side only");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            this.chain = chain.clone();
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    static TestClient connectTls(VlessServer server, TrustManager trust) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(null, new TrustManager[] {trust}, null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket();
        s.connect(server.localAddress(), 5000);
        s.setSoTimeout(5000);
        s.startHandshake();
        assertThat(s.getSession().getProtocol()).as("TLS-2").isEqualTo("TLSv1.3");
        return TestClient.over(s);
    }

    static String fingerprint(X509Certificate cert) throws Exception {
        return HexFormat.ofDelimiter(":").withUpperCase()
                .formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
    }

    @Test
    @DisplayName("TLS-1, TLS-2 · a self-signed server relays TCP, and its fingerprint is the certificate the client saw")
    void selfSignedServerRelaysTcp() throws Exception {
        RecordingTrustManager trust = new RecordingTrustManager();
        try (VlessServer server = start(TlsConfig.selfSigned("localhost"));
             TestClient c = connectTls(server, trust)) {
            c.sendHeader(v1(USER, VlessCommand.TCP, echo.address()), ascii("inside tls"));
            assertThat(c.readAscii(10)).isEqualTo("inside tls");
            assertThat(server.certificateFingerprint()).isEqualTo(fingerprint(trust.chain[0]));
            assertThat(trust.chain[0].getSubjectX500Principal().getName()).isEqualTo("CN=localhost");
        }
    }

    /** A server on {@code provider}'s engine; fails when OpenSSL is asked for and would quietly be the JDK's. */
    static VlessServer start(TlsConfig.Provider provider) throws Exception {
        VlessServer server = start(TlsConfig.selfSigned("localhost").withProvider(provider));
        if (provider == TlsConfig.Provider.OPENSSL && !server.tlsEngine().startsWith("OpenSSL")) {
            server.close();
            throw new AssertionError("the OpenSSL engine does not serve here (" + server.tlsEngine()
                    + "), so its half-close cannot be tested (expected: netty-tcnative-boringssl-static to load)");
        }
        return server;
    }

    /**
     * A TLS client over its own TCP socket (a layered SSLSocket): its shutdownOutput sends close_notify and no FIN,
     * so only the end of stream inside TLS can tell the server that the client's direction ended.
     */
    static TestClient connectTlsLayered(VlessServer server, String protocol) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new RecordingTrustManager()}, null);
        java.net.Socket tcp = new java.net.Socket();
        tcp.connect(server.localAddress(), 5000);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(tcp, "localhost",
                server.localAddress().getPort(), true);
        s.setEnabledProtocols(new String[] {protocol});
        s.setSoTimeout(5000);
        s.startHandshake();
        assertThat(s.getSession().getProtocol()).isEqualTo(protocol);
        return TestClient.over(s);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(TlsConfig.Provider.class)
    @DisplayName("TCP-3 · inside TLS 1.3 the client's close_notify (with its FIN) ends only its direction; the answer"
            + " still arrives")
    void closeNotifyIsAHalfClose(TlsConfig.Provider provider) throws Exception {
        try (TcpEchoServer target = TcpEchoServer.start((s, conn) -> {
            TcpEchoServer.drainAndRecord(s, conn);
            s.getOutputStream().write(("got " + conn.received().length).getBytes(StandardCharsets.US_ASCII));
        });
             VlessServer server = start(provider);
             TestClient c = connectTls(server, new RecordingTrustManager())) {
            c.sendHeader(v1(USER, VlessCommand.TCP, target.address()), ascii("12345"));
            c.shutdownOutput(); // SSLSocket: sends close_notify and a FIN, and keeps reading
            assertThat(target.connection(0).awaitEnd(Duration.ofSeconds(5))).isTrue();
            assertThat(new String(c.readToEnd(), StandardCharsets.US_ASCII)).isEqualTo("got 5");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(TlsConfig.Provider.class)
    @DisplayName("TCP-3 · a close_notify alone (no FIN) ends the client's direction inside TLS 1.3; a long answer"
            + " still arrives whole, then the server's close_notify")
    void closeNotifyWithoutFinIsAHalfClose(TlsConfig.Provider provider) throws Exception {
        byte[] answer = new byte[300_000]; // many TLS records, sent after the client's direction ended
        new java.util.Random(7).nextBytes(answer);
        try (TcpEchoServer target = TcpEchoServer.start((s, conn) -> {
            TcpEchoServer.drainAndRecord(s, conn);
            s.getOutputStream().write(answer);
        });
             VlessServer server = start(provider);
             TestClient c = connectTlsLayered(server, "TLSv1.3")) {
            c.sendHeader(v1(USER, VlessCommand.TCP, target.address()), ascii("12345"));
            c.shutdownOutput(); // a layered SSLSocket: close_notify only
            assertThat(target.connection(0).awaitEnd(Duration.ofSeconds(5))).as("target saw end of stream").isTrue();
            assertThat(new String(target.connection(0).received(), StandardCharsets.US_ASCII)).isEqualTo("12345");
            assertThat(c.readToEnd()).isEqualTo(answer);
            assertThat(target.errors()).isEmpty();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(TlsConfig.Provider.class)
    @DisplayName("TCP-3 · inside TLS 1.3 the target's end reaches the client as close_notify; the client can still"
            + " send")
    void targetEndsFirstInsideTls(TlsConfig.Provider provider) throws Exception {
        try (TcpEchoServer target = TcpEchoServer.start((s, conn) -> {
            s.getOutputStream().write(ascii("bye"));
            s.shutdownOutput();
            TcpEchoServer.drainAndRecord(s, conn);
        });
             VlessServer server = start(provider);
             TestClient c = connectTlsLayered(server, "TLSv1.3")) {
            c.sendHeader(v1(USER, VlessCommand.TCP, target.address()));
            assertThat(c.readAscii(3)).isEqualTo("bye");
            c.assertEndOfStream();
            c.send(ascii("still here"));
            TcpEchoServer.Connection conn = target.connection(0);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (conn.received().length < 10 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            // A second record, read on its own: the server must still take it as data, not as the client's end.
            c.send(ascii(", twice"));
            c.shutdownOutput();
            assertThat(conn.awaitEnd(Duration.ofSeconds(5))).as("target saw end of stream").isTrue();
            assertThat(new String(conn.received(), StandardCharsets.US_ASCII)).isEqualTo("still here, twice");
            assertThat(target.errors()).isEmpty();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(TlsConfig.Provider.class)
    @DisplayName("TLS-2 · TLS 1.2 still relays, and a close_notify there ends the connection (RFC 5246 7.2.1)")
    void tls12RelaysAndCloseNotifyEndsIt(TlsConfig.Provider provider) throws Exception {
        try (VlessServer server = start(provider);
             TestClient c = connectTlsLayered(server, "TLSv1.2")) {
            c.sendHeader(v1(USER, VlessCommand.TCP, echo.address()), ascii("twelve"));
            assertThat(c.readAscii(6)).isEqualTo("twelve");
            c.shutdownOutput();
            c.assertEndOfStream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(TlsConfig.Provider.class)
    @DisplayName("TLS-1 · a returning client resumes its TLS 1.3 session: no certificate the second time")
    void returningClientResumes(TlsConfig.Provider provider) throws Exception {
        java.util.concurrent.atomic.AtomicInteger certificatesShown = new java.util.concurrent.atomic.AtomicInteger();
        RecordingTrustManager counting = new RecordingTrustManager() {
            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
                certificatesShown.incrementAndGet();
                super.checkServerTrusted(chain, authType);
            }
        };
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(null, new TrustManager[] {counting}, null);
        try (VlessServer server = start(provider)) {
            for (int i = 0; i < 3; i++) {
                try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1",
                        server.localAddress().getPort());
                     TestClient c = TestClient.over(s)) {
                    s.setSoTimeout(5000);
                    // Reading the echo also reads the session ticket the server sent after the handshake.
                    c.sendHeader(v1(USER, VlessCommand.TCP, echo.address()), ascii("again"));
                    assertThat(c.readAscii(5)).isEqualTo("again");
                }
            }
        }
        assertThat(certificatesShown.get()).as("full handshakes of three connections").isEqualTo(1);
    }

    @Test
    @DisplayName("TLS-1 · UDP and CRUMFURS work inside TLS")
    void udpAndCrumfursInsideTls() throws Exception {
        try (VlessServer server = start(TlsConfig.selfSigned("localhost"));
             UdpPeer a = UdpPeer.bind("127.0.0.2").echoing();
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient crf = connectTls(server, new RecordingTrustManager());
             TestClient udp = connectTls(server, new RecordingTrustManager())) {
            crf.sendHeader(VlessRequest.crumfurs(USER)).expectCrumfursAck();
            udp.sendHeader(v1(USER, VlessCommand.UDP, a.address()), TestClient.frame(ascii("ping")));
            InetSocketAddress mapped = a.receive().source();
            assertThat(udp.readFrame()).isEqualTo(ascii("ping"));
            b.send("from b", mapped);
            TestClient.Umfurs m = crf.readUmfurs();
            assertThat(m.source()).isEqualTo(b.address());
            assertThat(m.text()).isEqualTo("from b");
        }
    }

    @Test
    @DisplayName("TLS-1, MUX-3 · UDP-MUX works inside TLS: 0x15, frames both ways, a frame error closes")
    void udpMuxInsideTls() throws Exception {
        try (VlessServer server = start(TlsConfig.selfSigned("localhost"));
             UdpPeer a = UdpPeer.bind("127.0.0.2").echoing();
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient mux = connectTls(server, new RecordingTrustManager())) {
            mux.sendHeader(VlessRequest.mux(USER), TestClient.muxFrame(a.address(), ascii("ping")));
            mux.expectMuxAck();
            InetSocketAddress mapped = a.receive().source();
            TestClient.Umfurs echo = mux.readMuxFrame();
            assertThat(echo.source()).isEqualTo(a.address());
            assertThat(echo.text()).isEqualTo("ping");
            b.send("from b", mapped);
            TestClient.Umfurs m = mux.readMuxFrame();
            assertThat(m.source()).isEqualTo(b.address());
            assertThat(m.text()).isEqualTo("from b");
            mux.send(new byte[] {7, 0, 0});
            mux.assertEndOfStream();
        }
    }

    @Test
    @DisplayName("TLS-1 · a PEM certificate and PKCS#8 key are served, and a client trusting only them connects")
    void pemCertificateIsServed(@TempDir Path dir) throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(256);
        KeyPair pair = gen.generateKeyPair();
        X509Certificate cert = selfSigned(pair, "localhost");
        Path certFile = dir.resolve("cert.pem");
        Path keyFile = dir.resolve("key.pem");
        Files.writeString(certFile, pem("CERTIFICATE", cert.getEncoded()));
        Files.writeString(keyFile, pem("PRIVATE KEY", pair.getPrivate().getEncoded()));

        KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
        anchors.load(null, null);
        anchors.setCertificateEntry("server", cert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(anchors);

        try (VlessServer server = start(TlsConfig.pem(certFile, keyFile));
             TestClient c = connectTls(server, tmf.getTrustManagers()[0])) {
            assertThat(server.certificateFingerprint()).isEqualTo(fingerprint(cert));
            c.sendHeader(v1(USER, VlessCommand.TCP, echo.address()), ascii("pem"));
            assertThat(c.readAscii(3)).isEqualTo("pem");
        }
    }

    @Test
    @DisplayName("ERR-4 · the deadline covers TLS: no TLS at all, or TLS but no header, is closed at the deadline")
    void handshakeDeadlineCoversTls() throws Exception {
        try (VlessServer server = VlessServer.builder()
                .listen(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
                .user(USER)
                .tls(TlsConfig.selfSigned("localhost"))
                .handshakeTimeout(VlessServerExtension.SHORT_HANDSHAKE)
                .build().start().get(10, TimeUnit.SECONDS)) {
            try (TestClient silent = TestClient.connect(server.localAddress())) {
                assertThat(silent.assertNoByteAndClosedWithin(VlessServerExtension.SHORT_HANDSHAKE.plusSeconds(1)))
                        .isGreaterThanOrEqualTo(VlessServerExtension.SHORT_HANDSHAKE.minusMillis(100));
            }
            try (TestClient tlsOnly = connectTls(server, new RecordingTrustManager())) {
                // TLS itself may say goodbye (close_notify); what matters is that no VLESS byte comes and it ends.
                tlsOnly.assertEndOfStream();
                assertThat(tlsOnly.sinceConnect()).isLessThan(VlessServerExtension.SHORT_HANDSHAKE.plusSeconds(1));
            }
        }
    }

    @Test
    @DisplayName("a key file that holds no key fails at start with a message naming the file")
    void unreadableKeyFailsAtStart(@TempDir Path dir) throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(256);
        Path certFile = dir.resolve("cert.pem");
        Path keyFile = dir.resolve("not-a-key.pem");
        Files.writeString(certFile, pem("CERTIFICATE", selfSigned(gen.generateKeyPair(), "localhost").getEncoded()));
        Files.writeString(keyFile, pem("PRIVATE KEY", new byte[] {1, 2, 3, 4}));
        VlessServer server = VlessServer.builder().user(USER).tls(TlsConfig.pem(certFile, keyFile)).build();
        try {
            assertThatThrownBy(() -> server.start().get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().hasMessageContaining("not-a-key.pem");
        } finally {
            server.close();
        }
    }

    @Test
    @DisplayName("a key that does not belong to the certificate fails at start, not at every handshake")
    void mismatchedKeyFailsAtStart(@TempDir Path dir) throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(256);
        Path certFile = dir.resolve("cert.pem");
        Path keyFile = dir.resolve("other-key.pem");
        Files.writeString(certFile, pem("CERTIFICATE", selfSigned(gen.generateKeyPair(), "localhost").getEncoded()));
        Files.writeString(keyFile, pem("PRIVATE KEY", gen.generateKeyPair().getPrivate().getEncoded()));
        VlessServer server = VlessServer.builder().user(USER).tls(TlsConfig.pem(certFile, keyFile)).build();
        try {
            assertThatThrownBy(() -> server.start().get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().hasMessageContaining("other-key.pem does not belong to");
        } finally {
            server.close();
        }
    }

    @Test
    @DisplayName("TLS-1 · with the OpenSSL provider (BoringSSL where it loads) TLS relays TCP, UDP and CRUMFURS too")
    void openSslProviderServes() throws Exception {
        try (VlessServer server = start(TlsConfig.selfSigned("localhost").withProvider(TlsConfig.Provider.OPENSSL));
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             UdpPeer a = UdpPeer.bind("127.0.0.2").echoing();
             TestClient tcp = connectTls(server, new RecordingTrustManager());
             TestClient crf = connectTls(server, new RecordingTrustManager());
             TestClient udp = connectTls(server, new RecordingTrustManager())) {
            tcp.sendHeader(v1(USER, VlessCommand.TCP, echo.address()), ascii("openssl"));
            assertThat(tcp.readAscii(7)).isEqualTo("openssl");
            crf.sendHeader(VlessRequest.crumfurs(USER)).expectCrumfursAck();
            udp.sendHeader(v1(USER, VlessCommand.UDP, a.address()), TestClient.frame(ascii("ping")));
            InetSocketAddress mapped = a.receive().source();
            assertThat(udp.readFrame()).isEqualTo(ascii("ping"));
            b.send("from b", mapped);
            assertThat(crf.readUmfurs().text()).isEqualTo("from b");
        }
    }

    static X509Certificate selfSigned(KeyPair pair, String name) throws Exception {
        X500Name subject = new X500Name("CN=" + name);
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(3600)), Date.from(now.plus(Duration.ofDays(1))), subject, pair.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.dNSName, name)));
        return new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
