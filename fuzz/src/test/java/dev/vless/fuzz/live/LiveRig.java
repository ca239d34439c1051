// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz.live;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.DestinationFilter;
import dev.vless.server.DropReason;
import dev.vless.server.ServerStats;
import dev.vless.server.TlsConfig;
import dev.vless.server.VlessServer;
import dev.vless.server.VlessServerBuilder;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A reference server on loopback with the peers a live fuzzer needs, and the checks every fuzzer makes after a burst:
 * a valid client is still served, and once everything closed, file descriptors and direct memory are back where they
 * started. Short UDP lifetime and cool-down, so that the server's own resources are freed within seconds.
 */
final class LiveRig implements AutoCloseable {

    static final UUID USER = UUID.fromString("a684455c-b14f-11ea-bf0d-42010aaa0003");
    static final UUID OTHER_USER = UUID.fromString("0b6e2a3f-5c1d-4e8f-9a7b-123456789abc");
    /** Short, so that contexts and their sockets are gone a few seconds after the last client closed. */
    static final Duration LIFETIME = Duration.ofSeconds(1);
    static final Duration COOL_DOWN = Duration.ofMillis(200);
    static final Duration HANDSHAKE = Duration.ofSeconds(1);
    /** File descriptors the JVM itself may open meanwhile (a jar, a random source) without the server leaking. */
    private static final int FD_SLACK = 4;
    /** What the pooled allocator may keep cached after a burst; a leak per datagram or connection grows far beyond. */
    static final long MEMORY_SLACK = 32L << 20;

    final boolean tls;
    final VlessServer server;
    final UdpPeer echo;
    final TcpEchoServer tcpEcho;
    private final SSLContext trustAll;

    private LiveRig(boolean tls, VlessServer server, UdpPeer echo, TcpEchoServer tcpEcho) throws Exception {
        this.tls = tls;
        this.server = server;
        this.echo = echo;
        this.tcpEcho = tcpEcho;
        this.trustAll = SSLContext.getInstance("TLS");
        trustAll.init(null, new TrustManager[] {new TrustEverything()}, null);
    }

    static LiveRig start(boolean tls) throws Exception {
        VlessServerBuilder b = VlessServer.builder()
                .listen(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
                .user(USER)
                .user(OTHER_USER)
                .destinations(DestinationFilter.allowingLoopback())
                .allowShortLifetimeForTesting()
                .udpLifetime(LIFETIME)
                .coolDown(COOL_DOWN)
                .handshakeTimeout(HANDSHAKE)
                .ioThreads(2);
        if (tls) {
            b.tls(TlsConfig.selfSigned("localhost"));
        } else {
            b.plaintext();
        }
        VlessServer server = b.build().start().get(10, TimeUnit.SECONDS);
        return new LiveRig(tls, server, UdpPeer.bind("127.0.0.2").echoing(), TcpEchoServer.start());
    }

    /** A new connection to the server, over TLS when the server speaks it. */
    TestClient connect() throws IOException {
        return TestClient.over(rawSocket());
    }

    /** A connected socket to the server (TLS handshake done), for writing arbitrary bytes. */
    java.net.Socket rawSocket() throws IOException {
        if (!tls) {
            java.net.Socket s = new java.net.Socket();
            s.connect(server.localAddress(), 5000);
            s.setTcpNoDelay(true);
            return s;
        }
        SSLSocket s = (SSLSocket) trustAll.getSocketFactory().createSocket();
        s.connect(server.localAddress(), 5000);
        s.setTcpNoDelay(true);
        s.setSoTimeout(5000);
        s.startHandshake();
        return s;
    }

    ServerStats stats() {
        return server.stats();
    }

    /**
     * Checks that a valid client is served in full: a TCP echo, a UDP round trip through a command-2 connection, and a
     * CRUMFURS acknowledgement. Called after every burst of hostile input.
     */
    void assertServesValidClient(String after) throws Exception {
        byte[] hello = TestClient.ascii("still serving? " + after);
        try (TestClient tcp = connect()) {
            tcp.sendHeader(TestClient.v1(USER, VlessCommand.TCP, tcpEcho.address()), hello);
            assertThat(tcp.readExactly(hello.length)).as("TCP echo after %s", after).isEqualTo(hello);
        }
        try (TestClient udp = connect()) {
            udp.sendHeader(TestClient.v1(OTHER_USER, VlessCommand.UDP, echo.address()), TestClient.frame(hello));
            assertThat(udp.readFrame()).as("UDP round trip after %s", after).isEqualTo(hello);
        }
        try (TestClient crumfurs = connect()) {
            crumfurs.sendHeader(VlessRequest.crumfurs(OTHER_USER)).expectCrumfursAck();
        }
    }

    /** Open file descriptors of this process: the server's sockets among them. */
    static int openFds() {
        return dev.vless.server.testing.Loopback.openFds();
    }

    /** Direct memory the default allocator holds, in use or cached. */
    static long directMemory() {
        return ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric().usedDirectMemory();
    }

    /**
     * Waits until the server's contexts have expired and its sockets closed, then checks file descriptors and direct
     * memory against a baseline taken before the fuzzing (with every client closed).
     */
    void assertResourcesBack(int baselineFds, long baselineMemory) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline && (stats().liveSockets() > 0 || stats().connectionsOpen() > 0
                || (baselineFds >= 0 && openFds() > baselineFds + FD_SLACK))) {
            Thread.sleep(50);
        }
        ServerStats s = stats();
        assertThat(s.connectionsOpen()).as("client connections still open at the server").isZero();
        assertThat(s.liveSockets()).as("UDP sockets still open at the server").isZero();
        assertThat(s.liveContexts()).as("NAT contexts still alive").isZero();
        if (baselineFds >= 0) {
            assertThat(openFds()).as("file descriptors (baseline %d)", baselineFds)
                    .isLessThanOrEqualTo(baselineFds + FD_SLACK);
        }
        assertThat(directMemory()).as("direct memory held by the allocator (baseline %d B)", baselineMemory)
                .isLessThanOrEqualTo(baselineMemory + MEMORY_SLACK);
    }

    /** Drop counters that must stay at zero whatever the input: each means a server bug. */
    void assertNoInternalErrors() {
        ServerStats s = stats();
        assertThat(s.drops(DropReason.DELIVERY_ERROR)).as("datagrams lost to an unexpected delivery error").isZero();
    }

    @Override
    public void close() throws Exception {
        try {
            server.stop().get(10, TimeUnit.SECONDS);
        } finally {
            echo.close();
            tcpEcho.close();
        }
    }

    /** The rig's server certificate is self-signed and made afresh; what is tested here is not its trust. */
    private static final class TrustEverything implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
