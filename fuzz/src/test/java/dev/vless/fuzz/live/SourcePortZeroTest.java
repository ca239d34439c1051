// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz.live;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.conformance.RawDatagrams;
import dev.vless.server.DropReason;
import dev.vless.server.ServerStats;
import dev.vless.server.testing.LogCapture;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The reproduction of the source-port-0 leak, kept as a test: datagrams from port 0, forged through a raw socket, to
 * the external port of a context with a live CRUMFURS. They used to throw out of the UMFURS encoder after its buffer
 * was allocated, leaking one direct buffer each. Now they are dropped before the NAT tables (DLV-6): no entry, no
 * delivery, no log line above DEBUG, counted as {@link DropReason#INVALID_SOURCE}. Skipped, with the reason, where
 * this process cannot open a raw socket (not root, no CAP_NET_RAW).
 */
class SourcePortZeroTest {

    private static final int DATAGRAMS = 2000;
    private static final int BATCH = 100;

    private LiveRig rig;
    private RawDatagrams raw;

    @BeforeEach
    void setUp() throws Exception {
        String unavailable = RawDatagrams.unavailableReason();
        Assumptions.assumeTrue(unavailable == null, () -> "cannot forge UDP sources here: " + unavailable);
        raw = RawDatagrams.open();
        rig = LiveRig.start(false);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (raw != null) {
            raw.close();
        }
        if (rig != null) {
            rig.close();
        }
    }

    @Test
    @DisplayName("DLV-6 · 2000 datagrams from port 0 to a context with a live CRUMFURS: dropped, counted, nothing logged")
    void portZeroToTheIpv4Socket() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.3"); UdpPeer b = UdpPeer.bind("127.0.0.4")) {
            check(a, b, a.address().getAddress());
        }
    }

    @Test
    @DisplayName("DLV-6 · port 0 from an IPv4 host to a context's dual-stack IPv6 socket (an IPv4-mapped source)")
    void portZeroToTheIpv6Socket() throws Exception {
        Assumptions.assumeTrue(Loopback.hasIpv6(), "no IPv6 loopback here");
        try (UdpPeer a = UdpPeer.bind("::1"); UdpPeer b = UdpPeer.bind("127.0.0.4")) {
            check(a, b, InetAddress.getByName("127.0.0.1"));
        }
    }

    /**
     * Opens CRUMFURS and a connection to {@code a}, learns the external address {@code a} sees, floods it with
     * port-0 datagrams from {@code forgedHost}, then checks that {@code b}'s datagram is the first UMFURS.
     */
    private void check(UdpPeer a, UdpPeer b, InetAddress forgedHost) throws Exception {
        try (TestClient crumfurs = rig.connect(); TestClient toA = rig.connect();
                LogCapture log = LogCapture.start()) {
            crumfurs.sendHeader(VlessRequest.crumfurs(LiveRig.USER)).expectCrumfursAck();
            toA.sendHeader(TestClient.v1(LiveRig.USER, VlessCommand.UDP, a.address()),
                    TestClient.frame(TestClient.ascii("probe")));
            InetSocketAddress external = a.receive().source();
            // An IPv6 socket is dual-stack: a raw IPv4 datagram to its port on 127.0.0.1 arrives IPv4-mapped.
            InetSocketAddress target = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), external.getPort());
            ServerStats before = rig.stats();

            byte[] payload = TestClient.ascii("from port 0: must reach no client");
            InetSocketAddress forged = new InetSocketAddress(forgedHost, 0);
            for (int sent = 0; sent < DATAGRAMS; sent += BATCH) {
                for (int i = 0; i < BATCH; i++) {
                    raw.send(forged, target, payload);
                }
                // Paced by the server's own count, so that no datagram is lost in a full receive buffer and the
                // count below can be exact.
                long expected = before.drops(DropReason.INVALID_SOURCE) + sent + BATCH;
                Loopback.await("the server counted the batch", 5000,
                        () -> rig.stats().drops(DropReason.INVALID_SOURCE) >= expected);
                // The rig's UDP lifetime is 1 s and a loaded machine can take longer than that for the flood: a
                // datagram to A keeps the connection and the socket alive (LIF-4, LIF-5), or the marker below would
                // reach a released socket and this test would fail on the machine's speed, not on the server.
                toA.sendFrames(TestClient.ascii("keepalive"));
            }
            ServerStats after = rig.stats();
            assertThat(after.drops(DropReason.INVALID_SOURCE) - before.drops(DropReason.INVALID_SOURCE))
                    .as("datagrams dropped as INVALID_SOURCE").isEqualTo(DATAGRAMS);
            assertThat(after.liveMappings()).as("entries: a forged source creates none").isEqualTo(before.liveMappings());
            assertThat(after.umfursSent()).as("UMFURS sent").isEqualTo(before.umfursSent());
            for (DropReason r : new DropReason[] {DropReason.SEND_FAILED, DropReason.DELIVERY_ERROR,
                    DropReason.NO_RECEIVER, DropReason.CLIENT_BACKLOG}) {
                assertThat(after.drops(r) - before.drops(r)).as("drops counted as %s", r).isZero();
            }

            byte[] marker = TestClient.ascii("from B, after the flood");
            b.send(marker, target);
            TestClient.Umfurs u = crumfurs.readUmfurs();
            assertThat(u.source()).as("the first UMFURS after the flood").isEqualTo(b.address());
            assertThat(u.payload()).isEqualTo(marker);
            assertThat(toA.hasDataWithin(Duration.ofMillis(200))).as("anything on the connection to A").isFalse();

            assertThat(log.linesAtOrAbove("INFO")).as("log lines above DEBUG during the flood").isEmpty();
        }
        rig.assertServesValidClient("2000 datagrams from port 0");
    }
}
