// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Expiry and refresh of NAT state (§13), with a 500 ms lifetime the builder allows only for tests and no cool-down,
 * so that a released port is really closed.
 */
class NatLifetimeTest {

    static final Duration LIFETIME = Duration.ofMillis(500);

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b.allowShortLifetimeForTesting()
            .udpLifetime(LIFETIME).coolDown(Duration.ZERO)).runForEachTest();

    static InetSocketAddress seenBy(UdpPeer peer, TestClient udp, String text) throws Exception {
        udp.sendFrames(ascii(text));
        UdpPeer.Datagram d = peer.receive();
        assertThat(d.text()).isEqualTo(text);
        return d.source();
    }

    /** Whether nothing on this host holds UDP port {@code port} any more. */
    static boolean portIsFree(int port) {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("0.0.0.0", port))) {
            return true;
        } catch (SocketException e) {
            return false;
        }
    }

    @Test
    @DisplayName("LIF-2, LIF-6, LIF-7 · after the lifetime without traffic the port is released and the mapping gone")
    void idleMappingExpires() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2");
             UdpPeer stranger = UdpPeer.bind("127.0.0.3");
             TestClient crf = server.openCrumfurs()) {
            InetSocketAddress old;
            try (TestClient udp = server.openUdp(peer.address())) {
                old = seenBy(peer, udp, "before expiry");
            }
            Loopback.await("the context socket expired", 5000, () -> server.stats().liveSockets() == 0);
            assertThat(server.stats().liveMappings()).as("dialed and heard entries gone too").isZero();
            // Cool-down zero: the port is closed, not just out of the context.
            Loopback.await("port " + old.getPort() + " free", 2000, () -> portIsFree(old.getPort()));

            stranger.send("to the old port", old);
            peer.send("to the old port", old);
            crf.assertSilentFor(Duration.ofMillis(300));

            try (TestClient udp = server.openUdp(peer.address())) {
                InetSocketAddress fresh = seenBy(peer, udp, "after expiry");
                assertThat(fresh.getPort()).as("a new mapping").isNotEqualTo(old.getPort());
            }
        }
    }

    @Test
    @DisplayName("LIF-4 · outbound datagrams every 200 ms keep the mapping alive across connections (lifetime 500 ms)")
    void outboundTrafficRefreshesTheMapping() throws Exception {
        Set<InetSocketAddress> seen = new HashSet<>();
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2")) {
            long end = System.nanoTime() + Duration.ofMillis(1500).toNanos();
            for (int i = 0; System.nanoTime() < end; i++) {
                // A new connection each time: between them no connection holds the socket, only the refresh does.
                try (TestClient udp = server.openUdp(peer.address())) {
                    seen.add(seenBy(peer, udp, "keepalive " + i));
                }
                Thread.sleep(200);
            }
        }
        assertThat(seen).as("one mapped address throughout").hasSize(1);
    }

    @Test
    @DisplayName("LIF-1 · a receive-only connection keeps its mapped address far beyond the lifetime")
    void receiveOnlyConnectionKeepsItsAddress() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2");
             TestClient udp = server.openUdp(peer.address())) {
            InetSocketAddress mapped = seenBy(peer, udp, "subscribe");
            long end = System.nanoTime() + Duration.ofMillis(1500).toNanos();
            for (int i = 0; System.nanoTime() < end; i++) {
                peer.send("push " + i, mapped);
                assertThat(udp.readFrame()).isEqualTo(ascii("push " + i));
                Thread.sleep(100);
            }
            assertThat(seenBy(peer, udp, "still here")).isEqualTo(mapped);
        }
    }

    @Test
    @DisplayName("LIF-5 · a command-2 connection that carried nothing for the lifetime is closed")
    void idleConnectionIsClosed() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2");
             TestClient udp = server.openUdp(peer.address())) {
            seenBy(peer, udp, "only this");
            long sent = System.nanoTime();
            udp.assertEndOfStream();
            Duration idle = Duration.ofNanos(System.nanoTime() - sent);
            assertThat(idle).as("closed after the lifetime, not before")
                    .isGreaterThanOrEqualTo(LIFETIME.minusMillis(50))
                    .isLessThan(LIFETIME.plusSeconds(2));
        }
    }

    @Test
    @DisplayName("LIF-5 · a command-2 connection with no datagram at all is closed after the lifetime")
    void connectionThatNeverSentIsClosed() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2");
             TestClient udp = server.openUdp(peer.address())) {
            udp.assertEndOfStream();
            assertThat(udp.sinceConnect()).isGreaterThanOrEqualTo(LIFETIME.minusMillis(50));
        }
    }

    @Test
    @DisplayName("the context leaves the table once it has no socket, connection or CRUMFURS")
    void emptyContextIsRemoved() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2")) {
            try (TestClient udp = server.openUdp(peer.address())) {
                seenBy(peer, udp, "once");
            }
            assertThat(server.stats().liveContexts()).isEqualTo(1);
            Loopback.await("the context removed", 5000, () -> server.stats().liveContexts() == 0);
        }
    }

    @Test
    @DisplayName("CRF-2 · CRUMFURS is not subject to the lifetime: an idle CRUMFURS stays open")
    void idleCrumfursStaysOpen() throws Exception {
        try (TestClient crf = server.openCrumfurs()) {
            crf.assertSilentFor(LIFETIME.multipliedBy(2));
        }
    }
}
