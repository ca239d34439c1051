// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The counters an operator reads (LIM-1 asks for limits and drops to be reported). A fresh server per test. */
class StatsTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b
            .handshakeTimeout(VlessServerExtension.SHORT_HANDSHAKE)).runForEachTest();

    @Test
    @DisplayName("a fresh server has counted nothing")
    void freshServerCountsNothing() {
        ServerStats s = server.stats();
        assertThat(s.connectionsAccepted()).isZero();
        assertThat(s.tcpRequests() + s.udpRequests() + s.crumfursRequests()).isZero();
        assertThat(s.drops().values()).allMatch(v -> v == 0);
        assertThat(s.format()).contains("drops none");
    }

    @Test
    @DisplayName("requests, datagrams in and out, UMFURS and drops are counted as they happen")
    void countersFollowTraffic() throws Exception {
        try (TcpEchoServer echo = TcpEchoServer.start();
             UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3")) {
            try (TestClient tcp = server.open(v1(USER, VlessCommand.TCP, echo.address()), ascii("x"))) {
                tcp.readExactly(1);
            }
            InetSocketAddress mapped;
            try (TestClient crf = server.openCrumfurs();
                 TestClient udp = server.openUdp(a.address())) {
                udp.sendFrames(ascii("1"), ascii("2"), ascii("3"));
                mapped = a.receive().source();
                a.receive();
                a.receive();
                a.send("back", mapped);
                udp.readFrame();
                b.send("unknown", mapped);
                crf.readUmfurs();
                // Counted just after the UMFURS was handed to the channel, so possibly after it arrived here.
                Loopback.await("the UMFURS counted", 5000, () -> server.stats().umfursSent() == 1);

                ServerStats s = server.stats();
                assertThat(s.tcpRequests()).isEqualTo(1);
                assertThat(s.udpRequests()).isEqualTo(1);
                assertThat(s.crumfursRequests()).isEqualTo(1);
                assertThat(s.datagramsOut()).isEqualTo(3);
                assertThat(s.datagramsIn()).isEqualTo(2);
                assertThat(s.umfursSent()).isEqualTo(1);
                assertThat(s.liveContexts()).isEqualTo(1);
                assertThat(s.liveSockets()).isEqualTo(1);
                assertThat(s.liveMappings()).as("A dialed, A heard, B heard").isEqualTo(3);
                assertThat(s.connectionsOpen()).isEqualTo(2);
            }
            // With the connection and CRUMFURS gone (the server learns of it asynchronously), A's datagrams have no
            // receiver: dropped and counted.
            Loopback.await("connections closed", 5000, () -> server.stats().connectionsOpen() == 0);
            Loopback.await("a NO_RECEIVER drop", 5000, () -> {
                try {
                    a.send("nobody", mapped);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return server.stats().drops(DropReason.NO_RECEIVER) > 0;
            });
            assertThat(server.stats().connectionsAccepted()).isEqualTo(3);
            assertThat(server.stats().format()).contains("no_receiver=");
        }
    }

    @Test
    @DisplayName("bad input and handshake timeouts are counted")
    void badInputIsCounted() throws Exception {
        try (TestClient c = server.open(v1(UUID.randomUUID(), VlessCommand.TCP,
                new InetSocketAddress("127.0.0.1", 9)))) {
            c.assertNoByteAndClosedWithin(VlessServerExtension.SHORT_HANDSHAKE.plusSeconds(1));
        }
        try (TestClient c = server.connect()) {
            c.send(new byte[] {1, 2, 3});
            c.assertNoByteAndClosedWithin(VlessServerExtension.SHORT_HANDSHAKE.plusSeconds(1));
        }
        ServerStats s = server.stats();
        assertThat(s.badInput()).isEqualTo(2);
        assertThat(s.handshakeTimeouts()).isEqualTo(1);
        assertThat(s.fallbacks()).isZero();
    }
}
