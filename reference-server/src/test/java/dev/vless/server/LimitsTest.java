// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The per-context limits of LIM-1, set low. */
class LimitsTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b
            .maxContextsPerUser(1)
            .maxUdpConnectionsPerContext(2)).runForEachTest();

    @Test
    @DisplayName("LIM-1 · beyond the contexts a user may have, a new client IP's UDP and CRUMFURS are closed")
    void contextsPerUserAreBounded() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.3");
             TestClient first = server.connectFrom("127.0.0.1").sendHeader(VlessRequest.crumfurs(USER))
                     .expectCrumfursAck();
             TestClient udp = server.connectFrom("127.0.0.2").sendHeader(v1(USER, VlessCommand.UDP,
                     peer.address()), TestClient.frame(ascii("over the limit")));
             TestClient crf = server.connectFrom("127.0.0.2").sendHeader(VlessRequest.crumfurs(USER))) {
            udp.assertNoByteAndClosedWithin(Duration.ofSeconds(3));
            crf.assertNoByteAndClosedWithin(Duration.ofSeconds(3));
            peer.assertNothingReceived(Duration.ofMillis(100));
            first.assertSilentFor(Duration.ofMillis(100)); // the context that exists is unaffected
        }
    }

    @Test
    @DisplayName("LIM-1 · beyond the open command-2 connections a context may have, the least recently active is closed")
    void udpConnectionsPerContextAreBounded() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             UdpPeer c = UdpPeer.bind("127.0.0.2");
             TestClient toA = server.openUdp(a.address());
             TestClient toB = server.openUdp(b.address())) {
            toA.sendFrames(ascii("a"));
            a.receive();
            toB.sendFrames(ascii("b"));
            InetSocketAddress mapped = b.receive().source();
            try (TestClient toC = server.openUdp(c.address())) {
                toA.assertNoByteAndClosedWithin(Duration.ofSeconds(3)); // the least recently active of three
                toC.sendFrames(ascii("c"));
                assertThat(c.receive().text()).isEqualTo("c");
                b.send("b still open", mapped);
                assertThat(toB.readFrame()).isEqualTo(ascii("b still open"));
            }
        }
    }
}
