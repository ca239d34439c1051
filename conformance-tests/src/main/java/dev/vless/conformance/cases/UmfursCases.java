// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import static dev.vless.conformance.cases.UdpFrameCases.ascii;
import static dev.vless.conformance.cases.UdpFrameCases.differs;
import static dev.vless.conformance.cases.UdpFrameCases.mappedAddress;
import static dev.vless.conformance.cases.UdpFrameCases.maxDatagram;
import static dev.vless.conformance.cases.UdpFrameCases.ms;
import static dev.vless.conformance.cases.UdpFrameCases.payload;
import static dev.vless.conformance.cases.UdpFrameCases.requirePathCarries;

import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.CrumfursChannel;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.spec.Profile;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * §10 UMFURS: a datagram from a source the client has no connection for arrives on CRUMFURS as
 * {@code atyp ip port len payload}, labelled with its true source, at any size from 0 to the largest datagram.
 */
@ConformanceCases
@Tag("crumfurs")
class UmfursCases {

    private static final String UMF_1 = "UMF-1: a UMFURS message is address type (1), source IP (4 or 16), source"
            + " port (2), length (2, unsigned) and payload";
    private static final String UMF_4 = "UMF-4: the source of a UMFURS is the true source address and port of the"
            + " datagram";

    /** What one case sets up: CRUMFURS, a connection to peer A, and the mapped address A observed. */
    private record Setup(CrumfursChannel crumfurs, UdpPeer a, UdpConnection toA, InetSocketAddress mapped) {
    }

    private static Setup setUp(Harness h) throws Exception {
        CrumfursChannel crumfurs = h.crumfurs();
        UdpPeer a = h.udpPeer(0);
        UdpConnection toA = h.udp(a.address());
        return new Setup(crumfurs, a, toA, mappedAddress(h, toA, a));
    }

    @Test
    @Tag("UMF-1")
    @Tag("UMF-4")
    @DisplayName("UMF-1 · UMF-4 · a datagram from a never-contacted peer arrives as a UMFURS with its exact address, port and payload")
    void sourceFidelity(Harness h) throws Exception {
        Setup s = setUp(h);
        UdpPeer b = h.udpPeer(1);
        byte[] p = ascii("hello from B, who was never contacted");
        b.send(s.mapped(), p);
        expectUmfurs(h, s.crumfurs(), b, p, UMF_1 + "; " + UMF_4);
    }

    @Test
    @Tag("UMF-2")
    @Tag("UMF-6")
    @DisplayName("UMF-2 · UMF-6 · every UMFURS names its source with address type 1 or 3 and a port other than 0")
    void sourceFieldsAreWellFormed(Harness h) throws Exception {
        Setup s = setUp(h);
        List<UdpPeer> sources = List.of(h.udpPeer(1), h.udpPeer(2));
        for (UdpPeer p : sources) {
            p.send(s.mapped(), ascii("well-formed source"));
        }
        for (int i = 0; i < sources.size(); i++) {
            // CrumfursChannel.receive refuses an address type other than 1 or 3 (UMF-2) with the rule in its message.
            dev.vless.conformance.CrumfursChannel.Umfurs m = s.crumfurs().receive();
            if (m == null) {
                throw Expect.violation("UMF-2: a UMFURS for each datagram from an unknown source",
                        sources.size() + " UMFURS", i + " within " + h.target().ioTimeout().toMillis() + " ms");
            }
            if (m.source().getPort() == 0) {
                throw Expect.violation("UMF-6: a receiver treats a UMFURS with source port 0 as a protocol error, so a"
                        + " server never sends one", "a source port in 1-65535", "source " + m.source());
            }
        }
    }

    @Test
    @Tag("UMF-4")
    @DisplayName("UMF-4 · datagrams from three sources (two ports on one host, another host) are each labelled with their own source")
    void everySourceLabelledWithItself(Harness h) throws Exception {
        Setup s = setUp(h);
        List<UdpPeer> sources = List.of(h.udpPeer(1), h.udpPeer(1), h.udpPeer(2));
        for (int i = 0; i < sources.size(); i++) {
            sources.get(i).send(s.mapped(), ascii("source " + i));
        }
        for (int i = 0; i < sources.size(); i++) {
            expectUmfurs(h, s.crumfurs(), sources.get(i), ascii("source " + i), UMF_4);
        }
    }

    @Test
    @Tag("UMF-5")
    @DisplayName("UMF-5 · an empty datagram from an unknown source arrives as a UMFURS of length 0, and the next one follows")
    void emptyUmfurs(Harness h) throws Exception {
        Setup s = setUp(h);
        UdpPeer b = h.udpPeer(1);
        byte[] after = ascii("sent after the empty datagram");
        b.send(s.mapped(), new byte[0]);
        b.send(s.mapped(), after);
        String rule = "UMF-5: a UMFURS with length 0 is a valid empty datagram";
        expectUmfurs(h, s.crumfurs(), b, new byte[0], rule);
        expectUmfurs(h, s.crumfurs(), b, after, rule);
    }

    @Test
    @Tag("UMF-3")
    @DisplayName("UMF-3 · the source of an IPv4 peer is sent with address type 1 and 4 bytes, not as IPv4-mapped IPv6")
    void ipv4SourceHasTypeOne(Harness h) throws Exception {
        UdpPeer b = h.udpPeer(1);
        Assumptions.assumeTrue(b.address().getAddress() instanceof Inet4Address,
                "UMF-3 needs an IPv4 peer address; the peers given are IPv6");
        Setup s = setUp(h);
        byte[] p = ascii("from an IPv4 source");
        b.send(s.mapped(), p);
        CrumfursChannel.Umfurs u = s.crumfurs().receive();
        String rule = "UMF-3: a server MUST send a source that is an IPv4-mapped IPv6 address as address type 1";
        if (u == null) {
            throw Expect.violation(rule, "a UMFURS from " + b.address(), "nothing on CRUMFURS within " + ms(h));
        }
        if (u.addressType() != 1) {
            throw Expect.violation(rule, "address type 1 and the 4 bytes of " + b.address().getAddress()
                    .getHostAddress(), "address type " + u.addressType() + " (" + u.source() + ")");
        }
        checkUmfurs(u, b, p, rule);
    }

    @Test
    @Tag("UMF-1")
    @DisplayName("UMF-1 · a 1200-byte UMFURS arrives intact")
    void umfursOf1200Bytes(Harness h) throws Exception {
        Setup s = setUp(h);
        UdpPeer b = h.udpPeer(1);
        byte[] p = payload(1200, 12);
        b.send(s.mapped(), p);
        expectUmfurs(h, s.crumfurs(), b, p, UMF_1);
    }

    @Test
    @Tag("UMF-1")
    @Tag("UDP-4")
    @DisplayName("UMF-1 · UDP-4 · the largest datagram (65507 bytes over IPv4) arrives intact as a UMFURS")
    void largestUmfurs(Harness h) throws Exception {
        // UDP-4 belongs to both profiles, but this case needs CRUMFURS.
        Assumptions.assumeTrue(h.target().profile() == Profile.V1, "CRUMFURS exists in v1 only");
        UdpPeer b = h.udpPeer(1);
        UdpPeer check = h.udpPeer(0);
        int size = maxDatagram(check.address());
        requirePathCarries(h, check, size);
        Setup s = setUp(h);
        byte[] p = payload(size, 65507);
        b.send(s.mapped(), p);
        expectUmfurs(h, s.crumfurs(), b, p, UMF_1 + "; UDP-4: the server MUST NOT truncate a datagram it relays");
    }

    @Test
    @Tag("UMF-1")
    @DisplayName("UMF-1 · ten UMFURS of different sizes sent back to back arrive in order, each intact")
    void umfursBackToBack(Harness h) throws Exception {
        Setup s = setUp(h);
        UdpPeer b = h.udpPeer(1);
        int[] sizes = {1, 17, 0, 512, 1400, 8000, 3, 20000, 9, 64};
        for (int i = 0; i < sizes.length; i++) {
            b.send(s.mapped(), payload(sizes[i], 100 + i));
        }
        for (int i = 0; i < sizes.length; i++) {
            expectUmfurs(h, s.crumfurs(), b, payload(sizes[i], 100 + i), UMF_1 + " (message " + (i + 1) + " of "
                    + sizes.length + ")");
        }
    }

    /** The next UMFURS on {@code c} must come from exactly {@code from} and carry exactly {@code p}. */
    static CrumfursChannel.Umfurs expectUmfurs(Harness h, CrumfursChannel c, UdpPeer from, byte[] p,
            String requirement) throws Exception {
        CrumfursChannel.Umfurs u = c.receive();
        if (u == null) {
            throw Expect.violation(requirement, "a UMFURS from " + from.address() + " with " + p.length + " B",
                    "nothing on CRUMFURS within " + ms(h));
        }
        checkUmfurs(u, from, p, requirement);
        return u;
    }

    private static void checkUmfurs(CrumfursChannel.Umfurs u, UdpPeer from, byte[] p, String requirement) {
        InetSocketAddress expected = from.address();
        int expectedType = expected.getAddress() instanceof Inet4Address ? 1 : 3;
        if (!u.source().equals(expected) || u.addressType() != expectedType) {
            throw Expect.violation(requirement, "source " + expected + " (address type " + expectedType
                    + ", the address before the port)", "source " + u.source() + " (address type "
                    + u.addressType() + ")" + sameHostHint(u.source(), expected));
        }
        if (!Arrays.equals(u.payload(), p)) {
            throw Expect.violation(requirement, p.length + " B of payload: " + WireLog.hex(p),
                    differs(u.payload(), p));
        }
    }

    /** Points out a right host with a wrong port: a port rewritten on the way, or read from the wrong offset. */
    private static String sameHostHint(InetSocketAddress got, InetSocketAddress expected) {
        return got.getAddress().equals(expected.getAddress()) ? ": the right host with another port" : "";
    }
}
