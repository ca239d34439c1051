// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.client.testing.Rig;
import dev.vless.client.testing.SocksUdpApp;
import dev.vless.client.testing.UdpPeer;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The full-cone behaviour end to end: application, client, reference server, peers on 127.0.0.2 and 127.0.0.3.
 * Peer A plays the rendezvous server; peer B is never contacted before it sends. The hole punch runs in both UDP
 * modes: per remote address with CRUMFURS, and over one UDP-MUX connection.
 */
class FullConeTest {

    /** Both UDP modes, each in plaintext and TLS: the hole punch must work the same way whichever carries it. */
    static Stream<Arguments> modes() {
        return Stream.of(UdpMode.values()).flatMap(m -> Stream.of(Arguments.of(m, false), Arguments.of(m, true)));
    }

    @ParameterizedTest(name = "{0}, tls={1}")
    @MethodSource("modes")
    void punchesAHoleToAPeerThatWasNeverContacted(UdpMode mode, boolean tls) throws Exception {
        try (Rig rig = Rig.of(tls, s -> { }, c -> c.udpMode(mode)); UdpPeer a = UdpPeer.bind("127.0.0.2");
                UdpPeer b = UdpPeer.bind("127.0.0.3"); SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send(a.address(), "hello A");
            UdpPeer.Datagram atA = a.receive();
            InetSocketAddress mapped = atA.source(); // what A tells B about the application
            assertThat(atA.text()).isEqualTo("hello A");

            // B sends to the mapped address: it arrives as a UMFURS or a MUX frame, labelled with B (CLI-2, MUX-23).
            b.send("hello from B", mapped);
            SocksUdpApp.Received fromB = app.receive();
            assertThat(fromB.text()).isEqualTo("hello from B");
            assertThat(fromB.addressType()).isEqualTo(1);
            assertThat(fromB.source()).isEqualTo(b.address());

            // The application answers B, and B sees the same mapped address A saw (NAT-2, MUX-13).
            app.send(b.address(), "hi B");
            UdpPeer.Datagram atB = b.receive();
            assertThat(atB.text()).isEqualTo("hi B");
            assertThat(atB.source()).isEqualTo(mapped);

            // From now on B's datagrams come back, still labelled with B.
            b.send("again", mapped);
            SocksUdpApp.Received again = app.receive();
            assertThat(again.text()).isEqualTo("again");
            assertThat(again.source()).isEqualTo(b.address());

            ClientStats stats = rig.client.stats();
            if (mode == UdpMode.PER_REMOTE) {
                assertThat(stats.umfurs()).isEqualTo(1); // only B's first datagram came on CRUMFURS
                assertThat(stats.udpFlowsOpened()).isEqualTo(2); // a new connection to answer B
                assertThat(stats.muxEstablished()).isZero();
            } else {
                // One MUX connection carried all of it: no CRUMFURS, no command 2, nothing else at the server.
                assertThat(stats.udpMode()).isEqualTo(UdpMode.MUX);
                assertThat(stats.muxEstablished()).isEqualTo(1);
                assertThat(stats.muxFallbacks()).isZero();
                assertThat(stats.muxFramesOut()).isEqualTo(2);
                assertThat(stats.muxFramesIn()).isEqualTo(2);
                assertThat(stats.umfurs()).isZero();
                assertThat(stats.udpFlowsOpened()).isZero();
                assertThat(stats.crumfursEstablished()).isZero();
                assertThat(rig.server.stats().connectionsAccepted()).isEqualTo(1);
                assertThat(rig.server.stats().muxRequests()).isEqualTo(1);
            }
        }
    }

    @Test
    void acceptsUmfursFromARemoteWhoseConnectionWasClosed() throws Exception {
        try (Rig rig = Rig.of(false, s -> { }, c -> c.udpIdle(Duration.ofMillis(300)));
                UdpPeer a = UdpPeer.bind("127.0.0.2").echoing(); SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send(a.address(), "ping");
            assertThat(app.receive().text()).isEqualTo("ping");
            InetSocketAddress mapped = a.receive().source();
            Rig.await("the idle connection to A closed", 3000, () -> rig.client.stats().udpFlowsOpen() == 0);
            Rig.await("the server saw it close", 3000, () -> rig.server.stats().connectionsOpen() == 1);
            // DLV-4: A is known to the client, yet its datagram now comes on CRUMFURS and must still get through.
            a.send("late", mapped);
            SocksUdpApp.Received late = app.receive();
            assertThat(late.text()).isEqualTo("late");
            assertThat(late.source()).isEqualTo(a.address());
            assertThat(rig.client.stats().umfurs()).isEqualTo(1);
        }
    }

    @Test
    void reopensCrumfursAfterTheServerClosedIt() throws Exception {
        try (Rig rig = Rig.plaintext(); UdpPeer a = UdpPeer.bind("127.0.0.2");
                UdpPeer b = UdpPeer.bind("127.0.0.3"); SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            app.send(a.address(), "hello A");
            InetSocketAddress mapped = a.receive().source();
            assertThat(rig.client.stats().crumfursEstablished()).isEqualTo(1);

            // A second CRUMFURS of the same user from the same IP replaces the client's: the server closes it (CRF-3).
            long replacedAt;
            try (Socket rogue = new Socket()) {
                rogue.connect(rig.server.localAddress(), 2000);
                rogue.setSoTimeout(5000);
                rogue.getOutputStream().write(crumfursRequest(rig));
                assertThat(rogue.getInputStream().read()).isEqualTo(0x14);
                replacedAt = System.nanoTime();
                Rig.await("the client's CRUMFURS closed", 2000, () -> !rig.client.stats().crumfursLive());
                // CRF-7: re-opened after the back-off, which in turn replaces ours.
                Rig.await("the CRUMFURS re-established", 5000,
                        () -> rig.client.stats().crumfursEstablished() == 2);
                assertThat(Duration.ofNanos(System.nanoTime() - replacedAt)).isGreaterThanOrEqualTo(
                        Duration.ofMillis(900));
                assertThat(rogue.getInputStream().read()).isEqualTo(-1);
            }

            // UMFURS arrive again.
            b.send("after the re-open", mapped);
            SocksUdpApp.Received r = app.receive();
            assertThat(r.text()).isEqualTo("after the re-open");
            assertThat(r.source()).isEqualTo(b.address());
        }
    }

    private static byte[] crumfursRequest(Rig rig) {
        ByteBuf buf = Unpooled.buffer();
        try {
            VlessClientEncoder.encode(VlessRequest.crumfurs(rig.user), buf);
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }
}
