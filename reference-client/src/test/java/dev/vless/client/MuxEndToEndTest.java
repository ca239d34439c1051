// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.client.testing.Rig;
import dev.vless.client.testing.SocksUdpApp;
import dev.vless.client.testing.UdpPeer;
import dev.vless.client.testing.UdpPeerSet;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The MUX mode end to end against the reference server: one TLS connection carries a client's UDP to a thousand
 * remotes, every reply labelled with its true source (MUX-23), and a name's reply labelled with the address it
 * resolved to.
 */
class MuxEndToEndTest {

    private static final int REMOTES = 1000;
    private static final int DATAGRAMS_EACH = 3;
    /** Datagrams sent before their replies are collected: enough to be a burst, few enough for loopback buffers. */
    private static final int BATCH = 50;

    @Test
    void talksToAThousandRemotesOverOneConnection() throws Exception {
        try (Rig rig = Rig.of(true, s -> { }, c -> c.udpMode(UdpMode.MUX));
                UdpPeerSet peers = UdpPeerSet.bind(REMOTES, 10);
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            List<InetSocketAddress> remotes = peers.addresses();
            // Every datagram the application sends, and what the reply from that remote must say and be labelled.
            List<Expected> all = new ArrayList<>();
            for (int round = 0; round < DATAGRAMS_EACH; round++) {
                for (int i = 0; i < REMOTES; i++) {
                    all.add(new Expected(remotes.get(i), "d" + round + "-" + i));
                }
            }
            int resent = 0;
            long start = System.nanoTime();
            for (int from = 0; from < all.size(); from += BATCH) {
                List<Expected> batch = all.subList(from, Math.min(all.size(), from + BATCH));
                Map<String, Expected> waiting = new HashMap<>();
                for (Expected e : batch) {
                    waiting.put(e.payload(), e);
                }
                for (int attempt = 0; !waiting.isEmpty(); attempt++) {
                    assertThat(attempt).as("attempts for %s datagrams still unanswered", waiting.size()).isLessThan(3);
                    if (attempt > 0) {
                        resent += waiting.size(); // lost on loopback under load: UDP may lose, labels may not lie
                    }
                    for (Expected e : waiting.values()) {
                        app.send(e.remote(), e.payload());
                    }
                    collect(app, waiting);
                }
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            // The server saw exactly one connection from the client for all of it: the MUX connection.
            assertThat(rig.server.stats().connectionsAccepted()).isEqualTo(1);
            assertThat(rig.server.stats().muxRequests()).isEqualTo(1);
            assertThat(rig.server.stats().udpRequests()).isZero();
            assertThat(rig.server.stats().crumfursRequests()).isZero();
            ClientStats stats = rig.client.stats();
            assertThat(stats.muxEstablished()).isEqualTo(1);
            assertThat(stats.muxFallbacks()).isZero();
            assertThat(stats.udpFlowsOpened()).isZero();
            assertThat(stats.crumfursEstablished()).isZero();
            assertThat(stats.muxFramesIn()).isGreaterThanOrEqualTo(all.size());
            assertThat(stats.muxProtocolErrors()).isZero();
            // Endpoint-independent mapping over MUX: every remote saw the same external address (MUX-13, NAT-2).
            assertThat(peers.sources()).hasSize(1);
            System.out.printf("MUX: %d datagrams to %d remotes and back in %d ms, %d sent again; client: %s%n",
                    all.size(), REMOTES, took.toMillis(), resent, stats.format());
            assertThat(resent).as("datagrams sent again").isLessThan(all.size() / 100);
        }
    }

    @Test
    void burstsToAThousandRemotesAtOnce() throws Exception {
        // A DHT-like cold start: one datagram to each of 1 000 remotes as fast as the application can send, right
        // after the association opened (the first ones may wait for the 0x15 in the client's queue).
        try (Rig rig = Rig.of(true, s -> { }, c -> c.udpMode(UdpMode.MUX));
                UdpPeerSet peers = UdpPeerSet.bind(REMOTES, 10);
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            Map<String, Expected> waiting = new HashMap<>();
            for (int i = 0; i < REMOTES; i++) {
                Expected e = new Expected(peers.addresses().get(i), "burst-" + i);
                waiting.put(e.payload(), e);
            }
            long start = System.nanoTime();
            int lost = 0;
            for (int attempt = 0; !waiting.isEmpty(); attempt++) {
                assertThat(attempt).as("attempts for %s datagrams still unanswered", waiting.size()).isLessThan(4);
                if (attempt > 0) {
                    lost += waiting.size();
                }
                for (Expected e : waiting.values()) {
                    app.send(e.remote(), e.payload());
                }
                collect(app, waiting);
            }
            ClientStats stats = rig.client.stats();
            System.out.printf("MUX burst: %d remotes answered in %d ms, %d datagrams sent again; client: %s%n",
                    REMOTES, (System.nanoTime() - start) / 1_000_000, lost, stats.format());
            assertThat(rig.server.stats().connectionsAccepted()).isEqualTo(1);
            assertThat(stats.muxEstablished()).isEqualTo(1);
            assertThat(peers.sources()).hasSize(1);
            assertThat(lost).as("datagrams lost in the burst and sent again").isLessThan(REMOTES / 10);
        }
    }

    /** Reads replies until every datagram of {@code waiting} is answered or 2 s pass without one. */
    private static void collect(SocksUdpApp app, Map<String, Expected> waiting) throws Exception {
        while (!waiting.isEmpty()) {
            SocksUdpApp.Received r = app.poll(Duration.ofSeconds(2));
            if (r == null) {
                return;
            }
            String text = r.text();
            int bar = text.indexOf('|');
            assertThat(bar).as("reply %s", text).isPositive();
            String sender = text.substring(0, bar);
            Expected e = waiting.get(text.substring(bar + 1));
            if (e == null) {
                continue; // the reply to a datagram sent twice
            }
            // The label is the reply's true source: the peer that wrote its own address into the payload.
            assertThat(r.addressType()).isEqualTo(1);
            assertThat(r.source()).isEqualTo(e.remote());
            assertThat(sender).isEqualTo(e.remote().getAddress().getHostAddress() + ":" + e.remote().getPort());
            waiting.remove(e.payload());
        }
    }

    private record Expected(InetSocketAddress remote, String payload) {
    }

    @ParameterizedTest(name = "tls={0}")
    @ValueSource(booleans = {false, true})
    void labelsTheReplyToANameWithTheResolvedAddress(boolean tls) throws Exception {
        try (Rig rig = Rig.of(tls, s -> { }, c -> c.udpMode(UdpMode.MUX));
                UdpPeer peer = UdpPeer.bind("127.0.0.1").echoing();
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send("localhost", peer.address().getPort(), "by name");
            SocksUdpApp.Received r = app.receive();
            assertThat(r.text()).isEqualTo("by name");
            // The server resolved the name (first IPv4 address, MUX-15); the reply's true source is that address.
            assertThat(r.addressType()).isEqualTo(1);
            assertThat(r.source()).isEqualTo(peer.address());
            assertThat(rig.client.stats().muxFramesOut()).isEqualTo(1);
            assertThat(rig.server.stats().connectionsAccepted()).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "tls={0}")
    @ValueSource(booleans = {false, true})
    void fallsBackToPerRemoteOnAServerWithoutTheMode(boolean tls) throws Exception {
        // A server without command 5 treats it as an unknown command (MUX-2): no byte, and the connection closes.
        try (Rig rig = Rig.of(tls, s -> s.udpMux(false), c -> c.udpMode(UdpMode.MUX));
                UdpPeer a = UdpPeer.bind("127.0.0.2"); UdpPeer b = UdpPeer.bind("127.0.0.3");
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send(a.address(), "hello A"); // waits for the answer, then goes on command 2 (MUX-5)
            UdpPeer.Datagram atA = a.receive();
            assertThat(atA.text()).isEqualTo("hello A");
            // Full cone through CRUMFURS, as in the per-remote mode.
            b.send("hello from B", atA.source());
            SocksUdpApp.Received fromB = app.receive();
            assertThat(fromB.source()).isEqualTo(b.address());
            ClientStats stats = rig.client.stats();
            assertThat(stats.muxFallbacks()).isEqualTo(1);
            assertThat(stats.muxEstablished()).isZero();
            assertThat(stats.udpMode()).isEqualTo(UdpMode.PER_REMOTE);
            assertThat(stats.crumfursEstablished()).isEqualTo(1);
            assertThat(stats.umfurs()).isEqualTo(1);
            assertThat(stats.udpFlowsOpened()).isEqualTo(1);
            // MUX-6: a second association does not ask again.
            try (SocksUdpApp second = SocksUdpApp.open(rig.socks())) {
                second.send(b.address(), "second");
                assertThat(b.receive().text()).isEqualTo("second");
            }
            assertThat(rig.client.stats().muxFallbacks()).isEqualTo(1);
            assertThat(rig.server.stats().muxRequests()).isZero();
        }
    }

    @Test
    void sharesOneConnectionBetweenAssociations() throws Exception {
        try (Rig rig = Rig.of(false, s -> { }, c -> c.udpMode(UdpMode.MUX));
                UdpPeer a = UdpPeer.bind("127.0.0.2").echoing(); UdpPeer b = UdpPeer.bind("127.0.0.3").echoing();
                SocksUdpApp one = SocksUdpApp.open(rig.socks()); SocksUdpApp two = SocksUdpApp.open(rig.socks())) {
            one.send(a.address(), "one to A");
            two.send(b.address(), "two to B");
            // Each association gets the reply from the remote it sent to.
            SocksUdpApp.Received r1 = one.receive();
            SocksUdpApp.Received r2 = two.receive();
            assertThat(r1.text()).isEqualTo("one to A");
            assertThat(r1.source()).isEqualTo(a.address());
            assertThat(r2.text()).isEqualTo("two to B");
            assertThat(r2.source()).isEqualTo(b.address());
            assertThat(rig.client.stats().muxEstablished()).isEqualTo(1);
            assertThat(rig.server.stats().connectionsAccepted()).isEqualTo(1);
            Set<InetSocketAddress> external = new HashSet<>(List.of(a.receive().source(), b.receive().source()));
            assertThat(external).hasSize(1); // one context, one external address (EIM)
            assertThat(r1.payload()).isEqualTo("one to A".getBytes(StandardCharsets.UTF_8));
        }
    }
}
