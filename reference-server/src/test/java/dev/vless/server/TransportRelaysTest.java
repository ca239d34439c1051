// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.InetSocketAddress;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The same relays on the transports the other tests (on epoll, where available) do not reach: each subclass runs
 * them on one.
 */
abstract class TransportRelaysTest {

    /** The server of the subclass, on its transport. */
    abstract VlessServerExtension server();

    /** The transport's name as the server reports it. */
    abstract String transportName();

    @Test
    @DisplayName("TCP-1, TCP-3 · TCP relay and half-close")
    void tcpRelay() throws Exception {
        VlessServerExtension server = server();
        assertThat(server.server().transportName()).isEqualTo(transportName());
        try (TcpEchoServer echo = TcpEchoServer.start();
             TestClient c = server.open(v1(USER, VlessCommand.TCP, echo.address()), ascii(transportName()))) {
            c.shutdownOutput();
            assertThat(c.readToEnd()).isEqualTo(ascii(transportName()));
        }
    }

    @Test
    @DisplayName("TCP-3 · each side that ended first still gets what is larger than the socket buffers")
    void halfCloseThenLongTransfer() throws Exception {
        TcpRelayTest.assertLongAnswerAfterClientEnded(server());
        TcpRelayTest.assertLongRequestAfterTargetEnded(server());
    }

    @Test
    @DisplayName("UDP-2, UDP-4, DLV-2 · empty and largest datagrams and UMFURS")
    void udpAndCrumfurs() throws Exception {
        VlessServerExtension server = server();
        byte[] largest = new byte[65507];
        new Random(1).nextBytes(largest);
        try (UdpPeer a = UdpPeer.bind("127.0.0.2").echoing();
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient crf = server.openCrumfurs();
             TestClient udp = server.openUdp(a.address())) {
            udp.sendFrames(new byte[0], largest);
            UdpPeer.Datagram empty = a.receive();
            assertThat(empty.payload()).isEmpty();
            assertThat(a.receive().payload()).isEqualTo(largest);
            assertThat(udp.readFrame()).isEmpty();
            assertThat(udp.readFrame()).isEqualTo(largest);
            InetSocketAddress mapped = empty.source();
            b.send(new byte[0], mapped);
            TestClient.Umfurs m = crf.readUmfurs();
            assertThat(m.source()).isEqualTo(b.address());
            assertThat(m.payload()).isEmpty();
        }
    }
}
