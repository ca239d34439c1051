// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v0;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.OTHER_USER;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Delivery within a NAT context and isolation between contexts: which connection gets a datagram (DLV-1..DLV-3),
 * what a context is (NAT-1), and that contexts and v0 connections never share a port or a datagram (NAT-8, NAT-9).
 */
class NatContextTest {

    static final List<UUID> MORE_USERS = List.of(UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID());

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b.users(MORE_USERS)).runForEachTest();

    /** The mapped address {@code peer} sees for a datagram sent on {@code udp}. */
    static InetSocketAddress seenBy(UdpPeer peer, TestClient udp) throws Exception {
        udp.sendFrames(ascii("to " + peer.address()));
        return peer.receive().source();
    }

    /**
     * Sends numbered datagrams from {@code peer} to {@code mapped} until one arrives as a frame on {@code expected};
     * the server learns of closed connections asynchronously, so the first few may still go elsewhere.
     */
    static String sendUntilFrameArrives(UdpPeer peer, InetSocketAddress mapped, TestClient expected, String text)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        for (int i = 0; System.nanoTime() < deadline; i++) {
            peer.send(text + " " + i, mapped);
            if (expected.hasDataWithin(Duration.ofMillis(100))) {
                return new String(expected.readFrame(), StandardCharsets.US_ASCII);
            }
        }
        throw new AssertionError("no frame \"" + text + "\" arrived within 5 s");
    }

    @Test
    @DisplayName("DLV-1 · with two connections to one remote the newer gets its datagrams, then the older, then CRUMFURS")
    void newestConnectionToTheRemoteReceives() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             TestClient crf = server.openCrumfurs();
             TestClient older = server.openUdp(a.address())) {
            InetSocketAddress mapped = seenBy(a, older);
            TestClient newer = server.openUdp(a.address());
            assertThat(seenBy(a, newer)).isEqualTo(mapped);
            a.send("for the newer", mapped);
            assertThat(newer.readFrame()).isEqualTo(ascii("for the newer"));
            older.assertSilentFor(Duration.ofMillis(200));

            newer.close();
            assertThat(sendUntilFrameArrives(a, mapped, older, "for the older")).startsWith("for the older");

            older.close();
            TestClient.Umfurs m = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            for (int i = 0; m == null && System.nanoTime() < deadline; i++) {
                a.send("for crumfurs " + i, mapped);
                if (crf.hasDataWithin(Duration.ofMillis(100))) {
                    m = crf.readUmfurs();
                }
            }
            assertThat(m).as("a UMFURS once both connections closed").isNotNull();
            assertThat(m.source()).isEqualTo(a.address());
            assertThat(m.text()).startsWith("for crumfurs");
        }
    }

    @Test
    @DisplayName("DLV-2 · a datagram from another remote goes to CRUMFURS, not to the connection it arrived beside")
    void otherRemoteGoesToCrumfursNotToTheConnection() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient crf = server.openCrumfurs();
             TestClient toA = server.openUdp(a.address())) {
            InetSocketAddress mapped = seenBy(a, toA);
            b.send("from b", mapped);
            assertThat(crf.readUmfurs().source()).isEqualTo(b.address());
            toA.assertSilentFor(Duration.ofMillis(200));
        }
    }

    @Test
    @DisplayName("DLV-3 · without a connection or CRUMFURS a datagram is dropped and counted")
    void datagramWithoutReceiverIsDroppedAndCounted() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient toA = server.openUdp(a.address())) {
            InetSocketAddress mapped = seenBy(a, toA);
            b.send("nobody", mapped);
            Loopback.await("a NO_RECEIVER drop", 5000,
                    () -> server.stats().drops(DropReason.NO_RECEIVER) == 1);
            toA.assertSilentFor(Duration.ofMillis(100));
        }
    }

    @Test
    @DisplayName("NAT-8, NAT-9 · two users: different server ports, and neither receives the other's datagrams")
    void twoUsersAreIsolated() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2");
             UdpPeer stranger = UdpPeer.bind("127.0.0.3");
             TestClient crfA = server.openCrumfurs();
             TestClient crfB = server.open(VlessRequest.crumfurs(OTHER_USER)).expectCrumfursAck();
             TestClient udpA = server.openUdp(peer.address());
             TestClient udpB = server.open(v1(OTHER_USER, VlessCommand.UDP, peer.address()))) {
            InetSocketAddress mappedA = seenBy(peer, udpA);
            InetSocketAddress mappedB = seenBy(peer, udpB);
            assertThat(mappedB.getPort()).isNotEqualTo(mappedA.getPort());

            peer.send("for A", mappedA);
            assertThat(udpA.readFrame()).isEqualTo(ascii("for A"));
            stranger.send("stranger to A", mappedA);
            assertThat(crfA.readUmfurs().text()).isEqualTo("stranger to A");

            peer.send("for B", mappedB);
            assertThat(udpB.readFrame()).isEqualTo(ascii("for B"));
            stranger.send("stranger to B", mappedB);
            assertThat(crfB.readUmfurs().text()).isEqualTo("stranger to B");

            udpA.assertSilentFor(Duration.ofMillis(100));
            udpB.assertSilentFor(Duration.ofMillis(100));
            crfA.assertSilentFor(Duration.ofMillis(100));
            crfB.assertSilentFor(Duration.ofMillis(100));
        }
    }

    @Test
    @DisplayName("NAT-1 · one user from two client IPs has two contexts: two CRUMFURS, two ports, no crossing")
    void sameUserFromTwoClientIpsHasTwoContexts() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.3");
             UdpPeer stranger = UdpPeer.bind("127.0.0.2");
             TestClient crf1 = server.connectFrom("127.0.0.1").sendHeader(VlessRequest.crumfurs(USER))
                     .expectCrumfursAck();
             TestClient crf2 = server.connectFrom("127.0.0.2").sendHeader(VlessRequest.crumfurs(USER))
                     .expectCrumfursAck();
             TestClient udp1 = server.connectFrom("127.0.0.1").sendHeader(v1(USER, VlessCommand.UDP,
                     peer.address()));
             TestClient udp2 = server.connectFrom("127.0.0.2").sendHeader(v1(USER, VlessCommand.UDP,
                     peer.address()))) {
            crf1.assertSilentFor(Duration.ofMillis(200)); // CRF-3 replaces only within one context: still open
            InetSocketAddress mapped1 = seenBy(peer, udp1);
            InetSocketAddress mapped2 = seenBy(peer, udp2);
            assertThat(mapped2.getPort()).isNotEqualTo(mapped1.getPort());

            peer.send("to 1", mapped1);
            assertThat(udp1.readFrame()).isEqualTo(ascii("to 1"));
            stranger.send("stranger to 1", mapped1);
            assertThat(crf1.readUmfurs().text()).isEqualTo("stranger to 1");
            stranger.send("stranger to 2", mapped2);
            assertThat(crf2.readUmfurs().text()).isEqualTo("stranger to 2");
            crf1.assertSilentFor(Duration.ofMillis(100));
            udp2.assertSilentFor(Duration.ofMillis(100));
        }
    }

    @Test
    @DisplayName("NAT-8, UDP-7 · 20 v0 connections and 5 v1 users: 25 distinct server ports")
    void noPortOverloading() throws Exception {
        List<UUID> users = new ArrayList<>(List.of(USER, OTHER_USER));
        users.addAll(MORE_USERS);
        List<TestClient> clients = new ArrayList<>();
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2")) {
            for (int i = 0; i < 20; i++) {
                clients.add(server.open(v0(USER, VlessCommand.UDP, peer.address()), TestClient.frame(ascii("v0"))));
            }
            for (UUID u : users) {
                clients.add(server.open(v1(u, VlessCommand.UDP, peer.address()), TestClient.frame(ascii("v1"))));
            }
            List<Integer> ports = new ArrayList<>();
            for (int i = 0; i < clients.size(); i++) {
                ports.add(peer.receive().source().getPort());
            }
            assertThat(ports).hasSize(25).doesNotHaveDuplicates();
        } finally {
            for (TestClient c : clients) {
                c.close();
            }
        }
    }
}
