// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.frame;
import static dev.vless.server.testing.TestClient.header;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * v1 command 2 end to end: frames in both directions, sizes at the edges, framing across TCP writes, and frames
 * too large for a datagram. No test here opens CRUMFURS first: the server serves command 2 without it (UDP-6).
 */
class UdpRelayTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension();

    private static final Random random = new Random(7);

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    @Test
    @DisplayName("UDP-1, UDP-3, UDP-6 · a frame becomes one datagram to the target and the answer one frame back")
    void relaysFramesBothWays() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2").echoing();
             TestClient c = server.openUdp(peer.address())) {
            c.sendFrames(ascii("ping"));
            UdpPeer.Datagram d = peer.receive();
            assertThat(d.text()).isEqualTo("ping");
            assertThat(c.readFrame()).isEqualTo(ascii("ping"));
            peer.send("unprompted", d.source());
            assertThat(c.readFrame()).isEqualTo(ascii("unprompted"));
        }
    }

    @Test
    @DisplayName("UDP-2, UDP-4 · datagrams of 0, 1, 1200, 32768 and 65507 bytes arrive intact both ways")
    void datagramsArriveIntact() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2").echoing();
             TestClient c = server.openUdp(peer.address())) {
            for (int size : new int[] {0, 1, 1200, 32768, 65507}) {
                byte[] payload = randomBytes(size);
                c.sendFrames(payload);
                assertThat(peer.receive().payload()).as("%d bytes at the target", size).isEqualTo(payload);
                assertThat(c.readFrame()).as("%d bytes back at the client", size).isEqualTo(payload);
            }
        }
    }

    @Test
    @DisplayName("UDP-2, UDP-4 · an IPv6 target takes datagrams up to 65527 bytes")
    void ipv6TargetTakesItsMaximum() throws Exception {
        assumeTrue(Loopback.hasIpv6(), "no ::1 on this host");
        byte[] payload = randomBytes(65527);
        try (UdpPeer peer = UdpPeer.bind("::1").echoing();
             TestClient c = server.openUdp(peer.address())) {
            c.sendFrames(payload);
            assertThat(peer.receive().payload()).isEqualTo(payload);
            assertThat(c.readFrame()).isEqualTo(payload);
        }
    }

    @Test
    @DisplayName("HDR-11, UDP-1 · frames in the header's write and many frames in one write are each one datagram")
    void manyFramesInOneWrite() throws Exception {
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            payloads.add(ascii("datagram-" + i));
        }
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2").echoing();
             TestClient c = server.connect()) {
            // The header and the first three frames in one write (HDR-11), then the rest in one write.
            c.send(header(v1(USER, VlessCommand.UDP, peer.address())), frame(payloads.get(0)), frame(payloads.get(1)),
                    frame(payloads.get(2)));
            c.sendFrames(payloads.subList(3, payloads.size()).toArray(new byte[0][]));
            List<String> atPeer = new ArrayList<>();
            List<String> atClient = new ArrayList<>();
            for (int i = 0; i < payloads.size(); i++) {
                atPeer.add(peer.receive().text());
                atClient.add(new String(c.readFrame(), StandardCharsets.US_ASCII));
            }
            List<String> expected = payloads.stream()
                    .map(p -> new String(p, StandardCharsets.US_ASCII)).toList();
            assertThat(atPeer).isEqualTo(expected);
            assertThat(atClient).isEqualTo(expected);
        }
    }

    @Test
    @DisplayName("UDP-1, HDR-10 · a frame split across TCP writes at every part is still one datagram")
    void frameSplitAcrossWrites() throws Exception {
        byte[] payload = randomBytes(3000);
        byte[] f = frame(payload);
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2").echoing();
             TestClient c = server.openUdp(peer.address())) {
            // Length bytes apart, then the payload in uneven pieces, each its own write.
            int[] cuts = {1, 2, 3, 700, 2999, f.length};
            int from = 0;
            for (int cut : cuts) {
                c.send(Arrays.copyOfRange(f, from, cut));
                from = cut;
                Thread.sleep(20);
            }
            assertThat(peer.receive().payload()).isEqualTo(payload);
            peer.assertNothingReceived(Duration.ofMillis(100));
            assertThat(c.readFrame()).isEqualTo(payload);
        }
    }

    @Test
    @DisplayName("UDP-5 · frames too large for an IPv4 datagram are dropped and counted; the stream stays in sync")
    void oversizeFrameToIpv4IsDroppedAndCounted() throws Exception {
        long before = server.stats().drops(DropReason.OVERSIZE);
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2").echoing();
             TestClient c = server.openUdp(peer.address())) {
            c.sendFrames(ascii("before"), randomBytes(65508), ascii("between"), randomBytes(65535), ascii("after"));
            for (String expected : new String[] {"before", "between", "after"}) {
                assertThat(peer.receive().text()).isEqualTo(expected);
                assertThat(c.readFrame()).isEqualTo(ascii(expected));
            }
            assertThat(server.stats().drops(DropReason.OVERSIZE)).isEqualTo(before + 2);
            c.sendFrames(ascii("still in sync"));
            assertThat(peer.receive().text()).isEqualTo("still in sync");
        }
    }

    @Test
    @DisplayName("UDP-5 · a frame too large for an IPv6 datagram (65528 bytes) is dropped and counted")
    void oversizeFrameToIpv6IsDroppedAndCounted() throws Exception {
        assumeTrue(Loopback.hasIpv6(), "no ::1 on this host");
        long before = server.stats().drops(DropReason.OVERSIZE);
        try (UdpPeer peer = UdpPeer.bind("::1");
             TestClient c = server.openUdp(peer.address())) {
            c.sendFrames(randomBytes(65528), ascii("after"));
            assertThat(peer.receive().text()).isEqualTo("after");
            assertThat(server.stats().drops(DropReason.OVERSIZE)).isEqualTo(before + 1);
        }
    }

    @Test
    @DisplayName("UDP-8 · the client's end of stream closes the command-2 connection")
    void clientEndOfStreamClosesConnection() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2");
             TestClient c = server.openUdp(peer.address())) {
            c.sendFrames(ascii("last"));
            assertThat(peer.receive().text()).isEqualTo("last");
            c.shutdownOutput();
            c.assertEndOfStream();
        }
    }

    @Test
    @DisplayName("UDP-3, UDP-8 · frames sent with the header and then end of stream still go out before the close")
    void framesBeforeEndOfStreamAreSent() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.1")) {
            int port = peer.address().getPort();
            // An IP literal, a domain (resolved asynchronously) and v0 (a socket of its own, bound asynchronously).
            for (VlessRequest request : List.of(VlessRequest.v1(USER, VlessCommand.UDP, VlessAddress.of("127.0.0.1",
                    port)), VlessRequest.v1(USER, VlessCommand.UDP, VlessAddress.of("localhost", port)),
                    VlessRequest.v0(USER, VlessCommand.UDP, VlessAddress.of("127.0.0.1", port)))) {
                try (TestClient c = server.connect()) {
                    // One write and an immediate FIN: the frames arrive before the server has a socket for them.
                    c.send(header(request), frame(ascii("one-shot")), frame(ascii("query")));
                    c.shutdownOutput();
                    assertThat(peer.receive().text()).as("%s", request).isEqualTo("one-shot");
                    assertThat(peer.receive().text()).as("%s", request).isEqualTo("query");
                    c.readToEnd(); // v0 may have nothing to say; the connection must end either way
                }
            }
        }
    }

    @Test
    @DisplayName("UDP-2 · datagrams from the target, empty ones among them, arrive as frames in order")
    void targetDatagramsIncludingEmptyOnesArriveInOrder() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2");
             TestClient c = server.openUdp(peer.address())) {
            c.sendFrames(ascii("hello"));
            UdpPeer.Datagram d = peer.receive();
            for (int i = 0; i < 20; i++) {
                peer.send(i % 2 == 0 ? new byte[0] : ascii("n" + i), d.source());
            }
            for (int i = 0; i < 20; i++) {
                assertThat(c.readFrame()).isEqualTo(i % 2 == 0 ? new byte[0] : ascii("n" + i));
            }
        }
    }
}
