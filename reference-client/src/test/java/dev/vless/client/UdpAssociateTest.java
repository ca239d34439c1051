// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.client.testing.Rig;
import dev.vless.client.testing.SocksUdpApp;
import dev.vless.client.testing.UdpPeer;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** SOCKS5 UDP ASSOCIATE through the client and an in-process reference server to UDP peers on loopback. */
class UdpAssociateTest {

    @Test
    void echoesThroughPlaintextServer() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing();
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send(echo.address(), "ping");
            SocksUdpApp.Received r = app.receive();
            assertThat(r.text()).isEqualTo("ping");
            assertThat(r.addressType()).isEqualTo(1);
            assertThat(r.source()).isEqualTo(echo.address());
            assertThat(r.fragment()).isZero();
            assertThat(r.from()).isEqualTo(app.relay());
            // CRF-5: the CRUMFURS was up before the first command-2 request.
            assertThat(rig.client.stats().crumfursEstablished()).isEqualTo(1);
            assertThat(rig.server.stats().crumfursRequests()).isEqualTo(1);
        }
    }

    @Test
    void echoesThroughTlsServer() throws Exception {
        try (Rig rig = Rig.tls(); UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing();
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            for (int i = 0; i < 5; i++) {
                app.send(echo.address(), "ping " + i);
                assertThat(app.receive().text()).isEqualTo("ping " + i);
            }
        }
    }

    @Test
    void echoesThroughV0WithoutCrumfurs() throws Exception {
        try (Rig rig = Rig.of(false, s -> { }, c -> c.version(dev.vless.codec.VlessVersion.V0));
                UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing(); SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send(echo.address(), "v0 ping");
            SocksUdpApp.Received r = app.receive();
            assertThat(r.text()).isEqualTo("v0 ping");
            assertThat(r.source()).isEqualTo(echo.address());
            assertThat(rig.server.stats().crumfursRequests()).isZero();
            assertThat(rig.client.stats().crumfursEstablished()).isZero();
        }
    }

    @Test
    void reusesOneConnectionPerRemoteAddress() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer a = UdpPeer.bind("127.0.0.2").echoing();
                UdpPeer b = UdpPeer.bind("127.0.0.3").echoing(); SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            for (int i = 0; i < 3; i++) {
                app.send(a.address(), "a" + i);
                assertThat(app.receive().text()).isEqualTo("a" + i);
                app.send(b.address(), "b" + i);
                assertThat(app.receive().text()).isEqualTo("b" + i);
            }
            // CLI-1: one command-2 connection per remote address, reused.
            assertThat(rig.client.stats().udpFlowsOpened()).isEqualTo(2);
            assertThat(rig.server.stats().udpRequests()).isEqualTo(2);
            // Endpoint-independent mapping on the server: both peers saw the same external address.
            assertThat(a.receive().source()).isEqualTo(b.receive().source());
        }
    }

    @Test
    void carriesEmptyDatagrams() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing();
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send(echo.address(), "");
            assertThat(echo.receive().payload()).isEmpty();
            assertThat(app.receive().payload()).isEmpty();
        }
    }

    @Test
    void carriesLargeDatagrams() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing();
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            String big = "x".repeat(60_000);
            app.send(echo.address(), big);
            assertThat(app.receive().text()).isEqualTo(big);
        }
    }

    @Test
    void reachesIpv6Target() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer echo = UdpPeer.bind("::1").echoing();
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send("::1", echo.address().getPort(), "six");
            SocksUdpApp.Received r = app.receive();
            assertThat(r.text()).isEqualTo("six");
            assertThat(r.addressType()).isEqualTo(4);
            assertThat(r.host()).isEqualTo("::1");
        }
    }

    @Test
    void servesAnApplicationOnAnIpv6Front() throws Exception {
        try (Rig rig = Rig.of(false, s -> { }, c -> c.socks("::1", 0));
                UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing(); SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            assertThat(app.relay().getAddress()).isInstanceOf(java.net.Inet6Address.class);
            app.send(echo.address(), "over six");
            assertThat(app.receive().text()).isEqualTo("over six");
        }
    }

    @Test
    void reachesDomainTargetAndLabelsRepliesWithTheName() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer echo = UdpPeer.bind("127.0.0.1").echoing();
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send("localhost", echo.address().getPort(), "named");
            SocksUdpApp.Received r = app.receive();
            assertThat(r.text()).isEqualTo("named");
            assertThat(r.addressType()).isEqualTo(3);
            assertThat(r.host()).isEqualTo("localhost");
            assertThat(r.port()).isEqualTo(echo.address().getPort());
        }
    }

    @Test
    void dropsFragments() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing();
                SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.sendRaw(SocksUdpApp.datagram(1, "127.0.0.2", echo.address().getPort(),
                    "part".getBytes(StandardCharsets.UTF_8)));
            Rig.await("the fragment counted as dropped", 2000,
                    () -> rig.client.stats().drops(ClientDropReason.FRAGMENTED) == 1);
            assertThat(echo.poll(Duration.ofMillis(200))).isNull();
            // Whole datagrams still pass.
            app.send(echo.address(), "whole");
            assertThat(app.receive().text()).isEqualTo("whole");
        }
    }

    @Test
    void dropsDatagramsFromOtherLocalSources() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing();
                SocksUdpApp app = SocksUdpApp.open(rig.socks());
                DatagramSocket intruder = new DatagramSocket(new InetSocketAddress(
                        InetAddress.getLoopbackAddress(), 0))) {
            app.send(echo.address(), "mine"); // the first datagram fixes the client's port
            assertThat(app.receive().text()).isEqualTo("mine");
            byte[] d = SocksUdpApp.datagram(0, "127.0.0.2", echo.address().getPort(),
                    "theirs".getBytes(StandardCharsets.UTF_8));
            intruder.send(new DatagramPacket(d, d.length, app.relay()));
            Rig.await("the intruder's datagram counted as dropped", 2000,
                    () -> rig.client.stats().drops(ClientDropReason.FOREIGN_SOURCE) == 1);
            assertThat(echo.receive().text()).isEqualTo("mine");
            assertThat(echo.poll(Duration.ofMillis(200))).isNull();
        }
    }

    @Test
    void honoursTheClientAddressNamedInTheRequest() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing();
                SocksUdpApp app = SocksUdpApp.open(rig.socks(), "127.0.0.1", 1)) {
            // The request said the application sends from 127.0.0.1:1, so the app's real port is foreign.
            app.send(echo.address(), "from the wrong port");
            Rig.await("the datagram counted as dropped", 2000,
                    () -> rig.client.stats().drops(ClientDropReason.FOREIGN_SOURCE) == 1);
            assertThat(echo.poll(Duration.ofMillis(200))).isNull();
        }
    }

    @Test
    void endsTheAssociationWithItsControlConnection() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing()) {
            SocksUdpApp app = SocksUdpApp.open(rig.socks());
            app.send(echo.address(), "before");
            assertThat(app.receive().text()).isEqualTo("before");
            app.control().close();
            // The association's command-2 connection goes with it, and the relay port stops relaying.
            Rig.await("the flow closed", 2000, () -> rig.client.stats().udpFlowsOpen() == 0);
            app.send(echo.address(), "after");
            assertThat(echo.receive().text()).isEqualTo("before");
            assertThat(echo.poll(Duration.ofMillis(300))).isNull();
            app.close();
        }
    }

    @Test
    void closesIdleConnections() throws Exception {
        try (Rig rig = Rig.of(false, s -> { }, c -> c.udpIdle(Duration.ofMillis(300)));
                UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing(); SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send(echo.address(), "one");
            assertThat(app.receive().text()).isEqualTo("one");
            assertThat(rig.client.stats().udpFlowsOpen()).isEqualTo(1);
            // CLI-3: closed after the idle time; the next datagram opens a new connection.
            Rig.await("the idle flow closed", 3000, () -> rig.client.stats().udpFlowsOpen() == 0);
            app.send(echo.address(), "two");
            assertThat(app.receive().text()).isEqualTo("two");
            assertThat(rig.client.stats().udpFlowsOpened()).isEqualTo(2);
        }
    }

    @Test
    void countsMalformedHeaders() throws Exception {
        try (Rig rig = Rig.plaintext(); SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.sendRaw(new byte[] {0, 0, 0, 9, 1, 2, 3, 4, 0, 80}); // address type 9
            app.sendRaw(new byte[] {0, 0, 0, 1, 127}); // ends inside the address
            Rig.await("both counted", 2000, () -> rig.client.stats().drops(ClientDropReason.MALFORMED) == 2);
        }
    }
}
