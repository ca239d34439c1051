// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.net.BindException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.opentest4j.TestAbortedException;

/**
 * Which server port a command-2 connection sends from: the mapping rules NAT-2 to NAT-5 under both policies. Every
 * test gets a fresh server, hence a fresh NAT context.
 */
class NatMappingTest {

    /** The mapped address {@code peer} sees for a datagram sent on {@code udp}. */
    static InetSocketAddress seenBy(UdpPeer peer, TestClient udp) throws Exception {
        udp.sendFrames(ascii("to " + peer.address()));
        return peer.receive().source();
    }

    /** A peer on {@code ip} with the same port as {@code other}, so that only the address differs. */
    static UdpPeer samePortAs(UdpPeer other, String ip) throws Exception {
        try {
            return UdpPeer.bind(ip, other.address().getPort());
        } catch (BindException e) {
            throw new TestAbortedException("port " + other.address().getPort() + " busy on " + ip, e);
        }
    }

    @Nested
    @DisplayName("endpoint-independent mapping (the default)")
    class EndpointIndependent {

        @RegisterExtension
        final VlessServerExtension server = new VlessServerExtension().runForEachTest();

        @Test
        @DisplayName("NAT-4 · one server port for every destination: other address, same port, other port")
        void sameServerPortForEveryDestination() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 UdpPeer b = samePortAs(a, "127.0.0.3");
                 UdpPeer c = UdpPeer.bind("127.0.0.3");
                 TestClient toA = server.openUdp(a.address());
                 TestClient toB = server.openUdp(b.address());
                 TestClient toC = server.openUdp(c.address())) {
                InetSocketAddress seenByA = seenBy(a, toA);
                assertThat(seenBy(b, toB)).isEqualTo(seenByA);
                assertThat(seenBy(c, toC)).isEqualTo(seenByA);
            }
        }

        @Test
        @DisplayName("NAT-2, LIF-1 · a second connection to a destination sends from the same port as the first")
        void secondConnectionToSameDestinationReusesPort() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 TestClient first = server.openUdp(a.address())) {
                InetSocketAddress mapped = seenBy(a, first);
                try (TestClient second = server.openUdp(a.address())) {
                    assertThat(seenBy(a, second)).isEqualTo(mapped);
                }
                assertThat(seenBy(a, first)).as("the first connection's address never changes").isEqualTo(mapped);
            }
        }

        @Test
        @DisplayName("NAT-4 · IPv4 and IPv6 destinations each have a socket of their own family")
        void eachFamilyHasItsOwnSocket() throws Exception {
            assumeTrue(Loopback.hasIpv6(), "no ::1 on this host");
            try (UdpPeer v4 = UdpPeer.bind("127.0.0.2");
                 UdpPeer v6a = UdpPeer.bind("::1");
                 UdpPeer v6b = UdpPeer.bind("::1");
                 TestClient to4 = server.openUdp(v4.address());
                 TestClient to6a = server.openUdp(v6a.address());
                 TestClient to6b = server.openUdp(v6b.address())) {
                seenBy(v4, to4);
                InetSocketAddress six = seenBy(v6a, to6a);
                assertThat(six.getAddress()).isInstanceOf(Inet6Address.class);
                assertThat(seenBy(v6b, to6b)).isEqualTo(six);
            }
        }
    }

    @Nested
    @DisplayName("per-destination mapping (MappingPolicy.PER_DESTINATION)")
    class PerDestination {

        @RegisterExtension
        final VlessServerExtension server =
                new VlessServerExtension(b -> b.mappingPolicy(MappingPolicy.PER_DESTINATION)).runForEachTest();

        @Test
        @DisplayName("NAT-5 · fresh destinations get server ports of their own")
        void freshDestinationsGetTheirOwnPorts() throws Exception {
            List<UdpPeer> peers = new ArrayList<>();
            List<TestClient> clients = new ArrayList<>();
            try {
                List<Integer> ports = new ArrayList<>();
                for (String ip : new String[] {"127.0.0.2", "127.0.0.3", "127.0.0.2"}) {
                    UdpPeer p = UdpPeer.bind(ip);
                    peers.add(p);
                    TestClient c = server.openUdp(p.address());
                    clients.add(c);
                    ports.add(seenBy(p, c).getPort());
                }
                assertThat(ports).doesNotHaveDuplicates();
            } finally {
                closeAll(clients, peers);
            }
        }

        @Test
        @DisplayName("NAT-2 · a destination dialed before is dialed from its first port again")
        void dialedDestinationReusesItsPort() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 UdpPeer b = UdpPeer.bind("127.0.0.3");
                 TestClient toA = server.openUdp(a.address());
                 TestClient toB = server.openUdp(b.address())) {
                InetSocketAddress forA = seenBy(a, toA);
                seenBy(b, toB);
                try (TestClient again = server.openUdp(a.address())) {
                    assertThat(seenBy(a, again)).isEqualTo(forA);
                }
            }
        }

        @Test
        @DisplayName("NAT-3 · a destination that wrote to a port first is answered from that port")
        void heardDestinationIsAnsweredFromThePortItWroteTo() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 UdpPeer b = UdpPeer.bind("127.0.0.3");
                 TestClient crf = server.openCrumfurs();
                 TestClient toA = server.openUdp(a.address())) {
                InetSocketAddress mapped = seenBy(a, toA);
                b.send("first", mapped);
                assertThat(crf.readUmfurs().source()).isEqualTo(b.address());
                try (TestClient toB = server.openUdp(b.address())) {
                    assertThat(seenBy(b, toB)).isEqualTo(mapped);
                }
            }
        }

        @Test
        @DisplayName("NAT-3 · rule 2 holds without CRUMFURS too: the heard entry is kept even when the datagram is dropped")
        void heardEntryIsKeptWithoutCrumfurs() throws Exception {
            try (UdpPeer a = UdpPeer.bind("127.0.0.2");
                 UdpPeer b = UdpPeer.bind("127.0.0.3");
                 TestClient toA = server.openUdp(a.address())) {
                InetSocketAddress mapped = seenBy(a, toA);
                long dropped = server.stats().drops(DropReason.NO_RECEIVER);
                b.send("nobody listens", mapped);
                Loopback.await("the datagram from B dropped", 5000,
                        () -> server.stats().drops(DropReason.NO_RECEIVER) > dropped);
                try (TestClient toB = server.openUdp(b.address())) {
                    assertThat(seenBy(b, toB)).isEqualTo(mapped);
                }
            }
        }
    }

    static void closeAll(List<TestClient> clients, List<UdpPeer> peers) throws IOException, InterruptedException {
        for (TestClient c : clients) {
            c.close();
        }
        for (UdpPeer p : peers) {
            p.close();
        }
    }
}
