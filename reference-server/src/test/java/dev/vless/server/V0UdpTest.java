// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v0;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** v0 command 2: the response header, and a socket that hears only its target (UDP-7). */
class V0UdpTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension().runForEachTest();

    @Test
    @DisplayName("RSP-2, UDP-1 · 00 00 comes once, before the first frame, and is not part of it")
    void responseHeaderPrecedesTheFirstFrame() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2").echoing();
             TestClient c = server.open(v0(USER, VlessCommand.UDP, peer.address()))) {
            c.assertSilentFor(Duration.ofMillis(200)); // nothing at acceptance
            c.sendFrames(ascii("one"), new byte[0]);
            assertThat(peer.receive().text()).isEqualTo("one");
            assertThat(peer.receive().payload()).as("an empty datagram").isEmpty();
            c.expectV0ResponseHeader();
            assertThat(c.readFrame()).isEqualTo(ascii("one"));
            assertThat(c.readFrame()).isEmpty();
            c.sendFrames(ascii("two"));
            assertThat(c.readFrame()).as("no second header").isEqualTo(ascii("two"));
        }
    }

    @Test
    @DisplayName("UDP-7 · a stranger's datagram to the v0 socket is dropped and counted; the target's arrive")
    void onlyTheTargetIsHeard() throws Exception {
        try (UdpPeer target = UdpPeer.bind("127.0.0.2");
             UdpPeer stranger = UdpPeer.bind("127.0.0.3");
             UdpPeer sameIpOtherPort = UdpPeer.bind("127.0.0.2");
             TestClient crf = server.openCrumfurs();
             TestClient c = server.open(v0(USER, VlessCommand.UDP, target.address()), TestClient.frame(ascii("hi")))) {
            InetSocketAddress mapped = target.receive().source();
            stranger.send("not for you", mapped);
            sameIpOtherPort.send("nor this", mapped);
            Loopback.await("two FOREIGN_SOURCE drops", 5000,
                    () -> server.stats().drops(DropReason.FOREIGN_SOURCE) == 2);
            target.send("reply", mapped);
            c.expectV0ResponseHeader();
            assertThat(c.readFrame()).isEqualTo(ascii("reply"));
            crf.assertSilentFor(Duration.ofMillis(100)); // a v0 socket is in no NAT context, so no UMFURS either
        }
    }

    @Test
    @DisplayName("UDP-7, NAT-8 · v0 and v1 connections of one user to one target use different server ports")
    void v0IsNotPartOfTheNatContext() throws Exception {
        try (UdpPeer target = UdpPeer.bind("127.0.0.2");
             TestClient v1 = server.openUdp(target.address());
             TestClient v0 = server.open(v0(USER, VlessCommand.UDP, target.address()))) {
            v1.sendFrames(ascii("v1"));
            InetSocketAddress viaV1 = target.receive().source();
            v0.sendFrames(ascii("v0"));
            InetSocketAddress viaV0 = target.receive().source();
            assertThat(viaV0.getPort()).isNotEqualTo(viaV1.getPort());
            target.send("to v0", viaV0);
            v0.expectV0ResponseHeader();
            assertThat(v0.readFrame()).isEqualTo(ascii("to v0"));
            v1.assertSilentFor(Duration.ofMillis(100));
        }
    }

    @Test
    @DisplayName("UDP-5 · an oversize frame on v0 is dropped and counted, and the next frame still goes out")
    void oversizeFrameOnV0IsDropped() throws Exception {
        try (UdpPeer target = UdpPeer.bind("127.0.0.2");
             TestClient c = server.open(v0(USER, VlessCommand.UDP, target.address()))) {
            c.sendFrames(new byte[65508], ascii("after"));
            assertThat(target.receive().text()).isEqualTo("after");
            assertThat(server.stats().drops(DropReason.OVERSIZE)).isEqualTo(1);
        }
    }

    @Test
    @DisplayName("UDP-8 · the client's end of stream closes a v0 command-2 connection")
    void clientEndOfStreamCloses() throws Exception {
        try (UdpPeer target = UdpPeer.bind("127.0.0.2");
             TestClient c = server.open(v0(USER, VlessCommand.UDP, target.address()))) {
            c.shutdownOutput();
            c.assertEndOfStream();
        }
    }
}
