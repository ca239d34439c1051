// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import static dev.vless.conformance.cases.UdpFrameCases.ascii;
import static dev.vless.conformance.cases.UdpFrameCases.mappedAddress;
import static dev.vless.conformance.cases.UdpFrameCases.ms;

import dev.vless.codec.VlessRequest;
import dev.vless.conformance.Capability;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.CrumfursChannel;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.Outcome;
import dev.vless.conformance.Requires;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.VlessConnection;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * §9 CRUMFURS: the one-byte acknowledgement, a channel that stays open and silent until a datagram from an unknown
 * source arrives, one live channel per NAT context, and client bytes that are read and thrown away.
 */
@ConformanceCases
@Tag("crumfurs")
class CrumfursCases {

    @Test
    @Tag("CRF-1")
    @DisplayName("CRF-1 · a CRUMFURS request is answered with exactly 0x14, then nothing until a datagram arrives")
    void acknowledgementThenOnlyUmfurs(Harness h) throws Exception {
        // Harness.crumfurs() already fails unless the first bytes are exactly 14.
        CrumfursChannel c = h.crumfurs();
        Expect.silentAndOpen(c, Duration.ofSeconds(1), "CRF-1: after 0x14 the server sends nothing but UMFURS"
                + " messages, and there was no datagram yet");
        umfursArrives(h, c, "CRF-1: after 0x14 the server sends nothing but UMFURS messages");
    }

    @Test
    @Tag("CRF-2")
    @DisplayName("CRF-2 · CRUMFURS stays open through 2 s without traffic and then still delivers")
    void staysOpenWhileIdle(Harness h) throws Exception {
        CrumfursChannel c = h.crumfurs();
        Expect.silentAndOpen(c, Duration.ofSeconds(2), "CRF-2: the server keeps a CRUMFURS connection open until the"
                + " client ends it, a newer CRUMFURS replaces it, or the server shuts down");
        umfursArrives(h, c, "CRF-2: an idle CRUMFURS is still the context's live channel");
    }

    @Test
    @Tag("CRF-3")
    @DisplayName("CRF-3 · a second CRUMFURS of the same user from the same client IP closes the first and takes over")
    void secondCrumfursReplacesFirst(Harness h) throws Exception {
        CrumfursChannel first = h.crumfurs();
        CrumfursChannel second = h.crumfurs();
        Outcome o = first.await(h.target().ioTimeout());
        if (o.kind() != Outcome.Kind.CLOSED && o.kind() != Outcome.Kind.RESET) {
            throw Expect.violation("CRF-3: a NAT context has at most one live CRUMFURS: when a new one is established"
                    + " the server closes the old one", "the first CRUMFURS closed, without a byte, within "
                    + ms(h), o.toString());
        }
        umfursArrives(h, second, "CRF-3: the newer CRUMFURS is the context's live one");
    }

    @Test
    @Tag("CRF-4")
    @DisplayName("CRF-4 · 100 bytes the client sends on CRUMFURS are discarded: the channel stays open and delivers")
    void clientBytesAreDiscarded(Harness h) throws Exception {
        CrumfursChannel c = h.crumfurs();
        // Starts like a request header, so a server that parses CRUMFURS input as a new header is caught too.
        byte[] garbage = UdpFrameCases.payload(100, 4);
        garbage[0] = 0x01;
        c.write(garbage);
        Expect.silentAndOpen(c, Duration.ofMillis(500), "CRF-4: bytes a client sends on a CRUMFURS connection are"
                + " read and discarded");
        umfursArrives(h, c, "CRF-4: bytes a client sends on a CRUMFURS connection are read and discarded");
    }

    @Test
    @Tag("CRF-4")
    @Requires(Capability.PLAINTEXT_HALF_CLOSE)
    @DisplayName("CRF-4 · the client's end of stream closes CRUMFURS")
    void clientEndOfStreamCloses(Harness h) throws Exception {
        CrumfursChannel c = h.crumfurs();
        c.shutdownOutput();
        Outcome o = c.await(h.target().ioTimeout());
        if (o.kind() != Outcome.Kind.CLOSED && o.kind() != Outcome.Kind.RESET) {
            throw Expect.violation("CRF-4: the client's end of stream closes the channel", "close within " + ms(h),
                    o.toString());
        }
    }

    @Test
    @Tag("HDR-9")
    @DisplayName("HDR-9 · an 18-byte CRUMFURS request is complete: 0x14 comes without any further byte")
    void eighteenBytesAreTheWholeRequest(Harness h) throws Exception {
        byte[] request = VlessConnection.encode(VlessRequest.crumfurs(h.target().user()));
        if (request.length != VlessRequest.CRUMFURS_LENGTH) {
            throw new IllegalStateException("the harness encoded a CRUMFURS request of " + request.length + " B");
        }
        VlessConnection c = h.connect();
        c.write(request);
        Outcome o = c.await(h.target().ioTimeout());
        if (o.kind() != Outcome.Kind.DATA || o.bytes()[0] != 0x14) {
            throw Expect.violation("HDR-9: nothing follows the command byte of a CRUMFURS request: its header is"
                    + " exactly 18 bytes", "0x14 within " + ms(h) + " of the 18th byte", o.toString());
        }
    }

    /**
     * Makes a datagram from a never-contacted source reach the context's socket: a command-2 connection to peer A
     * reveals the mapped address, then peer B sends there. {@code c} must deliver it as a UMFURS from B.
     */
    static void umfursArrives(Harness h, CrumfursChannel c, String requirement) throws Exception {
        UdpPeer a = h.udpPeer(0);
        UdpPeer b = h.udpPeer(1);
        UdpConnection toA = h.udp(a.address());
        InetSocketAddress mapped = mappedAddress(h, toA, a);
        byte[] p = ascii("from an unknown source, for CRUMFURS");
        b.send(mapped, p);
        UmfursCases.expectUmfurs(h, c, b, p, requirement);
    }
}
