// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.frame;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.time.Duration;
import java.util.Collections;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Which destinations the server serves (§16), and domain targets (NAT-7). */
class DestinationTest {

    private static TcpEchoServer echo;

    @BeforeAll
    static void startEcho() throws IOException {
        echo = TcpEchoServer.start();
    }

    @AfterAll
    static void stopEcho() throws IOException {
        echo.close();
    }

    @Nested
    @DisplayName("with the secure default filter")
    class SecureDefault {

        @RegisterExtension
        final VlessServerExtension server =
                new VlessServerExtension(b -> b.destinations(DestinationFilter.secureDefault())).runForEachTest();

        void assertRefused(VlessRequest request, byte[] payload) throws IOException {
            long before = server.stats().destinationsRefused();
            try (TestClient c = server.open(request, payload)) {
                c.assertNoByteAndClosedWithin(Duration.ofSeconds(3));
            }
            assertThat(server.stats().destinationsRefused()).isEqualTo(before + 1);
            assertThat(server.stats().badInput()).as("a refused destination is not bad input").isZero();
        }

        @Test
        @DisplayName("DST-1, DST-2 · TCP to a loopback or unspecified address is refused without a byte and counted")
        void refusesLoopbackAndUnspecifiedTcpDestinations() throws IOException {
            // Only addresses that never leave this host, so that a broken filter cannot send anything off it; the
            // other ranges are covered by DestinationFilterTest without a network.
            for (String ip : new String[] {"127.0.0.1", "127.0.0.2", "0.0.0.0", "::1", "::"}) {
                assertRefused(v1(USER, VlessCommand.TCP, new InetSocketAddress(InetAddress.getByName(ip), 80)),
                        ascii("GET / HTTP/1.0\r\n\r\n"));
            }
        }

        @Test
        @DisplayName("ADR-4, DST-1 · the IPv4-mapped form of a loopback address, as address type 3, is refused")
        void refusesMappedLoopbackWrittenAsIpv6() throws IOException {
            int connections = echo.connections().size();
            assertRefused(VlessRequest.v1(USER, VlessCommand.TCP,
                    new VlessAddress(VlessAddressType.IPV6, "::ffff:127.0.0.1", echo.address().getPort())),
                    new byte[0]);
            assertThat(echo.connections()).as("nothing reached the target").hasSize(connections);
        }

        @Test
        @DisplayName("DST-1, NAT-7 · a domain is judged by the address it resolves to: localhost is refused")
        void refusesDomainResolvingToLoopback() throws IOException {
            int connections = echo.connections().size();
            assertRefused(VlessRequest.v1(USER, VlessCommand.TCP,
                    VlessAddress.of("localhost", echo.address().getPort())), new byte[0]);
            assertThat(echo.connections()).as("nothing reached the target").hasSize(connections);
        }

        @Test
        @DisplayName("DST-1, DST-2 · UDP to a loopback address is refused: nothing is sent")
        void refusesUdpToLoopback() throws Exception {
            try (UdpPeer peer = UdpPeer.bind("127.0.0.2")) {
                assertRefused(v1(USER, VlessCommand.UDP, peer.address()), frame(ascii("leak")));
                peer.assertNothingReceived(Duration.ofMillis(200));
            }
        }

        @Test
        @DisplayName("DST-1 · an address of the server's own interfaces is refused")
        void refusesOwnAddress() throws IOException {
            Optional<InetAddress> own = ownNonLoopbackAddress();
            assumeTrue(own.isPresent(), "this host has no non-loopback IPv4 address");
            assertRefused(v1(USER, VlessCommand.TCP, new InetSocketAddress(own.get(), 80)), new byte[0]);
        }
    }

    @Nested
    @DisplayName("with loopback allowed")
    class LoopbackAllowed {

        @RegisterExtension
        final VlessServerExtension server = new VlessServerExtension().runForEachTest();

        @Test
        @DisplayName("DST-1 · an operator-allowed range is served")
        void allowedLoopbackIsServed() throws IOException {
            try (TestClient c = server.open(v1(USER, VlessCommand.TCP, echo.address()), ascii("allowed"))) {
                assertThat(c.readAscii(7)).isEqualTo("allowed");
            }
            assertThat(server.stats().destinationsRefused()).isZero();
        }

        @Test
        @DisplayName("NAT-7 · a domain target (localhost) is resolved and relayed")
        void domainTargetIsResolved() throws IOException {
            try (TestClient c = server.open(VlessRequest.v1(USER, VlessCommand.TCP,
                    VlessAddress.of("localhost", echo.address().getPort())), ascii("by name"))) {
                assertThat(c.readAscii(7)).isEqualTo("by name");
            }
        }

        @Test
        @DisplayName("NAT-7, DLV-1 · a UDP domain target is resolved once; the resolved address's datagrams come back")
        void udpDomainTargetIsResolved() throws Exception {
            try (UdpPeer peer = UdpPeer.bind("127.0.0.1").echoing();
                 TestClient c = server.open(VlessRequest.v1(USER, VlessCommand.UDP,
                         VlessAddress.of("localhost", peer.address().getPort())), frame(ascii("by name")))) {
                assertThat(peer.receive().text()).isEqualTo("by name");
                assertThat(c.readFrame()).isEqualTo(ascii("by name"));
            }
        }

        @Test
        @DisplayName("ADR-4 · an IPv4-mapped IPv6 target is the IPv4 address: datagrams from it come back")
        void mappedIpv6TargetIsCanonical() throws Exception {
            try (UdpPeer peer = UdpPeer.bind("127.0.0.2").echoing();
                 TestClient c = server.open(VlessRequest.v1(USER, VlessCommand.UDP,
                         new VlessAddress(VlessAddressType.IPV6, "::ffff:127.0.0.2", peer.address().getPort())),
                         frame(ascii("mapped")))) {
                assertThat(peer.receive().text()).isEqualTo("mapped");
                assertThat(c.readFrame()).isEqualTo(ascii("mapped"));
            }
        }
    }

    static Optional<InetAddress> ownNonLoopbackAddress() throws IOException {
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                if (a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
                    return Optional.of(a);
                }
            }
        }
        return Optional.empty();
    }
}
