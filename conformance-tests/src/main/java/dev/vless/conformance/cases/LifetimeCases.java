// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import static dev.vless.conformance.cases.UdpFrameCases.ascii;
import static dev.vless.conformance.cases.UdpFrameCases.expectFrame;
import static dev.vless.conformance.cases.UdpFrameCases.mappedAddress;

import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * §13 Lifetime, as far as a run of a few seconds can see it: the mapped address of an open connection survives
 * silence and receive-only traffic, outbound datagrams keep it, and it outlives the connection. How long the cases
 * wait is the target's lifetime probe ({@code --lifetime-probe}, 3 s by default, 120 s with {@code --full}).
 */
@ConformanceCases
@Tag("nat")
class LifetimeCases {

    /** RFC 4787 REQ-5: a mapping lives at least this long after its last outbound datagram (LIF-2). */
    private static final Duration MIN_LIFETIME = Duration.ofSeconds(120);
    /**
     * The longest a connection is left silent: below the shortest lifetime a server may have, since LIF-5 lets it close
     * a command-2 connection that carried nothing for the lifetime.
     */
    private static final Duration MAX_SILENCE = Duration.ofSeconds(110);
    /** Time for the datagram that tests a mapping after a wait to get there, within RFC 4787's 120 s. */
    private static final Duration ROUND_TRIP_ALLOWANCE = Duration.ofSeconds(1);

    private static final String LIF_1 = "LIF-1: a context socket does not expire while a command-2 connection mapped"
            + " to it is open, and an open connection's external address never changes";

    @Test
    @Tag("LIF-1")
    @DisplayName("LIF-1 · a silent open connection keeps its mapping: the target reaches it after the lifetime probe")
    void silentConnectionKeepsMapping(Harness h) throws Exception {
        UdpPeer a = h.udpPeer(0);
        UdpConnection c = h.udp(a.address());
        InetSocketAddress mapped = mappedAddress(h, c, a);
        Duration silence = min(h.target().lifetimeProbe(), MAX_SILENCE);
        Expect.silentAndOpen(c, silence, LIF_1 + " (the connection must stay open while silent)");
        byte[] in = ascii("to the connection after " + silence.toMillis() + " ms of silence");
        a.send(mapped, in);
        expectFrame(h, c, in, LIF_1);
        expectSameMapping(h, c, a, mapped, LIF_1);
    }

    @Test
    @Tag("LIF-1")
    @DisplayName("LIF-1 · a receive-only connection keeps its mapping for the lifetime probe")
    void receiveOnlyConnectionKeepsMapping(Harness h) throws Exception {
        UdpPeer a = h.udpPeer(0);
        UdpConnection c = h.udp(a.address());
        InetSocketAddress mapped = mappedAddress(h, c, a);
        Duration probe = h.target().lifetimeProbe();
        long end = System.nanoTime() + probe.toNanos();
        long every = probe.toNanos() / 4;
        for (int i = 0; System.nanoTime() < end; i++) {
            long next = System.nanoTime() + every;
            byte[] in = ascii("inbound only #" + i);
            a.send(mapped, in);
            expectFrame(h, c, in, LIF_1 + " (a connection that only receives)");
            sleepUntil(next);
        }
        expectSameMapping(h, c, a, mapped, LIF_1);
    }

    @Test
    @Tag("LIF-4")
    @DisplayName("LIF-4 · outbound datagrams every probe/4 for twice the probe, each on a short connection, keep one mapped address")
    void outboundTrafficRefreshesMapping(Harness h) throws Exception {
        UdpPeer a = h.udpPeer(0);
        Duration probe = h.target().lifetimeProbe();
        long end = System.nanoTime() + 2 * probe.toNanos();
        long every = probe.toNanos() / 4;
        InetSocketAddress first = null;
        for (int i = 0; System.nanoTime() < end; i++) {
            long next = System.nanoTime() + every;
            // No connection stays open in between, so only the refresh keeps the socket (LIF-1 does not).
            UdpConnection c = h.udp(a.address());
            InetSocketAddress mapped = mappedAddress(h, c, a);
            c.close();
            if (first == null) {
                first = mapped;
            } else if (!mapped.equals(first)) {
                throw Expect.violation("LIF-4: an outbound datagram refreshes the lifetime of its socket and of its"
                        + " table entries", "every datagram to " + a.address() + " from " + first,
                        "datagram " + (i + 1) + ", " + (i * every / 1_000_000) + " ms in, came from " + mapped);
            }
            sleepUntil(next);
        }
    }

    @Test
    @Tag("LIF-2")
    @DisplayName("LIF-2 · the mapping outlives its connection: a new connection to the same target after the probe gets the same address")
    void mappingOutlivesConnection(Harness h) throws Exception {
        Duration probe = h.target().lifetimeProbe();
        boolean full = probe.compareTo(MIN_LIFETIME) >= 0;
        Duration idle = full ? MIN_LIFETIME.minus(ROUND_TRIP_ALLOWANCE) : probe;
        String scope = full ? "full check: " + idle.toSeconds() + " s idle"
                : "shortened check: " + idle.toMillis() + " ms idle instead of 120 s (--full runs the whole"
                        + " check); losing the mapping this soon certainly breaks the 120 s rule";
        h.fact("lifetime.LIF-2", scope);
        UdpPeer a = h.udpPeer(0);
        UdpConnection c = h.udp(a.address());
        InetSocketAddress mapped = mappedAddress(h, c, a);
        long lastOutbound = System.nanoTime();
        c.close();
        sleepUntil(lastOutbound + idle.toNanos());
        UdpConnection again = h.udp(a.address());
        InetSocketAddress now = mappedAddress(h, again, a);
        if (!now.equals(mapped)) {
            throw Expect.violation("LIF-2: without open connections a context socket lives at least 120 s after its"
                    + " last outbound datagram (" + scope + ")", "the new connection's datagram from " + mapped,
                    "it came from " + now);
        }
    }

    /** The connection's next datagram must come from the address its first did. */
    private static void expectSameMapping(Harness h, UdpConnection c, UdpPeer a, InetSocketAddress mapped,
            String rule) throws Exception {
        InetSocketAddress now = mappedAddress(h, c, a);
        if (!now.equals(mapped)) {
            throw Expect.violation(rule, "the connection's datagram from " + mapped, "it came from " + now);
        }
    }

    private static Duration min(Duration x, Duration y) {
        return x.compareTo(y) <= 0 ? x : y;
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left = nanoTime - System.nanoTime();
        if (left > 0) {
            Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
        }
    }
}
