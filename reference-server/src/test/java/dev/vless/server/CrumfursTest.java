// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The CRUMFURS channel: acknowledgement, UMFURS from unknown sources with their true address, replacement, client
 * input and end of stream, and the hole-punching sequence it exists for. Each test gets a fresh server so that one
 * test's CRUMFURS and sockets cannot stand in for another's.
 */
class CrumfursTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension().runForEachTest();

    /** Opens a command-2 connection to {@code peer}, sends one datagram, and returns the mapped address it saw. */
    private static InetSocketAddress mappedAddressSeenBy(UdpPeer peer, TestClient udp) throws Exception {
        udp.sendFrames(ascii("hello " + peer.address()));
        return peer.receive().source();
    }

    @Test
    @DisplayName("CRF-1, CRF-2 · the answer is the single byte 0x14, and then the channel stays open and silent")
    void acknowledgesWithOneByteAndStaysOpen() throws Exception {
        try (TestClient crf = server.connect()) {
            crf.sendHeader(VlessRequest.crumfurs(USER));
            crf.expectCrumfursAck();
            crf.assertSilentFor(Duration.ofMillis(300));
        }
        assertThat(server.stats().crumfursRequests()).isEqualTo(1);
    }

    @Test
    @DisplayName("DLV-2, UMF-1, UMF-4 · a datagram from an unknown source arrives as a UMFURS with its true source")
    void unknownSourceArrivesAsUmfursWithTrueSource() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient crf = server.openCrumfurs();
             TestClient udp = server.openUdp(a.address())) {
            InetSocketAddress mapped = mappedAddressSeenBy(a, udp);
            b.send("from b", mapped);
            TestClient.Umfurs m = crf.readUmfurs();
            assertThat(m.source()).isEqualTo(b.address());
            assertThat(m.text()).isEqualTo("from b");
            b.send(new byte[0], mapped);
            TestClient.Umfurs empty = crf.readUmfurs();
            assertThat(empty.source()).isEqualTo(b.address());
            assertThat(empty.payload()).as("UMF-5: an empty datagram is an empty UMFURS").isEmpty();
        }
    }

    @Test
    @DisplayName("NAT-3, NAT-4 · hole punching: B writes to the mapped address first, the client answers from it")
    void holePunchingAnswerLeavesFromTheMappedAddress() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient crf = server.openCrumfurs();
             TestClient toA = server.openUdp(a.address())) {
            InetSocketAddress mapped = mappedAddressSeenBy(a, toA); // a rendezvous server would tell B this address
            b.send("punch", mapped);
            TestClient.Umfurs m = crf.readUmfurs();
            assertThat(m.source()).isEqualTo(b.address());
            try (TestClient toB = server.openUdp(m.source())) {
                toB.sendFrames(ascii("answer"));
                UdpPeer.Datagram d = b.receive();
                assertThat(d.text()).isEqualTo("answer");
                assertThat(d.source()).as("B sees the address A saw").isEqualTo(mapped);
                b.send("over the open path", mapped);
                assertThat(toB.readFrame()).as("DLV-1: B's datagrams now come on the connection to B")
                        .isEqualTo(ascii("over the open path"));
            }
        }
    }

    @Test
    @DisplayName("CRF-3 · a second CRUMFURS closes the first, and UMFURS go to the second")
    void secondCrumfursReplacesTheFirst() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient first = server.openCrumfurs();
             TestClient udp = server.openUdp(a.address())) {
            InetSocketAddress mapped = mappedAddressSeenBy(a, udp);
            try (TestClient second = server.openCrumfurs()) {
                first.assertEndOfStream();
                b.send("for the second", mapped);
                assertThat(second.readUmfurs().text()).isEqualTo("for the second");
            }
        }
    }

    @Test
    @DisplayName("CRF-1, DLV-2 · once 0x14 has arrived, the channel receives every UMFURS (even right after)")
    void umfursRightAfterTheAcknowledgementIsDelivered() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient udp = server.openUdp(a.address())) {
            InetSocketAddress mapped = mappedAddressSeenBy(a, udp);
            // Repeatedly: a new CRUMFURS replaces the last, and a datagram is sent the moment its 0x14 has arrived.
            for (int i = 0; i < 20; i++) {
                try (TestClient crf = server.openCrumfurs()) {
                    b.send("right after " + i, mapped);
                    assertThat(crf.readUmfurs().text()).isEqualTo("right after " + i);
                }
            }
        }
    }

    @Test
    @DisplayName("CRF-4 · bytes the client sends on CRUMFURS are discarded; the channel stays open and in sync")
    void clientBytesAreDiscarded() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient crf = server.connect();
             TestClient udp = server.openUdp(a.address())) {
            // Bytes in the header's own write, and more later: none of it may come back or break the stream.
            crf.sendHeader(VlessRequest.crumfurs(USER), ascii("padding in the header's write"));
            crf.expectCrumfursAck();
            crf.send(new byte[10_000]);
            crf.assertSilentFor(Duration.ofMillis(200));
            InetSocketAddress mapped = mappedAddressSeenBy(a, udp);
            b.send("still works", mapped);
            TestClient.Umfurs m = crf.readUmfurs();
            assertThat(m.source()).isEqualTo(b.address());
            assertThat(m.text()).isEqualTo("still works");
        }
    }

    @Test
    @DisplayName("CRF-4 · the client's end of stream closes CRUMFURS")
    void clientEndOfStreamClosesCrumfurs() throws Exception {
        try (TestClient crf = server.openCrumfurs()) {
            crf.shutdownOutput();
            crf.assertEndOfStream();
        }
    }

    @Test
    @DisplayName("DLV-4 · after the connection to a remote closes, that remote's datagrams arrive on CRUMFURS")
    void remoteWithClosedConnectionComesBackOnCrumfurs() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             TestClient crf = server.openCrumfurs()) {
            InetSocketAddress mapped;
            try (TestClient udp = server.openUdp(a.address())) {
                mapped = mappedAddressSeenBy(a, udp);
            }
            // The close reaches the server asynchronously: repeat until a datagram lands on CRUMFURS.
            TestClient.Umfurs m = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (m == null && System.nanoTime() < deadline) {
                a.send("after close", mapped);
                if (crf.hasDataWithin(Duration.ofMillis(100))) {
                    m = crf.readUmfurs();
                }
            }
            assertThat(m).as("a UMFURS from A").isNotNull();
            assertThat(m.source()).isEqualTo(a.address());
            assertThat(m.text()).isEqualTo("after close");
        }
    }

    @Test
    @DisplayName("UMF-1, UMF-3 · an IPv6 source arrives as address type 3")
    void ipv6SourceIsAddressType3() throws Exception {
        assumeTrue(Loopback.hasIpv6(), "no ::1 on this host");
        try (UdpPeer a = UdpPeer.bind("::1");
             UdpPeer b = UdpPeer.bind("::1");
             TestClient crf = server.openCrumfurs();
             TestClient udp = server.openUdp(a.address())) {
            InetSocketAddress mapped = mappedAddressSeenBy(a, udp);
            b.send("six", mapped);
            TestClient.Umfurs m = crf.readUmfurs();
            assertThat(m.source()).isEqualTo(b.address());
            assertThat(m.text()).isEqualTo("six");
        }
    }
}
