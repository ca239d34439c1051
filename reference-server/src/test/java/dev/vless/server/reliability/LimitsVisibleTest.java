// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.reliability;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.server.Limit;
import dev.vless.server.MappingPolicy;
import dev.vless.server.ServerStats;
import dev.vless.server.testing.LogCapture;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every limit the server enforces is visible: a named counter in the stats and its line, and one line at INFO (not
 * WARN: clients cause these) that names the option to raise — however often the limit is hit.
 */
class LimitsVisibleTest {

    @RegisterExtension
    final VlessServerExtension server = new VlessServerExtension(b -> b
            .maxContextsPerUser(1)
            .maxUdpConnectionsPerContext(2)
            .maxTableEntries(4)
            .maxSocketsPerContext(2)
            .mappingPolicy(MappingPolicy.PER_DESTINATION)
            .maxConnections(40)
            .maxMuxPerContext(1)
            .muxNewDestinationsPerSecond(1)).runForEachTest();

    @Test
    @DisplayName("each limit hit is counted under its name, in the stats line, and logged once at INFO naming its option")
    void everyLimitIsCountedAndNamed() throws Exception {
        try (LogCapture log = LogCapture.start()) {
            List<UdpPeer> peers = new ArrayList<>();
            List<TestClient> conns = new ArrayList<>();
            try {
                // Six destinations from one context: past 2 connections (the least recently active closed), past
                // 2 sockets (the rest share one), past 4 entries (the oldest evicted).
                for (int i = 0; i < 6; i++) {
                    UdpPeer p = UdpPeer.bind("127.0.0." + (2 + i % 3));
                    peers.add(p);
                    conns.add(server.openUdp(p.address()).sendFrames(ascii("to " + i)));
                    assertThat(p.receive().text()).isEqualTo("to " + i);
                }
                // UDP-MUX: a second MUX closes the first (past 1 per context); a second new destination within the
                // second is dropped (past 1 per second).
                try (UdpPeer m1 = UdpPeer.bind("127.0.0.2"); UdpPeer m2 = UdpPeer.bind("127.0.0.3");
                     TestClient first = server.openMux()) {
                    first.send(TestClient.muxFrame(m1.address(), ascii("mux")),
                            TestClient.muxFrame(m2.address(), ascii("over the rate")));
                    assertThat(m1.receive().text()).isEqualTo("mux");
                    try (TestClient second = server.openMux()) {
                        first.assertEndOfStream();
                    }
                }
                // A second client IP of the same user: past 1 context per user.
                try (TestClient other = server.connectFrom("127.0.0.9").sendHeader(v1(USER, VlessCommand.UDP,
                        peers.get(0).address()), TestClient.frame(ascii("refused")))) {
                    other.assertNoByteAndClosedWithin(Duration.ofSeconds(3));
                }
                // Past 40 client connections: those beyond are closed at accept. Which ones depends on how many of the
                // UDP connections above the server still holds, so every extra one is looked at.
                List<TestClient> filler = new ArrayList<>();
                try {
                    for (int i = 0; i < 45; i++) {
                        filler.add(server.connect());
                    }
                    Thread.sleep(300);
                    long refused = 0;
                    for (TestClient c : filler) {
                        refused += closedAtOnce(c) ? 1 : 0;
                    }
                    assertThat(refused).as("connections closed at accept past --max-connections 40").isPositive();
                } finally {
                    for (TestClient c : filler) {
                        c.close();
                    }
                }
            } finally {
                for (TestClient c : conns) {
                    c.close();
                }
                for (UdpPeer p : peers) {
                    p.close();
                }
            }
            ServerStats s = server.stats();
            for (Limit l : Limit.values()) {
                assertThat(s.limits(l)).as("times %s was enforced", l).isPositive();
                assertThat(s.format()).contains(" " + l.label() + "=");
                assertThat(log.linesContaining("limit reached").stream().filter(x -> x.contains(l.option())))
                        .as("INFO lines naming %s", l.option()).hasSize(1)
                        .allMatch(x -> x.contains(" INFO ") && x.contains("raise " + l.option()));
            }
            assertThat(log.linesAtOrAbove("WARN")).isEmpty();
        }
    }

    @Test
    @DisplayName("one user opening v1 UDP connections as fast as it can, far past its limits, does not slow another"
            + " user's request and logs no exception")
    void v1FloodDoesNotHurtAnotherUser() throws Exception {
        try (LogCapture log = LogCapture.start(); UdpPeer target = UdpPeer.bind("127.0.0.2").echoing()) {
            Duration quiet = otherUsersRoundTrip(target.address());
            List<TestClient> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 30; i++) {
                    flood.add(server.openUdp(target.address()).sendFrames(ascii("flood " + i)));
                }
                Duration loaded = otherUsersRoundTrip(target.address());
                // Medians of several; the floor covers a shared, noisy machine.
                assertThat(loaded).as("another user's UDP round trip while one user floods (quiet: %s)", quiet)
                        .isLessThan(quiet.multipliedBy(2).plusMillis(20));
            } finally {
                for (TestClient c : flood) {
                    c.close();
                }
            }
            assertThat(server.stats().limits(Limit.UDP_CONNECTIONS_PER_CONTEXT)).isPositive();
            assertThat(log.lines()).noneMatch(l -> l.contains("Exception"));
            assertThat(log.linesAtOrAbove("WARN")).isEmpty();
        }
    }

    /** Whether the server has closed {@code c} without a byte (looked at without waiting long). */
    private static boolean closedAtOnce(TestClient c) throws java.io.IOException {
        java.net.Socket s = c.socket();
        int was = s.getSoTimeout();
        s.setSoTimeout(20);
        try {
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (java.net.SocketException e) {
            return true; // reset
        } finally {
            s.setSoTimeout(was);
        }
    }

    /** The median of 9 UDP round trips of the other user, through its own connection. */
    private Duration otherUsersRoundTrip(InetSocketAddress target) throws Exception {
        long[] rtt = new long[9];
        try (TestClient c = server.open(v1(VlessServerExtension.OTHER_USER, VlessCommand.UDP, target))) {
            for (int i = 0; i < rtt.length; i++) {
                long start = System.nanoTime();
                c.sendFrames(ascii("other user " + i));
                assertThat(new String(c.readFrame(), java.nio.charset.StandardCharsets.US_ASCII))
                        .isEqualTo("other user " + i);
                rtt[i] = System.nanoTime() - start;
            }
        }
        java.util.Arrays.sort(rtt);
        return Duration.ofNanos(rtt[rtt.length / 2]);
    }
}
