// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Starting and stopping a server from code. */
class ServerLifecycleTest {

    static VlessServer newServer() {
        return VlessServer.builder()
                .listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .user(USER)
                .plaintext()
                .destinations(DestinationFilter.allowingLoopback())
                .build();
    }

    @Test
    @DisplayName("port 0 binds an ephemeral port, which localAddress reports; a second start fails")
    void reportsTheBoundPortAndStartsOnce() throws Exception {
        VlessServer server = newServer();
        assertThat(server.localAddress()).isNull();
        try {
            server.start().get(10, TimeUnit.SECONDS);
            assertThat(server.localAddress().getPort()).isPositive();
            assertThat(server.certificateFingerprint()).as("plaintext has no certificate").isNull();
            Assertions.assertThatThrownBy(() -> server.start().get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(IllegalStateException.class);
        } finally {
            server.close();
        }
        server.close(); // stopping twice is harmless
    }

    @Test
    @DisplayName("CRF-2 · stopping the server ends every connection: TCP relay, command 2 and CRUMFURS")
    void stopClosesEveryConnection() throws Exception {
        try (TcpEchoServer echo = TcpEchoServer.start();
             UdpPeer peer = UdpPeer.bind("127.0.0.2")) {
            VlessServer server = newServer().start().get(10, TimeUnit.SECONDS);
            try (TestClient tcp = TestClient.connect(server.localAddress());
                 TestClient udp = TestClient.connect(server.localAddress());
                 TestClient crf = TestClient.connect(server.localAddress())) {
                tcp.sendHeader(v1(USER, VlessCommand.TCP, echo.address()), ascii("up"));
                assertThat(tcp.readAscii(2)).isEqualTo("up");
                udp.sendHeader(v1(USER, VlessCommand.UDP, peer.address()), TestClient.frame(ascii("up")));
                peer.receive();
                crf.sendHeader(VlessRequest.crumfurs(USER)).expectCrumfursAck();

                server.stop().get(10, TimeUnit.SECONDS);

                tcp.assertEndOfStream();
                udp.assertEndOfStream();
                crf.assertEndOfStream();
            } finally {
                server.close();
            }
        }
    }
}
