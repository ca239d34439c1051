// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.reliability;

import static dev.vless.server.testing.TestClient.ascii;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.server.testing.LogCapture;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile clients, bounded to seconds each: slowloris, a flood of bad headers, CRUMFURS churn and two users at full
 * UDP load. Each checks what must hold for everyone else — no byte back to bad input, valid requests served promptly
 * meanwhile, no datagram across contexts — and that the server ends where it began: file descriptors back to their
 * baseline, no NAT state left, nothing logged above INFO (the leak detector, at PARANOID in the build, fails the run
 * on a leaked buffer).
 */
class HostileClientsTest {

    @RegisterExtension
    final VlessServerExtension server = new VlessServerExtension(
            b -> b.handshakeTimeout(VlessServerExtension.SHORT_HANDSHAKE)).runForEachTest();

    /** Other tests' sockets come and go in the same JVM: how far the count may drift without being ours. */
    private static final int FD_SLACK = 24;

    @Test
    @DisplayName("slowloris: 400 connections that send 3 header bytes and stall get no byte, are closed by the deadline,"
            + " and a valid request is served promptly meanwhile")
    void slowloris() throws Exception {
        try (LogCapture log = LogCapture.start(); TcpEchoServer echo = TcpEchoServer.start()) {
            long fds = openFds();
            List<TestClient> stalled = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                stalled.add(server.connect().send(new byte[] {1, 0x6a, 0x6a}));
            }
            Duration during = servedIn(echo.address(), "during the slowloris");
            assertThat(during).as("a valid request's round trip while 400 connections stall").isLessThan(
                    Duration.ofMillis(500));
            Duration limit = VlessServerExtension.SHORT_HANDSHAKE.plusSeconds(1);
            for (TestClient c : stalled) {
                c.assertNoByteAndClosedWithin(limit.plusSeconds(2)); // the connects took a while: some slack
                c.close();
            }
            awaitFds(fds);
            assertThat(log.linesAtOrAbove("WARN")).isEmpty();
        }
    }

    @Test
    @DisplayName("a flood of 1600 bad headers of 8 kinds, 64 at a time: not one byte back, all closed, descriptors back to baseline")
    void badHeaderFlood() throws Exception {
        try (LogCapture log = LogCapture.start(); TcpEchoServer echo = TcpEchoServer.start()) {
            long fds = openFds();
            byte[] valid = TestClient.header(TestClient.v1(VlessServerExtension.USER, VlessCommand.TCP,
                    echo.address()));
            List<byte[]> kinds = List.of(
                    withByte(valid, 0, 2), // version 2
                    withUser(valid, UUID.randomUUID()), // unknown user
                    withByte(valid, 17, 0x07), // unknown command
                    withByte(valid, 20, 0x09), // unknown address type
                    withBytes(valid, 18, 0, 0), // port 0
                    "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                    new byte[] {1, 2, 3}, // cut short, then FIN below
                    new byte[64]); // zeros
            // Each bad connection is held to the deadline (ERR-2): 64 at a time keeps the test to seconds.
            ExecutorService pool = Executors.newFixedThreadPool(64);
            try {
                List<Future<Integer>> sent = new ArrayList<>();
                for (int t = 0; t < 64; t++) {
                    int first = t;
                    sent.add(pool.submit(() -> {
                        int bytesBack = 0;
                        for (int i = first; i < 1600; i += 64) {
                            try (Socket s = new Socket()) {
                                s.connect(server.address(), 2000);
                                s.setSoTimeout(3000);
                                OutputStream out = s.getOutputStream();
                                out.write(kinds.get(i % kinds.size()));
                                out.flush();
                                s.shutdownOutput();
                                int b;
                                while ((b = s.getInputStream().read()) >= 0) {
                                    bytesBack++;
                                }
                            } catch (java.net.SocketException e) {
                                // a reset is a close without a byte
                            }
                        }
                        return bytesBack;
                    }));
                }
                int total = 0;
                for (Future<Integer> f : sent) {
                    total += f.get(120, TimeUnit.SECONDS);
                }
                assertThat(total).as("bytes the server sent back to bad input").isZero();
            } finally {
                pool.shutdownNow();
            }
            assertThat(servedIn(echo.address(), "after the flood")).isLessThan(Duration.ofMillis(500));
            assertThat(server.stats().badInput()).isGreaterThanOrEqualTo(1600 * 7 / 8);
            awaitFds(fds);
            assertThat(log.linesAtOrAbove("WARN")).isEmpty();
        }
    }

    @Test
    @DisplayName("CRUMFURS churn: 2000 open/close and open/reset cycles leave no context, socket or descriptor behind")
    void crumfursChurn() throws Exception {
        try (LogCapture log = LogCapture.start()) {
            long fds = openFds();
            for (int i = 0; i < 2000; i++) {
                TestClient c = server.openCrumfurs();
                if (i % 2 == 0) {
                    c.socket().setSoLinger(true, 0); // close() now resets
                }
                c.close();
            }
            // The last one still works: the channel state was not corrupted by the churn.
            try (TestClient last = server.openCrumfurs(); UdpPeer stranger = UdpPeer.bind("127.0.0.2");
                    UdpPeer target = UdpPeer.bind("127.0.0.1")) {
                TestClient udp = server.openUdp(target.address()).sendFrames(ascii("where am I mapped?"));
                InetSocketAddress mapped = target.receive().source();
                stranger.send("after the churn", mapped);
                assertThat(last.readUmfurs().text()).isEqualTo("after the churn");
                udp.close();
            }
            awaitQuiet();
            awaitFds(fds);
            assertThat(log.linesAtOrAbove("WARN")).isEmpty();
        }
    }

    @Test
    @DisplayName("isolation under load: two users from two client IPs each, 4 contexts x 4 flows x 500 datagrams at once,"
            + " no datagram crosses a context and no two contexts share a port")
    void isolationUnderLoad() throws Exception {
        record Ctx(UUID user, String ip) {
        }
        List<Ctx> contexts = List.of(new Ctx(VlessServerExtension.USER, "127.0.0.1"),
                new Ctx(VlessServerExtension.USER, "127.0.0.2"), new Ctx(VlessServerExtension.OTHER_USER, "127.0.0.1"),
                new Ctx(VlessServerExtension.OTHER_USER, "127.0.0.3"));
        int flows = 4;
        int datagrams = 500;
        try (LogCapture log = LogCapture.start()) {
            ExecutorService pool = Executors.newFixedThreadPool(contexts.size());
            try {
                List<Future<Set<Integer>>> ports = new ArrayList<>();
                for (int k = 0; k < contexts.size(); k++) {
                    Ctx ctx = contexts.get(k);
                    int id = k;
                    ports.add(pool.submit(() -> oneContextUnderLoad(ctx.user(), ctx.ip(), id, flows, datagrams)));
                }
                List<Set<Integer>> seen = new ArrayList<>();
                for (Future<Set<Integer>> f : ports) {
                    seen.add(f.get(120, TimeUnit.SECONDS));
                }
                for (int a = 0; a < seen.size(); a++) {
                    assertThat(seen.get(a)).as("context %d's server ports", a).hasSize(1);
                    for (int b = a + 1; b < seen.size(); b++) {
                        assertThat(seen.get(a)).as("contexts %d and %d share a server port", a, b)
                                .doesNotContainAnyElementsOf(seen.get(b));
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(log.linesAtOrAbove("WARN")).isEmpty();
        }
    }

    /**
     * One context's flows: each connection sends {@code datagrams} tagged with the context, its peer echoes them, and
     * every frame that comes back must carry this context's tag. Returns the server ports the peers saw.
     */
    private Set<Integer> oneContextUnderLoad(UUID user, String ip, int id, int flows, int datagrams)
            throws Exception {
        Set<Integer> ports = new HashSet<>();
        List<UdpPeer> peers = new ArrayList<>();
        List<TestClient> conns = new ArrayList<>();
        try {
            for (int f = 0; f < flows; f++) {
                UdpPeer p = UdpPeer.bind("127.0.0." + (1 + f % 3)).echoing();
                peers.add(p);
                conns.add(server.connectFrom(ip).sendHeader(TestClient.v1(user, VlessCommand.UDP, p.address())));
            }
            for (int i = 0; i < datagrams; i++) {
                for (int f = 0; f < flows; f++) {
                    conns.get(f).sendFrames(ascii("ctx" + id + " flow" + f + " #" + i));
                }
                if (i % 50 == 49) {
                    Thread.sleep(1); // a burst of 200 per context, then a breath: load, not a test of the kernel
                }
            }
            for (int f = 0; f < flows; f++) {
                int got = 0;
                TestClient c = conns.get(f);
                c.socket().setSoTimeout(2000);
                try {
                    while (got < datagrams) {
                        String text = new String(c.readFrame(), java.nio.charset.StandardCharsets.US_ASCII);
                        assertThat(text).as("a frame on context %d's flow %d", id, f)
                                .startsWith("ctx" + id + " flow" + f + " ");
                        got++;
                    }
                } catch (java.net.SocketTimeoutException e) {
                    // UDP may drop under load; what arrived was checked, and most must have
                }
                assertThat(got).as("echoes back on context %d flow %d", id, f).isGreaterThan(datagrams / 2);
                for (UdpPeer.Datagram d : peers.get(f).drain()) {
                    ports.add(d.source().getPort());
                }
            }
            // What each peer saw arrived from this context's one port (EIM): record it from a fresh datagram.
            for (int f = 0; f < flows; f++) {
                conns.get(f).sendFrames(ascii("ctx" + id + " port probe"));
            }
            for (UdpPeer p : peers) {
                UdpPeer.Datagram d = p.receive(Duration.ofSeconds(2));
                if (d != null) {
                    ports.add(d.source().getPort());
                }
            }
            return ports;
        } finally {
            for (TestClient c : conns) {
                c.close();
            }
            for (UdpPeer p : peers) {
                p.close();
            }
        }
    }

    // ---- helpers ----

    /** How long a valid TCP request through the server takes to come back. */
    private Duration servedIn(InetSocketAddress echo, String when) throws IOException {
        long start = System.nanoTime();
        try (TestClient c = server.open(TestClient.v1(VlessServerExtension.USER, VlessCommand.TCP, echo),
                ascii("valid " + when))) {
            assertThat(c.readAscii(("valid " + when).length())).isEqualTo("valid " + when);
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    private void awaitQuiet() throws InterruptedException {
        // Only open connections: the context itself lives for the UDP lifetime (300 s), long after the test.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && server.stats().connectionsOpen() > 0) {
            Thread.sleep(50);
        }
        assertThat(server.stats().connectionsOpen()).as("connections open after the churn").isZero();
    }

    /** This process's open file descriptors. */
    static long openFds() {
        return Loopback.openFds();
    }

    /** Waits until the descriptor count is back within {@link #FD_SLACK} of {@code baseline}. */
    static void awaitFds(long baseline) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        long now = openFds();
        while (now > baseline + FD_SLACK && System.nanoTime() < deadline) {
            Thread.sleep(100);
            now = openFds();
        }
        assertThat(now).as("open descriptors (baseline %d)", baseline).isLessThanOrEqualTo(baseline + FD_SLACK);
    }

    private static byte[] withByte(byte[] header, int at, int value) {
        byte[] b = header.clone();
        b[at] = (byte) value;
        return b;
    }

    private static byte[] withBytes(byte[] header, int at, int... values) {
        byte[] b = header.clone();
        for (int i = 0; i < values.length; i++) {
            b[at + i] = (byte) values[i];
        }
        return b;
    }

    private static byte[] withUser(byte[] header, UUID user) {
        byte[] b = header.clone();
        java.nio.ByteBuffer.wrap(b, 1, 16).putLong(user.getMostSignificantBits())
                .putLong(user.getLeastSignificantBits());
        return b;
    }
}
