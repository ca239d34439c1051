// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import static dev.vless.conformance.cases.UdpFrameCases.ascii;
import static dev.vless.conformance.cases.UdpFrameCases.nextMatching;

import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.cases.NatClassificationCases.Context;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * §14 Limits, as far as they show from outside: what a context does at its connection limit, and that a slow client's
 * unsent-data limit costs only that client's datagrams. Each case works in a NAT context of its own (as the lifetime
 * cases do), so these run beside the other cases.
 */
@ConformanceCases
@Tag("limits")
@Execution(ExecutionMode.CONCURRENT)
class LimitCases {
    // The class runs beside the others, its two cases one after the other: each loads the target (257 TLS
    // handshakes; a 5 MB flood) and would slow the other's target down.

    /** LIM-1's default for open command-2 connections per context. */
    private static final int DEFAULT_CONNECTIONS = 256;
    /** Datagrams sent at a connection whose client does not read: 5 MB, far beyond a 1 MiB unsent-data limit. */
    private static final int FLOOD = 5000;
    private static final int FLOOD_SIZE = 1000;

    private static final String LIM_1 = "LIM-1: a server SHOULD bound open command-2 connections per context (256 by"
            + " default), closing the least recently active beyond that";
    private static final String LIM_1_UNSENT = "LIM-1 · DLV-5: datagrams beyond one connection's unsent-data limit are"
            + " dropped; the context's other connections go on receiving";

    @Test
    @Execution(ExecutionMode.SAME_THREAD)
    @Tag("MUX-22")
    @DisplayName("MUX-22 · a 9th MUX connection in a context closes the least recently active one, and only that one")
    void muxLimitClosesLeastRecentlyActive(Harness h) throws Exception {
        h.requireMux();
        Context ctx = LifetimeCases.context(h);
        UdpPeer a = h.udpPeer(0);
        List<dev.vless.conformance.MuxConnection> open = new ArrayList<>();
        for (int i = 1; i <= 8; i++) {
            open.add(h.muxFrom(ctx.clientIp(), ctx.user()));
        }
        // Every one but the first carries a frame: the first is the least recently active when the 9th opens.
        for (int i = 1; i < open.size(); i++) {
            open.get(i).send(a.address(), ascii("MUX-22: activity on MUX #" + (i + 1)));
            if (h.awaitDatagram(a, h.target().ioTimeout()) == null) {
                throw Expect.blocked("MUX-7", "MUX #" + (i + 1) + "'s frame reaches " + a.address(), "nothing within "
                        + h.target().ioTimeout().toMillis() + " ms" + (h.endedConnections() != null ? "; "
                        + h.endedConnections() : ""));
            }
        }
        open.add(h.muxFrom(ctx.clientIp(), ctx.user()));
        Thread.sleep(500);
        List<Integer> closed = new ArrayList<>();
        for (int i = 0; i < open.size(); i++) {
            if (open.get(i).ended() != null) {
                closed.add(i + 1);
            }
        }
        h.log().note("closed by the target: " + (closed.isEmpty() ? "none" : "MUX #" + closed));
        if (closed.isEmpty()) {
            throw Expect.notObservable("the target kept all 9 MUX connections of one context open: its limit may be"
                    + " configured higher than the default 8 (MUX-22 asks for a configurable bound)");
        }
        if (!closed.equals(List.of(1))) {
            throw Expect.violation("MUX-22: a server SHOULD bound MUX connections per context (8 by default),"
                    + " closing the least recently active beyond that", "MUX #1 (no frame since its 0x15) closed,"
                    + " and no other", "closed: MUX #" + closed);
        }
    }

    @Test
    @Execution(ExecutionMode.SAME_THREAD)
    @Tag("LIM-1")
    @DisplayName("LIM-1 · one connection past 256 in a context closes the least recently active one, and only that one")
    void connectionLimitClosesLeastRecentlyActive(Harness h) throws Exception {
        Context ctx = LifetimeCases.context(h);
        UdpPeer a = h.udpPeer(0);
        List<UdpConnection> open = new ArrayList<>();
        open.add(ctx.udp(h, a.address(), ascii("LIM-1: connection #0")));
        // The oldest and, from here on, the least recently active: its datagram is the first to arrive.
        if (h.awaitDatagram(a, h.target().ioTimeout()) == null) {
            throw Expect.blocked("UDP-3", "connection #0's first datagram to reach " + a.address(), "nothing within "
                    + h.target().ioTimeout().toMillis() + " ms" + (h.endedConnections() != null ? "; "
                    + h.endedConnections() : ""));
        }
        long first = System.nanoTime();
        h.log().quiet(true);
        try {
            // Opened four at a time: a TLS handshake each, and the whole must take well under the lifetime, or the
            // idle close (LIF-5) rather than the limit would close the oldest.
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                List<java.util.concurrent.Future<UdpConnection>> opening = new ArrayList<>();
                for (int i = 1; i <= DEFAULT_CONNECTIONS; i++) {
                    byte[] p = ascii("LIM-1: connection #" + i);
                    opening.add(pool.submit(() -> ctx.udp(h, a.address(), p)));
                }
                for (java.util.concurrent.Future<UdpConnection> f : opening) {
                    try {
                        open.add(f.get());
                    } catch (java.util.concurrent.ExecutionException e) {
                        throw e.getCause() instanceof Exception x ? x : new IllegalStateException(e.getCause());
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            // Let the datagrams land, so that the target has seen every connection's activity.
            for (int got = 1; got <= DEFAULT_CONNECTIONS; got++) {
                if (h.awaitDatagram(a, h.target().ioTimeout()) == null) {
                    break;
                }
            }
        } finally {
            h.log().quiet(false);
        }
        long tookMs = (System.nanoTime() - first) / 1_000_000;
        Duration lifetime = h.target().udpLifetime();
        if (lifetime != null && tookMs > lifetime.toMillis() / 2) {
            throw Expect.notObservable("opening " + DEFAULT_CONNECTIONS + " more connections took " + tookMs + " ms,"
                    + " more than half the target's lifetime (" + lifetime.toMillis() + " ms): an idle close (LIF-5)"
                    + " could not be told from the limit's");
        }
        h.log().note("opened " + open.size() + " command-2 connections in one context, each with one datagram");
        Thread.sleep(500);
        List<Integer> closed = new ArrayList<>();
        for (int i = 0; i < open.size(); i++) {
            if (open.get(i).ended() != null) {
                closed.add(i);
            }
        }
        h.log().note("closed by the target: " + (closed.isEmpty() ? "none" : "connections " + closed));
        if (closed.isEmpty()) {
            throw Expect.notObservable("the target kept all " + open.size() + " command-2 connections of one context"
                    + " open: its limit, if it has one, is above LIM-1's default of " + DEFAULT_CONNECTIONS);
        }
        if (!closed.equals(List.of(0))) {
            throw Expect.violation(LIM_1, "connection #0 closed (the least recently active), every other open",
                    "closed: connections " + closed);
        }
        // The survivors still work: the newest and the oldest survivor relay.
        for (int i : new int[] {1, open.size() - 1}) {
            byte[] p = ascii("LIM-1: connection #" + i + " still relays");
            open.get(i).send(p);
            UdpPeer.Datagram d = nextMatching(h, a, p);
            if (d == null) {
                throw Expect.violation(LIM_1, "connection #" + i + " still open and relaying", "its datagram did not"
                        + " arrive within " + h.target().ioTimeout().toMillis() + " ms");
            }
        }
    }

    @Test
    @Execution(ExecutionMode.SAME_THREAD)
    @Tag("LIM-1")
    @Tag("DLV-5")
    @DisplayName("LIM-1 · DLV-5 · while one connection's client reads nothing under a 5 MB flood, another connection of its context still receives")
    void unreadConnectionDoesNotHoldUpItsContext(Harness h) throws Exception {
        Context ctx = LifetimeCases.context(h);
        UdpPeer a = h.udpPeer(0);
        UdpPeer b = h.udpPeer(1);
        byte[] toA = ascii("LIM-1: the connection that will not read");
        byte[] toB = ascii("LIM-1: the connection that reads");
        UdpConnection slow = ctx.udp(h, a.address(), toA);
        InetSocketAddress ma = sourceOf(nextMatching(h, a, toA));
        UdpConnection reader = ctx.udp(h, b.address(), toB);
        InetSocketAddress mb = sourceOf(nextMatching(h, b, toB));
        if (ma == null || mb == null) {
            throw Expect.blocked("UDP-3", "the first datagrams of both connections to reach their remotes",
                    (ma == null ? "A's" : "B's") + " did not arrive within " + h.target().ioTimeout().toMillis()
                            + " ms");
        }
        byte[] big = new byte[FLOOD_SIZE];
        h.log().quiet(true);
        try {
            for (int i = 0; i < FLOOD; i++) {
                big[0] = (byte) i;
                a.send(ma, big);
            }
        } finally {
            h.log().quiet(false);
        }
        h.log().note("sent " + FLOOD + " datagrams of " + FLOOD_SIZE + " B from A to the connection that does not"
                + " read");
        // The flood may fill the context socket's receive buffer, so the kernel drops some of what follows: B sends
        // each datagram again every 100 ms until one copy arrives. What must not happen is that none does.
        for (int i = 0; i < 5; i++) {
            byte[] p = ascii("LIM-1: from B while A's connection is backed up #" + i);
            // Three I/O timeouts: on a loaded machine the target may take seconds to drain the flood; a target that
            // stopped reading for the slow client would never deliver.
            long deadline = System.nanoTime() + 3 * h.target().ioTimeout().toNanos();
            int copies = 0;
            byte[] got = null;
            while (got == null && System.nanoTime() < deadline) {
                b.send(mb, p);
                copies++;
                byte[] f = reader.receive(Duration.ofMillis(100));
                while (f != null && !Arrays.equals(f, p)) { // a late copy of an earlier one
                    f = reader.receive(Duration.ofMillis(10));
                }
                got = f;
            }
            if (got == null) {
                throw Expect.violation(LIM_1_UNSENT, "B's datagram delivered on its own connection within "
                        + 3 * h.target().ioTimeout().toMillis() + " ms", "datagram #" + i + " did not arrive (" + copies
                        + " copies sent, one every 100 ms)" + (reader.ended() != null ? "; " + reader.ended() : ""));
            }
            // Later copies of this one may still come: read them off before the next.
            while (reader.receive(Duration.ofMillis(20)) != null) {
                // drained
            }
        }
        if (slow.ended() != null) {
            h.log().note("the slow connection was closed by the target: " + slow.ended() + " (allowed: LIM-1 drops or"
                    + " closes, DLV-5 only forbids holding up the others)");
        }
    }

    private static InetSocketAddress sourceOf(UdpPeer.Datagram d) {
        return d == null ? null : d.source();
    }
}
