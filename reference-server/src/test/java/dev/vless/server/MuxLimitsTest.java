// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.muxFrame;
import static dev.vless.server.testing.VlessServerExtension.SHORT_HANDSHAKE;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * UDP-MUX beside the rest of the server: the mode turned off or asked for in v0, the MUX limits, idle close, pinned
 * sockets, the destination policy and the unsent limit toward a client that does not read.
 */
class MuxLimitsTest {

    /** Earliest acceptable close of bad input: the deadline runs from accept, a moment after our connect. */
    static final Duration EARLIEST = SHORT_HANDSHAKE.minusMillis(100);
    /** Latest acceptable close (ERR-4: the deadline plus 1 s). */
    static final Duration LATEST = SHORT_HANDSHAKE.plusSeconds(1);

    /** Sends one frame to {@code peer} on {@code mux} and returns the mapped address the peer saw. */
    static InetSocketAddress seenBy(UdpPeer peer, TestClient mux) throws Exception {
        return MuxTest.seenBy(peer, mux);
    }

    @Nested
    @DisplayName("bad input")
    class BadInput {

        @RegisterExtension
        final VlessServerExtension off = new VlessServerExtension(b -> b.udpMux(false)
                .handshakeTimeout(SHORT_HANDSHAKE)).runForEachTest();

        @Test
        @DisplayName("MUX-2 · with the mode off, command 5 is an unknown command: no byte, closed at the deadline")
        void offIsLikeAnUnknownCommand() throws Exception {
            Duration mux;
            try (TestClient c = off.open(VlessRequest.mux(USER), muxFrame(new InetSocketAddress("127.0.0.2", 9),
                    ascii("x")))) {
                mux = c.assertNoByteAndClosedWithin(LATEST);
            }
            assertThat(mux).isGreaterThanOrEqualTo(EARLIEST);
            Duration unknown;
            try (TestClient c = off.connect()) {
                c.send(new byte[] {1}, uuid(), new byte[] {9});
                unknown = c.assertNoByteAndClosedWithin(LATEST);
            }
            assertThat(unknown).isGreaterThanOrEqualTo(EARLIEST);
            assertThat(off.stats().badInput()).isEqualTo(2);
            assertThat(off.stats().muxRequests()).isZero();
        }

    }

    @Nested
    @DisplayName("bad input where the mode is on")
    class BadInputOn {

        @RegisterExtension
        final VlessServerExtension on = new VlessServerExtension(b -> b.handshakeTimeout(SHORT_HANDSHAKE))
                .runForEachTest();

        @Test
        @DisplayName("MUX-1 · command 5 in a v0 request is bad input even where the mode is on")
        void v0WithCommand5IsBadInput() throws Exception {
            try (TestClient c = on.connect()) {
                // version 0, user, no addons, command 5, then what a v0 UDP header would carry.
                c.send(new byte[] {0}, uuid(), new byte[] {0, 5, 0, 9, 1, 127, 0, 0, 2});
                assertThat(c.assertNoByteAndClosedWithin(LATEST)).isGreaterThanOrEqualTo(EARLIEST);
            }
            assertThat(on.stats().badInput()).isEqualTo(1);
            assertThat(on.stats().muxRequests()).isZero();
        }
    }

    static byte[] uuid() {
        return ByteBuffer.allocate(16).putLong(USER.getMostSignificantBits()).putLong(USER.getLeastSignificantBits())
                .array();
    }

    @Nested
    @DisplayName("connections per context")
    class PerContext {

        @RegisterExtension
        final VlessServerExtension server = new VlessServerExtension(b -> b.maxMuxPerContext(2)
                .maxUdpConnectionsPerContext(1)).runForEachTest();

        @Test
        @DisplayName("MUX-22 · past 2 MUX connections the least recently active closes; the others carry on")
        void leastRecentlyActiveCloses() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 TestClient first = server.openMux();
                 TestClient second = server.openMux()) {
                seenBy(a, first); // the first is now more recently active than the second
                try (TestClient third = server.openMux()) {
                    second.assertEndOfStream();
                    seenBy(a, first);
                    seenBy(a, third);
                }
            }
            assertThat(server.stats().limits(Limit.MUX_CONNECTIONS_PER_CONTEXT)).isEqualTo(1);
        }

        @Test
        @DisplayName("MUX-22 · MUX connections do not count toward the command-2 limit, nor evict command 2")
        void notCountedTowardCommand2() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 UdpPeer b = UdpPeer.bind("127.0.0.3");
                 TestClient mux = server.openMux();
                 TestClient udp = server.openUdp(a.address())) {
                udp.sendFrames(ascii("command 2"));
                assertThat(a.receive().text()).isEqualTo("command 2");
                try (TestClient other = server.openMux()) {
                    seenBy(b, other);
                    seenBy(b, mux);
                    udp.sendFrames(ascii("still open"));
                    assertThat(a.receive().text()).isEqualTo("still open");
                }
            }
            assertThat(server.stats().limits(Limit.UDP_CONNECTIONS_PER_CONTEXT)).isZero();
            assertThat(server.stats().limits(Limit.MUX_CONNECTIONS_PER_CONTEXT)).isZero();
        }
    }

    @Nested
    @DisplayName("lifetime")
    class Lifetime {

        @RegisterExtension
        final VlessServerExtension server = new VlessServerExtension(b -> b.allowShortLifetimeForTesting()
                .udpLifetime(Duration.ofMillis(800))).runForEachTest();

        @Test
        @DisplayName("MUX-21 · a MUX that carries no frame for the lifetime is closed")
        void idleMuxIsClosed() throws Exception {
            try (TestClient mux = server.openMux()) {
                long start = System.nanoTime();
                mux.assertEndOfStream();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(700));
            }
            MuxTest.awaitLiveMux(server, 0);
        }

        @Test
        @DisplayName("MUX-20, MUX-21 · port-0 frames keep a MUX open, and an open MUX pins its context's sockets")
        void keepaliveKeepsMuxAndSocketsPinned() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 UdpPeer b = UdpPeer.bind("127.0.0.3");
                 TestClient mux = server.openMux()) {
                InetSocketAddress mapped = seenBy(a, mux);
                byte[] keepalive = muxFrame(new InetSocketAddress(a.address().getAddress(), 0), new byte[0]);
                for (int i = 0; i < 12; i++) { // 2.4 s: three lifetimes without a datagram either way
                    Thread.sleep(200);
                    mux.send(keepalive);
                }
                assertThat(mux.hasDataWithin(Duration.ofMillis(1))).as("still open, nothing sent").isFalse();
                assertThat(seenBy(b, mux)).as("the socket outlived three lifetimes").isEqualTo(mapped);
                a.send("back", mapped);
                assertThat(mux.readMuxFrame().text()).isEqualTo("back");
            }
        }
    }

    @Nested
    @DisplayName("new destinations per second")
    class Rate {

        @RegisterExtension
        final VlessServerExtension server = new VlessServerExtension(b -> b.muxNewDestinationsPerSecond(2))
                .runForEachTest();

        @Test
        @DisplayName("MUX-22 · frames to new destinations beyond the rate are dropped and counted; known ones pass")
        void newDestinationsBeyondTheRateAreDropped() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 UdpPeer b = UdpPeer.bind("127.0.0.3");
                 UdpPeer c = UdpPeer.bind("127.0.0.4");
                 UdpPeer d = UdpPeer.bind("127.0.0.5");
                 TestClient mux = server.openMux()) {
                mux.send(muxFrame(a.address(), ascii("a")), muxFrame(b.address(), ascii("b")),
                        muxFrame(c.address(), ascii("c")), muxFrame(d.address(), ascii("d")),
                        muxFrame(a.address(), ascii("a again")));
                assertThat(a.receive().text()).isEqualTo("a");
                assertThat(b.receive().text()).isEqualTo("b");
                assertThat(a.receive().text()).isEqualTo("a again");
                c.assertNothingReceived(Duration.ofMillis(100));
                d.assertNothingReceived(Duration.ofMillis(1));
                assertThat(server.stats().drops(DropReason.NEW_DESTINATION_RATE)).isEqualTo(2);
                assertThat(server.stats().limits(Limit.MUX_NEW_DESTINATIONS)).isEqualTo(2);
                Thread.sleep(1100);
                assertThat(seenBy(c, mux)).as("a second later there is room again").isNotNull();
            }
        }
    }

    @Nested
    @DisplayName("destination policy")
    class Policy {

        @RegisterExtension
        final VlessServerExtension server = new VlessServerExtension(b -> b.destinations(DestinationFilter.allowing(
                List.of(Cidr.parse("127.0.0.2/32"))))).runForEachTest();

        @Test
        @DisplayName("MUX-14 · a frame to a refused address is dropped and counted; the connection stays open")
        void refusedAddressIsDropped() throws Exception {
            try (UdpPeer allowed = UdpPeer.bind("127.0.0.2");
                 UdpPeer refused = UdpPeer.bind("127.0.0.3");
                 TestClient mux = server.openMux()) {
                mux.send(muxFrame(refused.address(), ascii("no")), muxFrame(allowed.address(), ascii("yes")));
                assertThat(allowed.receive().text()).isEqualTo("yes");
                refused.assertNothingReceived(Duration.ofMillis(100));
                assertThat(server.stats().drops(DropReason.REFUSED_DESTINATION)).isEqualTo(1);
                mux.assertSilentFor(Duration.ofMillis(50));
            }
        }

        @Test
        @DisplayName("MUX-14, MUX-15 · an IPv4-mapped IPv6 destination is judged as IPv4 (ADR-4)")
        void mappedDestinationIsCanonicalised() throws Exception {
            try (UdpPeer allowed = UdpPeer.bind("127.0.0.2");
                 TestClient mux = server.openMux()) {
                byte[] v6 = new byte[16];
                v6[10] = (byte) 0xff;
                v6[11] = (byte) 0xff;
                System.arraycopy(allowed.address().getAddress().getAddress(), 0, v6, 12, 4);
                byte[] frame = ByteBuffer.allocate(1 + 16 + 2 + 2 + 6).put((byte) 3).put(v6)
                        .putShort((short) allowed.address().getPort()).putShort((short) 6).put(ascii("mapped")).array();
                InetSocketAddress viaIpv4 = seenBy(allowed, mux);
                mux.send(frame);
                UdpPeer.Datagram d = allowed.receive();
                assertThat(d.text()).isEqualTo("mapped");
                assertThat(d.source()).as("the same dialed entry as the IPv4 form").isEqualTo(viaIpv4);
            }
        }

        @Test
        @DisplayName("MUX-14, MUX-15 · a name that resolves to a refused address: dropped, counted, held")
        void nameResolvingToRefusedAddressIsDropped() throws Exception {
            try (UdpPeer allowed = UdpPeer.bind("127.0.0.2");
                 TestClient mux = server.openMux()) {
                mux.send(TestClient.muxFrame("localhost", 9, ascii("refused")));
                Loopback.await("the refusal counted", 10_000,
                        () -> server.stats().drops(DropReason.REFUSED_DESTINATION) == 1);
                mux.send(TestClient.muxFrame("localhost", 9, ascii("held")), muxFrame(allowed.address(),
                        ascii("open")));
                assertThat(allowed.receive().text()).isEqualTo("open");
                assertThat(server.stats().drops(DropReason.REFUSED_DESTINATION)).isEqualTo(2);
            }
        }
    }

    @Nested
    @DisplayName("toward a client that does not read")
    class Backlog {

        @RegisterExtension
        final VlessServerExtension server = new VlessServerExtension(b -> b.maxUnsentBytes(65536))
                .runForEachTest();

        @Test
        @DisplayName("DLV-5, MUX-22 · datagrams beyond the MUX's unsent limit are dropped and counted; the server"
                + " reads on")
        void beyondTheUnsentLimitIsDropped() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 UdpPeer other = UdpPeer.bind("127.0.0.3");
                 TestClient mux = server.openMux();
                 TestClient reader = server.openUdp(other.address())) {
                InetSocketAddress mapped = seenBy(a, mux);
                byte[] payload = new byte[1400];
                Loopback.await("datagrams dropped for the slow MUX", 20_000, () -> {
                    try {
                        for (int i = 0; i < 500; i++) {
                            a.send(payload, mapped);
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    return server.stats().drops(DropReason.CLIENT_BACKLOG) > 0;
                });
                // The context still serves: its other connection's datagrams get through.
                reader.sendFrames(ascii("hello"));
                other.receive();
                // Repeated: the flood may still fill the socket's receive buffer, where the kernel drops silently.
                boolean arrived = false;
                for (int i = 0; i < 25 && !arrived; i++) {
                    other.send("for the reader", mapped);
                    arrived = reader.hasDataWithin(Duration.ofMillis(200));
                }
                assertThat(arrived).as("a datagram for the context's other connection").isTrue();
                assertThat(reader.readFrame()).isEqualTo(ascii("for the reader"));
            }
        }
    }
}
