// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import static dev.vless.conformance.cases.UdpFrameCases.ascii;
import static dev.vless.conformance.cases.UdpFrameCases.mappedAddress;

import dev.vless.conformance.Capability;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.Outcome;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.cases.NatClassificationCases.Context;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * §13 Lifetime, at the lifetime the target is configured with ({@code --udp-lifetime}). Without it the cases are not
 * run (a lifetime can only be checked against the one the server claims), except LIF-2's quick check, which can still
 * catch a mapping lost within seconds.
 *
 * <p>Each case waits one to two lifetimes, so they run side by side and beside the other cases, each in a NAT context
 * of its own: the same user from a fresh loopback client IP (NAT-1), alternating between the two users when a second
 * is given so that no user holds more than a few contexts at once (LIM-1 lets a server cap contexts per user at 8). A
 * target that is not on loopback cannot be reached from other client IPs: there the cases run one after another in
 * the main context.
 */
@ConformanceCases
@Tag("nat")
@Tag("lifetime")
@Execution(ExecutionMode.CONCURRENT)
class LifetimeCases {

    /** RFC 4787 REQ-5: a mapping lives at least this long after its last outbound datagram (LIF-2). */
    private static final Duration MIN_LIFETIME = Duration.ofSeconds(120);
    /** Which user the next case's context belongs to, when two are given. */
    private static final AtomicInteger NEXT_CONTEXT = new AtomicInteger();

    private static final String LIF_1 = "LIF-1: a context socket does not expire while a command-2 connection mapped"
            + " to it is open, and an open connection's external address never changes";
    private static final String LIF_2 = "LIF-2: without open connections a context socket lives at least 120 s after"
            + " its last outbound datagram";
    private static final String LIF_4 = "LIF-4: an outbound datagram refreshes the lifetime of its socket and of its"
            + " table entries";
    private static final String LIF_5 = "LIF-5: a server SHOULD close a command-2 connection that carried no datagram"
            + " in either direction for the lifetime";
    private static final String LIF_6 = "LIF-6: a dialed or heard entry expires after the lifetime without traffic to"
            + " or from its address";
    private static final String LIF_7 = "LIF-7: a released UDP port SHOULD stay bound, discarding what it receives,"
            + " for a cool-down (default 30 s)";

    @Test
    @Tag("LIF-1")
    @DisplayName("LIF-1 · a connection that only receives, for longer than the lifetime, keeps its mapping and then sends from it")
    void receiveOnlyConnectionKeepsMapping(Harness h) throws Exception {
        Duration lifetime = lifetime(h);
        Flow f = open(h, context(h), "LIF-1: the only outbound datagram");
        UdpPeer a = f.peer();
        UdpConnection c = f.connection();
        InetSocketAddress mapped = f.mapped();
        long start = System.nanoTime();
        long every = lifetime.toNanos() / 4;
        long end = start + lifetime.toNanos() + late(lifetime).toNanos() + every;
        h.log().note("inbound only, every " + every / 1_000_000 + " ms for " + (end - start) / 1_000_000 + " ms");
        h.log().quiet(true);
        try {
            for (int i = 0; System.nanoTime() < end; i++) {
                long next = System.nanoTime() + every;
                byte[] in = ascii("LIF-1: inbound only #" + i);
                a.send(mapped, in);
                byte[] got = c.receive();
                if (got == null || !Arrays.equals(got, in)) {
                    h.log().quiet(false);
                    throw Expect.violation(LIF_1 + " (a connection that only receives)", "every inbound datagram"
                            + " delivered on the open connection", "datagram #" + i + ", sent to " + mapped + " "
                            + ms(System.nanoTime() - start) + " after the last outbound datagram, "
                            + (got == null ? "did not arrive within " + h.target().ioTimeout().toMillis() + " ms"
                            + ended(c) : "came as another frame: " + UdpFrameCases.differs(got, in))
                            + " (lifetime " + lifetime.toMillis() + " ms)");
                }
                sleepUntil(next);
            }
        } finally {
            h.log().quiet(false);
        }
        expectSameMapping(h, c, a, mapped, LIF_1 + " (" + ms(System.nanoTime() - start) + " without outbound"
                + " datagrams, lifetime " + lifetime.toMillis() + " ms)");
    }

    @Test
    @Tag("LIF-1")
    @DisplayName("LIF-1 · a connection silent for just under the lifetime keeps its mapping: the remote reaches it")
    void silentConnectionKeepsMapping(Harness h) throws Exception {
        Duration lifetime = lifetime(h);
        Flow f = open(h, context(h), "LIF-1: before the silence");
        UdpPeer a = f.peer();
        UdpConnection c = f.connection();
        InetSocketAddress mapped = f.mapped();
        // Silent for less than the lifetime: LIF-5 lets the server close a connection silent for the lifetime.
        Duration silence = lifetime.minus(early(lifetime));
        Expect.silentAndOpen(c, silence, LIF_1 + " (the connection must stay open while silent for "
                + silence.toMillis() + " ms, under the lifetime of " + lifetime.toMillis() + " ms)");
        byte[] in = ascii("LIF-1: to the connection after " + silence.toMillis() + " ms of silence");
        a.send(mapped, in);
        UdpFrameCases.expectFrame(h, c, in, LIF_1 + " (after " + silence.toMillis() + " ms of silence)");
        expectSameMapping(h, c, a, mapped, LIF_1);
    }

    @Test
    @Tag("LIF-4")
    @DisplayName("LIF-4 · outbound datagrams every quarter lifetime, each on a short connection, keep one mapping for longer than the lifetime")
    void outboundTrafficRefreshesMapping(Harness h) throws Exception {
        Duration lifetime = lifetime(h);
        Context ctx = context(h);
        UdpPeer a = h.udpPeer(0);
        long start = System.nanoTime();
        long every = lifetime.toNanos() / 4;
        long end = start + lifetime.toNanos() + late(lifetime).toNanos() + every;
        InetSocketAddress first = null;
        for (int i = 0; System.nanoTime() < end; i++) {
            long next = System.nanoTime() + every;
            // No connection stays open in between, so only the refresh keeps the socket (LIF-1 would otherwise).
            byte[] out = ascii("LIF-4: outbound #" + i);
            UdpConnection c = ctx.udp(h, a.address(), out);
            InetSocketAddress mapped = mappingOf(h, a, out);
            c.close();
            if (first == null) {
                first = mapped;
            } else if (!mapped.equals(first)) {
                throw Expect.violation(LIF_4, "every datagram to " + a.address() + " from " + first + " (one every "
                        + every / 1_000_000 + " ms, lifetime " + lifetime.toMillis() + " ms)", "datagram #" + i + ", "
                        + ms(System.nanoTime() - start) + " after the first, came from " + mapped);
            }
            sleepUntil(next);
        }
    }

    @Test
    @Tag("LIF-2")
    @DisplayName("LIF-2 · the mapping outlives its connection: a new connection to the same remote after the lifetime (at most 120 s) gets the same address")
    void mappingOutlivesConnection(Harness h) throws Exception {
        Duration lifetime = h.target().udpLifetime();
        Duration idle;
        String scope;
        if (lifetime == null) {
            Duration probe = h.target().lifetimeProbe();
            idle = probe.compareTo(MIN_LIFETIME) >= 0 ? MIN_LIFETIME.minusSeconds(1) : probe;
            scope = "quick check without --udp-lifetime: " + idle.toMillis() + " ms idle";
        } else if (lifetime.compareTo(MIN_LIFETIME) >= 0) {
            idle = MIN_LIFETIME.minusSeconds(1);
            scope = idle.toSeconds() + " s idle (the target's lifetime is " + lifetime.toSeconds() + " s)";
        } else {
            idle = lifetime.minus(early(lifetime));
            scope = idle.toMillis() + " ms idle, just under the declared lifetime of " + lifetime.toMillis() + " ms,"
                    + " which is itself below the 120 s a deployed server must keep (allowed for testing only)";
        }
        h.fact("lifetime.LIF-2", scope);
        Context ctx = context(h);
        Flow f = open(h, ctx, "LIF-2: before the connection closes");
        UdpPeer a = f.peer();
        InetSocketAddress mapped = f.mapped();
        long lastOutbound = System.nanoTime();
        f.connection().close();
        sleepUntil(lastOutbound + idle.toNanos());
        byte[] again = ascii("LIF-2: a new connection after " + idle.toMillis() + " ms");
        ctx.udp(h, a.address(), again);
        InetSocketAddress now = mappingOf(h, a, again);
        if (!now.equals(mapped)) {
            throw Expect.violation(LIF_2 + " (" + scope + ")", "the new connection's datagram from " + mapped,
                    "it came from " + now + ", " + ms(System.nanoTime() - lastOutbound) + " after the last outbound"
                    + " datagram");
        }
        if (lifetime == null && idle.compareTo(MIN_LIFETIME.minusSeconds(1)) < 0) {
            // Keeping a mapping for seconds says nothing about 120 s: never a PASS.
            throw Expect.notRun("the mapping survived " + idle.toMillis() + " ms idle, which says nothing about the"
                    + " 120 s the rule requires; give --udp-lifetime (or --full) to check it");
        }
    }

    @Test
    @Tag("LIF-5")
    @DisplayName("LIF-5 · a command-2 connection silent for the lifetime is closed, not before")
    void silentConnectionIsClosed(Harness h) throws Exception {
        Duration lifetime = lifetime(h);
        UdpConnection c = open(h, context(h), "LIF-5: the only datagram").connection();
        long last = System.nanoTime();
        Duration allowed = lifetime.plus(late(lifetime));
        Outcome o = c.await(allowed.plusSeconds(1));
        long silentMs = (System.nanoTime() - last) / 1_000_000;
        h.log().note("after " + silentMs + " ms of silence: " + o);
        if (o.kind() == Outcome.Kind.STILL_OPEN) {
            throw Expect.violation(LIF_5, "closed within " + allowed.toMillis() + " ms of silence (lifetime "
                    + lifetime.toMillis() + " ms, and a sweep's lateness)", "still open after " + silentMs
                    + " ms without a datagram either way");
        }
        if (o.kind() == Outcome.Kind.DATA) {
            throw Expect.violation(LIF_5, "nothing on the connection, then a close", o.toString());
        }
        long min = lifetime.minus(early(lifetime)).toMillis();
        if (silentMs < min) {
            throw Expect.violation(LIF_5, "closed once silent for the lifetime (" + lifetime.toMillis() + " ms), not"
                    + " before", "closed after only " + silentMs + " ms of silence");
        }
    }

    @Test
    @Tag("LIF-6")
    @DisplayName("LIF-6 · a dialed entry expires: after a lifetime without traffic, a per-destination target dials the remote from a new socket")
    void dialedEntryExpires(Harness h) throws Exception {
        Duration lifetime = lifetime(h);
        Context ctx = context(h);
        UdpPeer a = h.udpPeer(0);
        UdpPeer b = h.udpPeer(1);
        byte[] toA = ascii("LIF-6: to A");
        byte[] toB = ascii("LIF-6: to B");
        UdpConnection ca = ctx.udp(h, a.address(), toA);
        InetSocketAddress ma = mappingOf(h, a, toA);
        UdpConnection cb = ctx.udp(h, b.address(), toB);
        InetSocketAddress mb = mappingOf(h, b, toB);
        if (ma.getPort() == mb.getPort()) {
            throw Expect.notObservable("the target maps endpoint-independently (A and B both saw port " + ma.getPort()
                    + "): one socket per address family serves every destination, so whether an entry expired"
                    + " changes nothing the harness can see");
        }
        h.fact("lifetime.LIF-6", "per-destination mapping: A saw " + ma + ", B saw " + mb);
        ca.close();
        cb.close();
        long last = System.nanoTime();
        sleepUntil(last + lifetime.toNanos() + late(lifetime).toNanos());
        byte[] again = ascii("LIF-6: to A after the lifetime");
        ctx.udp(h, a.address(), again);
        InetSocketAddress now = mappingOf(h, a, again);
        if (now.equals(ma)) {
            throw Expect.violation(LIF_6, "a new socket for A (a new destination once its dialed entry expired, under"
                    + " the per-destination policy)", "A's datagram came from " + now + " again, the socket of its"
                    + " first dial, " + ms(System.nanoTime() - last) + " after the last traffic with A (lifetime "
                    + lifetime.toMillis() + " ms)");
        }
    }

    @Test
    @Tag("LIF-7")
    @DisplayName("LIF-7 · a released port stays bound for the cool-down and discards what it receives")
    void releasedPortCoolsDown(Harness h) throws Exception {
        Duration lifetime = lifetime(h);
        Context ctx = context(h);
        Flow f = open(h, ctx, "LIF-7: the socket's only datagram");
        UdpPeer a = f.peer();
        UdpConnection c = f.connection();
        InetSocketAddress old = f.mapped();
        if (!isLocal(old)) {
            throw Expect.notObservable("the target's mapped address " + old + " is not an address of this machine,"
                    + " so the harness cannot see whether its port stays bound");
        }
        c.close();
        long last = System.nanoTime();
        sleepUntil(last + lifetime.toNanos() + late(lifetime).toNanos());
        byte[] again = ascii("LIF-7: after the lifetime");
        UdpConnection fresh = ctx.udp(h, a.address(), again);
        InetSocketAddress now = mappingOf(h, a, again);
        if (now.equals(old)) {
            throw Expect.notObservable("the socket had not been released " + ms(System.nanoTime() - last) + " after"
                    + " its last datagram (lifetime " + lifetime.toMillis() + " ms; LIF-2 allows longer), so its"
                    + " cool-down could not be watched");
        }
        h.log().note("the socket was released: a new connection maps to " + now);
        String bound = stillBound(old);
        if (bound != null) {
            throw Expect.violation(LIF_7, "port " + old.getPort() + " still bound, " + ms(System.nanoTime() - last)
                    + " after its socket's last datagram", bound);
        }
        byte[] stray = ascii("LIF-7: to the released port");
        a.send(old, stray);
        byte[] got = fresh.receive(Duration.ofMillis(500));
        if (got != null) {
            throw Expect.violation(LIF_7, "the released port discards what it receives", "a datagram from "
                    + a.address() + " to the released " + old + " was delivered on the new connection: "
                    + UdpFrameCases.differs(got, stray));
        }
    }

    @Test
    @Tag("MUX-20")
    @Tag("MUX-21")
    @DisplayName("MUX-20 · MUX-21 · an open MUX connection pins its context's sockets: after a lifetime and a half with"
            + " only port-0 frames, a remote still reaches it through the context's address")
    void openMuxPinsSockets(Harness h) throws Exception {
        h.requireMux(); // first: without the mode, its reason is the one the MUX rules get
        Duration lifetime = lifetime(h);
        Context ctx = context(h);
        Flow f = open(h, ctx, "MUX-20: command 2 to A, then closed");
        f.connection().close();
        dev.vless.conformance.MuxConnection mux = h.muxFrom(ctx.clientIp(), ctx.user());
        long start = System.nanoTime();
        long every = lifetime.toNanos() / 4;
        long end = start + lifetime.toNanos() + late(lifetime).toNanos() + every;
        java.net.InetSocketAddress zero = new java.net.InetSocketAddress(f.peer().address().getAddress(), 0);
        h.log().note("only port-0 frames (activity, no datagram), every " + every / 1_000_000 + " ms for "
                + (end - start) / 1_000_000 + " ms");
        for (int i = 0; System.nanoTime() < end; i++) {
            mux.send(zero, ascii("MUX-21: keepalive #" + i));
            Outcome o = mux.await(Duration.ofNanos(Math.max(1_000_000, Math.min(every, end - System.nanoTime()))));
            if (o.kind() != Outcome.Kind.STILL_OPEN) {
                throw Expect.violation("MUX-21: every frame read counts as activity, frames to port 0 included",
                        "the MUX connection open while a port-0 frame goes every " + every / 1_000_000 + " ms",
                        o + " (" + ms(System.nanoTime() - start) + " after it opened)");
            }
        }
        byte[] hello = ascii("MUX-20: A to M after " + ms(System.nanoTime() - start) + " without outbound datagrams");
        f.peer().send(f.mapped(), hello);
        dev.vless.conformance.MuxConnection.Frame got = MuxCases.nextFrame(mux, hello, h.target().ioTimeout(),
                new java.util.ArrayList<>());
        if (got == null) {
            throw Expect.violation("MUX-20: no socket of a NAT context expires while the context has an open MUX"
                    + " connection", "A's datagram to the context's address " + f.mapped() + " on the MUX connection",
                    "nothing within " + h.target().ioTimeout().toMillis() + " ms, " + ms(System.nanoTime() - start)
                    + " after the last outbound datagram (lifetime " + lifetime.toMillis() + " ms)" + ended(mux));
        }
    }

    @Test
    @Tag("MUX-21")
    @DisplayName("MUX-21 · a MUX connection that carried no frame for the lifetime is closed, not before")
    void silentMuxIsClosed(Harness h) throws Exception {
        h.requireMux(); // first: without the mode, its reason is the one the MUX rules get
        Duration lifetime = lifetime(h);
        Context ctx = context(h);
        UdpPeer a = h.udpPeer(0);
        dev.vless.conformance.MuxConnection mux = h.muxFrom(ctx.clientIp(), ctx.user());
        byte[] only = ascii("MUX-21: the only frame");
        mux.send(a.address(), only);
        long last = System.nanoTime();
        mappingOf(h, a, only);
        Duration allowed = lifetime.plus(late(lifetime));
        Outcome o = mux.await(allowed.plusSeconds(1));
        long silentMs = (System.nanoTime() - last) / 1_000_000;
        h.log().note("after " + silentMs + " ms of silence: " + o);
        String rule = "MUX-21: a server SHOULD close a MUX connection that carried no frame in either direction for"
                + " the lifetime";
        if (o.kind() == Outcome.Kind.STILL_OPEN) {
            throw Expect.violation(rule, "closed within " + allowed.toMillis() + " ms of silence (lifetime "
                    + lifetime.toMillis() + " ms, and a sweep's lateness)", "still open after " + silentMs
                    + " ms without a frame either way");
        }
        if (o.kind() == Outcome.Kind.DATA) {
            throw Expect.violation(rule, "nothing on the connection, then a close", o.toString());
        }
        long min = lifetime.minus(early(lifetime)).toMillis();
        if (silentMs < min) {
            throw Expect.violation(rule, "closed once silent for the lifetime (" + lifetime.toMillis() + " ms), not"
                    + " before", "closed after only " + silentMs + " ms of silence");
        }
    }

    // ---- timing ----

    /** The lifetime the target claims; without it the case is not run (a lifetime case never passes without one). */
    static Duration lifetime(Harness h) {
        Duration l = h.target().udpLifetime();
        if (l == null) {
            throw Expect.notRun("the target's UDP lifetime is not known: give --udp-lifetime DURATION, the lifetime"
                    + " the server is configured with (the reference server's default is 300s)");
        }
        return l;
    }

    /**
     * How much later than the lifetime an expiry or an idle close may come: servers sweep periodically (the reference
     * server every quarter lifetime, at most 5 s), so "after the lifetime" is a window, not a moment.
     */
    static Duration late(Duration lifetime) {
        Duration quarter = lifetime.dividedBy(4);
        return quarter.compareTo(Duration.ofSeconds(1)) > 0 ? quarter : Duration.ofSeconds(1);
    }

    /** How long before the lifetime a mapping is checked to be still there: a tenth of it, at most a second. */
    static Duration early(Duration lifetime) {
        Duration tenth = lifetime.dividedBy(10);
        return tenth.compareTo(Duration.ofSeconds(1)) < 0 ? tenth : Duration.ofSeconds(1);
    }

    // ---- contexts and mappings ----

    /**
     * A NAT context of the case's own: the same user (or the second, every other case) from a fresh loopback client
     * IP; the main context when the target is not on loopback (then the cases run one at a time).
     */
    static Context context(Harness h) throws IOException {
        if (!h.target().has(Capability.LOOPBACK_TARGET)) {
            return Context.main(h);
        }
        boolean second = h.target().has(Capability.SECOND_USER) && NEXT_CONTEXT.getAndIncrement() % 2 == 1;
        java.net.InetAddress ip = NatClassificationCases.freshClientIp();
        Context c = new Context(second ? h.target().user2() : h.target().user(), ip,
                (second ? "user 2" : "user 1") + " from " + ip.getHostAddress() + ", a context of this case's own");
        h.log().note("context: " + c.name());
        return c;
    }

    /** A command-2 connection of a case, its remote, and the server's address as the remote saw it. */
    private record Flow(UdpPeer peer, UdpConnection connection, InetSocketAddress mapped) {
    }

    /** A connection of {@code ctx} to a new peer, {@code first} its first datagram, and where that came from. */
    private static Flow open(Harness h, Context ctx, String first) throws Exception {
        UdpPeer a = h.udpPeer(0);
        byte[] out = ascii(first);
        UdpConnection c = ctx.udp(h, a.address(), out);
        return new Flow(a, c, mappingOf(h, a, out));
    }

    /** The source of the datagram {@code payload} as {@code a} received it. */
    private static InetSocketAddress mappingOf(Harness h, UdpPeer a, byte[] payload) throws Exception {
        UdpPeer.Datagram d = UdpFrameCases.nextMatching(h, a, payload);
        if (d != null) {
            return d.source();
        }
        String ended = h.endedConnections();
        throw Expect.blocked("UDP-3", "the datagram '" + new String(payload, java.nio.charset.StandardCharsets.US_ASCII)
                + "' to reach " + a.address(), "it did not arrive within " + h.target().ioTimeout().toMillis() + " ms"
                + (ended != null ? "; " + ended + refusedContext() : ""));
    }

    /** Why a fresh context's connection may be closed at once, for a blocked case's message. */
    private static String refusedContext() {
        return " (a connection from a new client IP closed at once may be the target's limit of contexts per user,"
                + " LIM-1; give --user2 so that the lifetime cases spread over two users)";
    }

    private static void expectSameMapping(Harness h, UdpConnection c, UdpPeer a, InetSocketAddress mapped,
            String rule) throws Exception {
        InetSocketAddress now = mappedAddress(h, c, a);
        if (!now.equals(mapped)) {
            throw Expect.violation(rule, "the connection's datagram from " + mapped, "it came from " + now);
        }
    }

    private static String ended(dev.vless.conformance.VlessConnection c) {
        String e = c.ended();
        return e == null ? "" : "; " + e;
    }

    /** Whether {@code a}'s address belongs to this machine, so that the harness can try its port. */
    private static boolean isLocal(InetSocketAddress a) {
        try {
            return a.getAddress().isLoopbackAddress() || NetworkInterface.getByInetAddress(a.getAddress()) != null;
        } catch (SocketException e) {
            return false;
        }
    }

    /** {@code null} when {@code a}'s port is bound by someone, else what the harness saw. */
    private static String stillBound(InetSocketAddress a) {
        try (DatagramSocket s = new DatagramSocket(null)) {
            s.setReuseAddress(false);
            s.bind(a);
            return "the harness could bind " + a + " itself: the port was free (no cool-down)";
        } catch (SocketException e) {
            return null; // in use: the target still holds it
        }
    }

    private static String ms(long nanos) {
        return nanos / 1_000_000 + " ms";
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left = nanoTime - System.nanoTime();
        if (left > 0) {
            Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
        }
    }
}
