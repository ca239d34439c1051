// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.muxFrame;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * UDP-MUX (command 5) end to end over loopback: the 0x15, frames both ways, the mapping rules shared with command 2,
 * endpoint-independent filtering, the delivery order between command 2, MUX connections and CRUMFURS, names, refused
 * destinations, frame errors and the end of the stream. Each test gets a fresh server, hence a fresh NAT context.
 */
class MuxTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension().runForEachTest();

    /** Sends one frame to {@code peer} on {@code mux} and returns the mapped address the peer saw. */
    static InetSocketAddress seenBy(UdpPeer peer, TestClient mux) throws Exception {
        mux.send(muxFrame(peer.address(), ascii("to " + peer.address())));
        UdpPeer.Datagram d = peer.receive();
        assertThat(d.text()).isEqualTo("to " + peer.address());
        return d.source();
    }

    /** Waits until the server counts {@code n} open MUX connections (closes reach it asynchronously). */
    static void awaitLiveMux(long n) throws InterruptedException {
        awaitLiveMux(server, n);
    }

    /** Waits until {@code server} counts {@code n} open MUX connections. */
    static void awaitLiveMux(VlessServerExtension server, long n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (server.stats().liveMux() != n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(server.stats().liveMux()).as("open MUX connections").isEqualTo(n);
    }

    @Test
    @DisplayName("MUX-3 · the answer is the single byte 0x15, then the connection stays open and silent")
    void answersOneByteAndStaysOpen() throws Exception {
        try (TestClient mux = server.connect()) {
            mux.sendHeader(VlessRequest.mux(USER));
            mux.expectMuxAck();
            mux.assertSilentFor(Duration.ofMillis(300));
            assertThat(server.stats().muxRequests()).isEqualTo(1);
            assertThat(server.stats().liveMux()).isEqualTo(1);
        }
        awaitLiveMux(0);
    }

    @Test
    @DisplayName("MUX-7, MUX-8, MUX-9 · frames both ways: empty, text, and the largest IPv4 datagram, replies labelled"
            + " with their source")
    void framesBothWays() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2").echoing();
             TestClient mux = server.openMux()) {
            byte[] big = new byte[65507];
            Arrays.fill(big, (byte) 7);
            big[0] = 1;
            big[65506] = 2;
            mux.send(muxFrame(a.address(), ascii("hello")), muxFrame(a.address(), new byte[0]),
                    muxFrame(a.address(), big));
            assertThat(a.receive().text()).isEqualTo("hello");
            assertThat(a.receive().payload()).isEmpty();
            assertThat(a.receive().payload()).isEqualTo(big);
            TestClient.Umfurs r1 = mux.readMuxFrame();
            assertThat(r1.source()).isEqualTo(a.address());
            assertThat(r1.text()).isEqualTo("hello");
            TestClient.Umfurs r2 = mux.readMuxFrame();
            assertThat(r2.source()).isEqualTo(a.address());
            assertThat(r2.payload()).as("MUX-9: an empty datagram is an empty frame").isEmpty();
            TestClient.Umfurs r3 = mux.readMuxFrame();
            assertThat(r3.payload()).isEqualTo(big);
        }
        assertThat(server.stats().muxFramesIn()).isEqualTo(3);
        assertThat(server.stats().muxFramesOut()).isEqualTo(3);
    }

    @Test
    @DisplayName("MUX-7, MUX-8 · an IPv6 destination (address type 3); its replies are labelled with address type 3")
    void ipv6BothWays() throws Exception {
        assumeTrue(Loopback.hasIpv6(), "no ::1 on this host");
        try (UdpPeer a = UdpPeer.bind("::1").echoing();
             UdpPeer b = UdpPeer.bind("127.0.0.2").echoing();
             TestClient mux = server.openMux()) {
            mux.send(muxFrame(a.address(), ascii("six")), muxFrame(b.address(), ascii("four")));
            assertThat(a.receive().text()).isEqualTo("six");
            assertThat(b.receive().text()).isEqualTo("four");
            TestClient.Umfurs r1 = mux.readMuxFrame();
            TestClient.Umfurs r2 = mux.readMuxFrame();
            TestClient.Umfurs six = r1.text().equals("six") ? r1 : r2;
            assertThat(six.source()).isEqualTo(a.address());
            assertThat(six.source().getAddress()).isInstanceOf(java.net.Inet6Address.class);
            assertThat((r1 == six ? r2 : r1).source()).isEqualTo(b.address());
        }
    }

    @Test
    @DisplayName("HDR-11, MUX-4 · frames in the header's own write are sent once the 0x15 is out")
    void framesWithTheHeaderAreSent() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             TestClient mux = server.connect()) {
            mux.sendHeader(VlessRequest.mux(USER), muxFrame(a.address(), ascii("early")));
            mux.expectMuxAck();
            assertThat(a.receive().text()).isEqualTo("early");
        }
    }

    @Test
    @DisplayName("UDP-5, MUX-12 · a 65535-byte frame to IPv4 is dropped and counted; the stream stays in sync")
    void oversizeFrameIsDroppedAndStreamStaysInSync() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             TestClient mux = server.openMux()) {
            mux.send(muxFrame(a.address(), new byte[65535]), muxFrame(a.address(), ascii("after")));
            assertThat(a.receive().text()).isEqualTo("after");
            assertThat(server.stats().drops(DropReason.OVERSIZE)).isEqualTo(1);
            mux.assertSilentFor(Duration.ofMillis(100));
        }
    }

    @Test
    @DisplayName("MUX-10 · a frame to port 0 is not sent and not counted, and the connection stays open")
    void portZeroFrameIsANoOp() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             TestClient mux = server.openMux()) {
            mux.send(muxFrame(new InetSocketAddress(a.address().getAddress(), 0), ascii("padding")),
                    muxFrame(a.address(), ascii("real")));
            assertThat(a.receive().text()).isEqualTo("real");
            a.assertNothingReceived(Duration.ofMillis(100));
            assertThat(server.stats().datagramsOut()).isEqualTo(1);
            assertThat(server.stats().muxFramesIn()).isEqualTo(1);
        }
    }

    @Test
    @DisplayName("MUX-13, NAT-2 · a MUX frame to X and a command-2 connection to X leave from one port (MUX first)")
    void muxThenCommand2SharePort() throws Exception {
        try (UdpPeer x = UdpPeer.bind("127.0.0.2");
             TestClient mux = server.openMux()) {
            InetSocketAddress viaMux = seenBy(x, mux);
            try (TestClient udp = server.openUdp(x.address())) {
                udp.sendFrames(ascii("by command 2"));
                assertThat(x.receive().source()).isEqualTo(viaMux);
            }
        }
    }

    @Test
    @DisplayName("MUX-13, NAT-2 · a command-2 connection to X and a MUX frame to X leave from one port (command 2"
            + " first)")
    void command2ThenMuxSharePort() throws Exception {
        try (UdpPeer x = UdpPeer.bind("127.0.0.2");
             UdpPeer y = UdpPeer.bind("127.0.0.3");
             TestClient udp = server.openUdp(x.address())) {
            udp.sendFrames(ascii("by command 2"));
            InetSocketAddress viaUdp = x.receive().source();
            try (TestClient mux = server.openMux()) {
                assertThat(seenBy(x, mux)).isEqualTo(viaUdp);
                assertThat(seenBy(y, mux)).as("NAT-4: a new destination, the same socket").isEqualTo(viaUdp);
            }
        }
    }

    @Test
    @DisplayName("MUX-8, MUX-18 · a datagram from a remote never contacted reaches the MUX with its true source")
    void unknownRemoteReachesMux() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient mux = server.openMux()) {
            InetSocketAddress mapped = seenBy(a, mux);
            b.send("from b", mapped);
            TestClient.Umfurs f = mux.readMuxFrame();
            assertThat(f.source()).isEqualTo(b.address());
            assertThat(f.text()).isEqualTo("from b");
            // Hole punching: the answer to B leaves from the address B wrote to (NAT-3).
            assertThat(seenBy(b, mux)).isEqualTo(mapped);
        }
    }

    @Test
    @DisplayName("DLV-1 · with a command-2 connection to X open, X's datagrams go to it, not to the MUX")
    void command2ConnectionTakesPrecedence() throws Exception {
        try (UdpPeer x = UdpPeer.bind("127.0.0.2");
             TestClient mux = server.openMux();
             TestClient udp = server.openUdp(x.address())) {
            udp.sendFrames(ascii("hi"));
            InetSocketAddress mapped = x.receive().source();
            assertThat(seenBy(x, mux)).isEqualTo(mapped);
            x.send("for command 2", mapped);
            assertThat(udp.readFrame()).isEqualTo(ascii("for command 2"));
            mux.assertSilentFor(Duration.ofMillis(100));
        }
    }

    @Test
    @DisplayName("MUX-17, MUX-18 · X's datagrams go to the MUX that last sent to X; others' to the newest MUX")
    void lastSenderThenNewest() throws Exception {
        try (UdpPeer x = UdpPeer.bind("127.0.0.2");
             UdpPeer y = UdpPeer.bind("127.0.0.3");
             TestClient first = server.openMux();
             TestClient second = server.openMux()) {
            InetSocketAddress mapped = seenBy(x, first);
            x.send("to first", mapped);
            assertThat(first.readMuxFrame().text()).as("MUX-17: the MUX that sent to X").isEqualTo("to first");
            y.send("to newest", mapped);
            assertThat(second.readMuxFrame().text()).as("MUX-18: the newest MUX").isEqualTo("to newest");
            assertThat(seenBy(x, second)).isEqualTo(mapped);
            x.send("now second", mapped);
            assertThat(second.readMuxFrame().text()).as("the last sender wins").isEqualTo("now second");
            first.assertSilentFor(Duration.ofMillis(100));
        }
    }

    @Test
    @DisplayName("MUX-18, MUX-19, DLV-2 · CRUMFURS gets datagrams only once no MUX is open; a closed MUX is never"
            + " chosen")
    void crumfursOnlyWithoutMux() throws Exception {
        try (UdpPeer x = UdpPeer.bind("127.0.0.2");
             UdpPeer y = UdpPeer.bind("127.0.0.3");
             TestClient crf = server.openCrumfurs()) {
            InetSocketAddress mapped;
            try (TestClient older = server.openMux()) {
                try (TestClient mux = server.openMux()) {
                    mapped = seenBy(x, mux);
                    y.send("to the MUX", mapped);
                    assertThat(mux.readMuxFrame().text()).isEqualTo("to the MUX");
                }
                awaitLiveMux(1);
                x.send("to the older MUX", mapped);
                assertThat(older.readMuxFrame().text()).as("the last sender closed: the newest open MUX")
                        .isEqualTo("to the older MUX");
            }
            awaitLiveMux(0);
            y.send("to CRUMFURS", mapped);
            TestClient.Umfurs m = crf.readUmfurs();
            assertThat(m.source()).isEqualTo(y.address());
            assertThat(m.text()).isEqualTo("to CRUMFURS");
        }
    }

    @Test
    @DisplayName("MUX-15 · a frame to a name goes to its address; the reply is labelled with the IP, not the name")
    void domainIsResolvedAndRepliesCarryTheIp() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.1").echoing();
             TestClient mux = server.openMux()) {
            int port = a.address().getPort();
            mux.send(TestClient.muxFrame("LocalHost.", port, ascii("one")), TestClient.muxFrame("localhost", port,
                    ascii("two")));
            assertThat(a.receive().text()).isEqualTo("one");
            assertThat(a.receive().text()).as("MUX-16: in order").isEqualTo("two");
            TestClient.Umfurs r = mux.readMuxFrame();
            assertThat(r.source()).isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
            assertThat(r.text()).isEqualTo("one");
            assertThat(mux.readMuxFrame().text()).isEqualTo("two");
            mux.send(TestClient.muxFrame("LOCALHOST", port, ascii("three")));
            assertThat(a.receive().text()).isEqualTo("three");
            assertThat(server.stats().muxLookups()).as("MUX-15: one lookup per name and connection").isEqualTo(1);
        }
    }

    @Test
    @DisplayName("MUX-15 · a name that does not resolve: its frames are dropped and counted, others still go")
    void unresolvableNameIsDroppedAndCounted() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             TestClient mux = server.openMux()) {
            mux.send(TestClient.muxFrame("no-such-host.invalid", 9, ascii("lost")),
                    muxFrame(a.address(), ascii("not waiting")));
            assertThat(a.receive().text()).as("MUX-16: frames to other destinations never wait")
                    .isEqualTo("not waiting");
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (server.stats().drops(DropReason.UNRESOLVED) == 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(server.stats().drops(DropReason.UNRESOLVED)).isEqualTo(1);
            mux.send(TestClient.muxFrame("NO-SUCH-HOST.invalid.", 9, ascii("held failure")));
            mux.send(muxFrame(a.address(), ascii("still open")));
            assertThat(a.receive().text()).isEqualTo("still open");
            assertThat(server.stats().drops(DropReason.UNRESOLVED)).as("the failure holds for 30 s").isEqualTo(2);
        }
    }

    @Test
    @DisplayName("MUX-11 · a frame error closes the connection at once without a byte")
    void frameErrorClosesAtOnce() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             TestClient mux = server.openMux()) {
            mux.send(muxFrame(a.address(), ascii("fine")), new byte[] {9, 1, 2, 3});
            assertThat(a.receive().text()).isEqualTo("fine");
            mux.assertNoByteAndClosedWithin(mux.sinceConnect().plusSeconds(1));
        }
        assertThat(server.stats().muxFrameErrors()).isEqualTo(1);
        assertThat(server.stats().fallbacks()).isZero();
    }

    @Test
    @DisplayName("MUX-11 · an empty domain and a domain byte outside 0x21-0x7E are frame errors")
    void badDomainsAreFrameErrors() throws Exception {
        for (byte[] bad : new byte[][] {{2, 0, 0, 9, 0, 0}, {2, 3, 'a', ' ', 'b', 0, 9, 0, 0}}) {
            try (TestClient mux = server.openMux()) {
                mux.send(bad);
                mux.assertNoByteAndClosedWithin(mux.sinceConnect().plusSeconds(1));
            }
        }
        assertThat(server.stats().muxFrameErrors()).isEqualTo(2);
    }

    @Test
    @DisplayName("MUX-12 · the client's end of stream closes the MUX after the whole frames before it were sent")
    void clientEndOfStreamCloses() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             TestClient mux = server.openMux()) {
            mux.send(muxFrame(a.address(), ascii("last")));
            mux.shutdownOutput();
            assertThat(a.receive().text()).isEqualTo("last");
            mux.assertEndOfStream();
        }
        awaitLiveMux(0);
        assertThat(server.stats().drops(DropReason.TRUNCATED_FRAME)).isZero();
    }

    @Test
    @DisplayName("MUX-12 · a partial frame at the end of the stream is discarded and counted")
    void partialFrameAtEndIsCounted() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             TestClient mux = server.openMux()) {
            byte[] whole = muxFrame(a.address(), ascii("never sent"));
            mux.send(Arrays.copyOf(whole, whole.length - 3));
            mux.shutdownOutput();
            mux.assertEndOfStream();
            a.assertNothingReceived(Duration.ofMillis(100));
        }
        assertThat(server.stats().drops(DropReason.TRUNCATED_FRAME)).isEqualTo(1);
    }

    @Nested
    @DisplayName("per-destination mapping")
    class PerDestination {

        @RegisterExtension
        final VlessServerExtension perDestination =
                new VlessServerExtension(b -> b.mappingPolicy(MappingPolicy.PER_DESTINATION)).runForEachTest();

        @Test
        @DisplayName("MUX-13, NAT-5 · new destinations of a MUX get ports of their own, and command 2 to one of them"
                + " reuses its port")
        void newDestinationsGetTheirOwnPorts() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 UdpPeer b = UdpPeer.bind("127.0.0.3");
                 TestClient mux = perDestination.openMux()) {
                InetSocketAddress forA = seenBy(a, mux);
                InetSocketAddress forB = seenBy(b, mux);
                assertThat(forB.getPort()).isNotEqualTo(forA.getPort());
                assertThat(seenBy(a, mux)).as("NAT-2").isEqualTo(forA);
                try (TestClient udp = perDestination.openUdp(b.address())) {
                    udp.sendFrames(ascii("command 2"));
                    assertThat(b.receive().source()).isEqualTo(forB);
                }
            }
        }
    }
}
