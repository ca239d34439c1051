// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.reliability;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v0;
import static dev.vless.server.testing.VlessServerExtension.OTHER_USER;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * LIF-7's cool-down under churn: released ports are capped per user (4 sockets × 2 contexts = 8) and server-wide
 * (12); beyond a cap the oldest cooling port is closed early and counted, and nobody is refused.
 */
class CoolingCapTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b
            .maxSocketsPerContext(4)
            .maxContextsPerUser(2)
            .maxCoolingSockets(12)).runForEachTest();

    @Test
    @DisplayName("LIF-7 · churn keeps cooling ports under the caps; the oldest is released early and counted")
    void oldestCoolingPortIsReleasedEarly() throws Exception {
        try (UdpPeer target = UdpPeer.bind("127.0.0.2")) {
            List<Integer> ports = churn(USER, target, 20);
            assertThat(server.stats().coolingSockets()).as("the user's share").isEqualTo(8);
            assertThat(server.stats().coolDownReleasedEarly()).isEqualTo(12);
            assertThat(portIsFree(ports.get(0))).as("the oldest port was closed early").isTrue();
            assertThat(portIsFree(ports.get(11))).as("the 12th port was closed early").isTrue();
            assertThat(portIsFree(ports.get(12))).as("the 13th port still cools down").isFalse();
            assertThat(portIsFree(ports.get(19))).as("the newest port still cools down").isFalse();

            // A second user's churn fills the server-wide cap: the oldest ports overall, the first user's, go first.
            churn(OTHER_USER, target, 6);
            assertThat(server.stats().coolingSockets()).as("the server-wide cap").isEqualTo(12);
            assertThat(server.stats().coolDownReleasedEarly()).isEqualTo(14);
            assertThat(portIsFree(ports.get(13))).as("the first user's oldest remaining port").isTrue();
            assertThat(portIsFree(ports.get(14))).isFalse();
            assertThat(server.stats().v0UdpRefusedBudget()).as("nobody refused").isZero();
        }
    }

    /** {@code n} v0 UDP connections of {@code user}, one after another, each sending one datagram, then closed. */
    private static List<Integer> churn(UUID user, UdpPeer target, int n) throws Exception {
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long before = entered();
            try (TestClient c = server.open(v0(user, VlessCommand.UDP, target.address()),
                    TestClient.frame(ascii("x" + i)))) {
                ports.add(target.receive().source().getPort());
            }
            // In order: each port is cooling before the next is opened, so "oldest" is well defined.
            Loopback.await("port " + i + " cooling", 5000, () -> entered() == before + 1);
        }
        return ports;
    }

    /** Ports that ever entered the cool-down: cooling now plus closed early. */
    private static long entered() {
        return server.stats().coolingSockets() + server.stats().coolDownReleasedEarly();
    }

    /** Whether the server no longer holds {@code port}: the server binds the wildcard, so a bind here collides. */
    private static boolean portIsFree(int port) {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), port))) {
            return true;
        } catch (SocketException e) {
            return false;
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
