// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import static java.nio.charset.StandardCharsets.US_ASCII;

import dev.vless.conformance.Capability;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.CrumfursChannel;
import dev.vless.conformance.Harness;
import dev.vless.conformance.Requires;
import dev.vless.conformance.TargetUnreachableException;
import dev.vless.conformance.UdpConnection;
import dev.vless.conformance.UdpPeer;
import dev.vless.spec.Profile;
import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The target's NAT behaviour, measured and reported rather than judged: the RFC 5780 recipe adapted to a proxy's UDP
 * relay ({@code nat-behaviour.md}). The cases carry no rule tag, so they run for v0 targets too (which are expected to
 * classify as symmetric), and their verdict is INFORMATIONAL; the report's classification table is built from the
 * {@code nat.*} facts, in the order the cases run.
 */
@ConformanceCases
@Tag("nat")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NatClassificationCases {

    /** RFC 4787 mapping classes. */
    enum MappingClass { EIM, ADM, APDM }

    /** RFC 4787 filtering classes. */
    enum FilteringClass { EIF, ADF, APDF }

    @Test
    @Order(1)
    @DisplayName("NAT class · source fidelity: each datagram comes back labelled with its true source")
    void sourceFidelity(Harness h) throws Exception {
        h.informational();
        Context main = Context.main(h);
        List<String> faults = new ArrayList<>();
        String umfursNote = "";
        try {
            CrumfursChannel crf = main.crumfurs(h);
            List<InetAddress> hosts = distinctPeers(h);
            UdpPeer r = h.udpPeer(new InetSocketAddress(hosts.get(0), 0)).echo();
            UdpPeer r2 = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() > 1 ? 1 : 0), 0)).echo();
            byte[] toR = bytes("fidelity: to R");
            byte[] toR2 = bytes("fidelity: to R2");
            UdpConnection c = main.udp(h, r.address(), toR);
            UdpConnection c2 = main.udp(h, r2.address(), toR2);
            checkEcho(c, toR, "R " + addr(r.address()), faults);
            checkEcho(c2, toR2, "R2 " + addr(r2.address()), faults);
            InetSocketAddress m = observed(h, r, toR);
            if (crf != null && m != null) {
                // A remote the client never sent to: its datagram can only come as a UMFURS, labelled with it (UMF-4).
                UdpPeer unknown = h.udpPeer(new InetSocketAddress(hosts.get(hosts.size() - 1), 0));
                byte[] hello = bytes("fidelity: from an unknown source");
                unknown.send(m, hello);
                CrumfursChannel.Umfurs u = nextUmfurs(crf, hello, h.target().ioTimeout());
                if (u == null) {
                    umfursNote = " (no UMFURS arrived, so only connection replies were checked)";
                } else if (!u.source().equals(unknown.address())) {
                    faults.add("a UMFURS from " + addr(unknown.address()) + " was labelled " + addr(u.source()));
                }
            }
        } catch (IOException | AssertionError e) {
            rethrowIfUnreachable(e);
            faults.add("the exchange failed: " + e.getMessage());
        }
        h.fact("nat.source-fidelity", faults.isEmpty() ? "PASS" + umfursNote : "FAIL: " + String.join("; ", faults));
    }

    @Test
    @Order(2)
    @DisplayName("NAT class · mapping: M1, M2, M3 seen by R(ip1,p1), R(ip2,p1), R(ip2,p2) give EIM, ADM or APDM")
    void mapping(Harness h) throws Exception {
        h.informational();
        try {
            Context main = Context.main(h);
            main.crumfurs(h);
            h.fact("nat.mapping", probeMapping(h, main, "mapping").describe());
        } catch (IOException | AssertionError e) {
            undetermined(h, e, "nat.mapping");
        }
    }

    @Test
    @Order(3)
    @DisplayName("NAT class · filtering: a fresh flow to R(ip1,p1), then R(ip2,p2) and R(ip1,p2) send to M1")
    void filteringAndClass(Harness h) throws Exception {
        h.informational();
        try {
            FilteringProbe f = probeFiltering(h, filteringContext(h), "filtering");
            h.fact("nat.filtering", f.describe());
            // The class needs the mapping too: measured again here so that this case stands on its own.
            Context main = Context.main(h);
            main.crumfurs(h);
            MappingProbe m = probeMapping(h, main, "class");
            h.fact("nat.rfc4787", rfc4787(m.classes(), f.classes()));
            h.fact("nat.classic", classic(m.classes(), f.classes()));
        } catch (IOException | AssertionError e) {
            undetermined(h, e, "nat.filtering", "nat.rfc4787", "nat.classic");
        }
    }

    @Test
    @Order(4)
    @DisplayName("NAT class · determinism (RFC 4787 REQ-11): mapping and filtering measured three times agree")
    void determinism(Harness h) throws Exception {
        h.informational();
        List<String> rounds = new ArrayList<>();
        Set<InetSocketAddress> eimAddresses = new LinkedHashSet<>();
        try {
            Context main = Context.main(h);
            main.crumfurs(h);
            for (int i = 1; i <= 3; i++) {
                MappingProbe m = probeMapping(h, main, "round " + i);
                FilteringProbe f = probeFiltering(h, filteringContext(h), "round " + i);
                rounds.add(rfc4787(m.classes(), f.classes()));
                if (m.classes().equals(EnumSet.of(MappingClass.EIM))) {
                    // Earlier rounds' connections are still open, so an endpoint-independent mapping must not move.
                    eimAddresses.add(m.mapped().get(0));
                }
            }
        } catch (IOException | AssertionError e) {
            undetermined(h, e, "nat.deterministic");
            return;
        }
        boolean same = rounds.stream().distinct().count() == 1 && eimAddresses.size() <= 1;
        String detail = same ? "3 rounds, " + rounds.get(0) + " each time"
                : "rounds gave " + String.join(" | ", rounds)
                        + (eimAddresses.size() > 1 ? "; the context's mapped address moved: "
                                + eimAddresses.stream().map(NatClassificationCases::addr).toList() : "");
        h.fact("nat.deterministic", (same ? "yes (" : "no (") + detail + ")");
    }

    @Test
    @Order(5)
    @Requires(Capability.SECOND_USER)
    @DisplayName("NAT class · hairpinning (RFC 4787 REQ-9): a datagram from context A to M_B reaches B from M_A")
    void hairpinning(Harness h) throws Exception {
        h.informational();
        Context a = Context.main(h);
        Context b = new Context(h.target().user2(), null, "user 2");
        String result;
        try {
            a.crumfurs(h);
            CrumfursChannel crfB = b.crumfurs(h);
            InetAddress ip1 = distinctPeers(h).get(0);
            UdpPeer ra = h.udpPeer(new InetSocketAddress(ip1, 0));
            UdpPeer rb = h.udpPeer(new InetSocketAddress(ip1, 0));
            byte[] helloA = bytes("hairpin: A to its reflector");
            byte[] helloB = bytes("hairpin: B to its reflector");
            UdpConnection ca = a.udp(h, ra.address(), helloA);
            UdpConnection cb = b.udp(h, rb.address(), helloB);
            InetSocketAddress ma = observed(h, ra, helloA);
            InetSocketAddress mb = observed(h, rb, helloB);
            if (ma == null || mb == null) {
                h.fact("nat.hairpinning", "undetermined (a reflector received nothing, so M_A or M_B is unknown)");
                return;
            }
            byte[] hairpin = bytes("hairpin: A to M_B");
            a.udp(h, mb, hairpin);
            // A datagram A sends afterwards through its first connection, once seen, shows the hairpin one was sent.
            byte[] sync = bytes("hairpin: A sync");
            ca.send(sync);
            observed(h, ra, sync);
            result = hairpinResult(h, crfB, cb, rb, mb, ma, hairpin);
        } catch (IOException | AssertionError e) {
            rethrowIfUnreachable(e);
            result = "undetermined (" + e.getMessage() + ")";
        }
        h.fact("nat.hairpinning", result);
    }

    private static String hairpinResult(Harness h, CrumfursChannel crfB, UdpConnection cb, UdpPeer rb,
            InetSocketAddress mb, InetSocketAddress ma, byte[] hairpin) throws IOException, InterruptedException {
        Duration settle = settle(h);
        if (crfB != null) {
            CrumfursChannel.Umfurs u = nextUmfurs(crfB, hairpin, settle.multipliedBy(3));
            if (u != null) {
                // With endpoint-dependent mapping A reaches M_B through another mapping of its own: still a hairpin.
                return u.source().equals(ma) ? "yes (B received it as a UMFURS from M_A " + addr(ma) + ")"
                        : "yes, from another mapping of A (B received it from " + addr(u.source())
                                + ", while A's reflector saw M_A " + addr(ma) + ")";
            }
        }
        // B's only connection is to its reflector: the hairpin datagram must not show up there, labelled as rb.
        byte[] marker = bytes("hairpin: B's reflector marker");
        rb.send(mb, marker);
        List<String> frames = new ArrayList<>();
        readUntil(cb, marker, h.target().ioTimeout(), frames);
        drain(cb, settle, frames);
        if (frames.contains(text(hairpin))) {
            return "no (B received it on its connection to " + addr(rb.address()) + ", without its source)";
        }
        return h.target().profile() == Profile.V0 ? "no (a v0 connection receives only from its target)"
                : "no (not delivered to B)";
    }

    // ---- probes, shared with FullConeCases ----

    /**
     * A NAT context as the harness reaches it: a user as seen from a client IP ({@code null}: the harness's default
     * address). Two client IPs of one user are two contexts (NAT-1).
     */
    record Context(UUID user, InetAddress clientIp, String name) {

        /** The main user from the default address. */
        static Context main(Harness h) {
            return new Context(h.target().user(), null, "user 1");
        }

        /** A command-2 connection of this context to {@code remote}, with {@code payload} as its first frame. */
        UdpConnection udp(Harness h, InetSocketAddress remote, byte[] payload) throws IOException {
            return h.udpFrom(clientIp, user, remote, UdpConnection.frame(payload));
        }

        /** The context's CRUMFURS, opened first as a v1 client must (CRF-5); {@code null} for a v0 target. */
        CrumfursChannel crumfurs(Harness h) throws IOException {
            return h.target().profile() == Profile.V1 ? h.crumfursFrom(clientIp, user) : null;
        }
    }

    /**
     * What the mapping probe found.
     *
     * @param classes the classes the observations allow (several when one peer address cannot tell them apart)
     * @param mapped  M1, M2, M3 as the reflectors saw them
     * @param detail  what was observed, for the report
     */
    record MappingProbe(Set<MappingClass> classes, List<InetSocketAddress> mapped, String detail) {
        String describe() {
            return classes.isEmpty() ? "undetermined (" + detail + ")" : join(classes) + suffix(classes, detail);
        }
    }

    /**
     * What the filtering probe found.
     *
     * @param classes the classes the observations allow
     * @param detail  what was delivered where, for the report
     */
    record FilteringProbe(Set<FilteringClass> classes, String detail) {
        String describe() {
            return classes.isEmpty() ? "undetermined (" + detail + ")" : join(classes) + suffix(classes, detail);
        }
    }

    /**
     * RFC 5780 §4.3: one context sends to R(ip1,p1), R(ip2,p1) and R(ip2,p2), one connection each, and the mapped
     * addresses they observe are compared. With a single peer address only R(ip1,p1) and R(ip1,p2) can be compared.
     */
    static MappingProbe probeMapping(Harness h, Context ctx, String round) throws IOException, InterruptedException {
        List<InetAddress> hosts = distinctPeers(h);
        InetAddress ip1 = hosts.get(0);
        UdpPeer r1 = h.udpPeer(new InetSocketAddress(ip1, 0));
        InetSocketAddress m1 = sendAndObserve(h, ctx, r1, round + ": to R(ip1,p1)");
        if (hosts.size() < 2) {
            UdpPeer r3 = h.udpPeer(new InetSocketAddress(ip1, 0));
            InetSocketAddress m3 = sendAndObserve(h, ctx, r3, round + ": to R(ip1,p2)");
            List<InetSocketAddress> mapped = Arrays.asList(m1, m3);
            String seen = "M(ip1,p1) = " + addr(m1) + ", M(ip1,p2) = " + addr(m3);
            h.log().note("mapping probe (" + round + ", " + ctx.name() + "): " + seen);
            if (m1 == null || m3 == null) {
                return new MappingProbe(EnumSet.noneOf(MappingClass.class), mapped, "a reflector received nothing");
            }
            return new MappingProbe(m1.equals(m3) ? EnumSet.of(MappingClass.EIM, MappingClass.ADM)
                    : EnumSet.of(MappingClass.APDM), mapped, "one peer address");
        }
        InetAddress ip2 = hosts.get(1);
        UdpPeer r2;
        String portNote = "";
        try {
            r2 = h.udpPeer(new InetSocketAddress(ip2, r1.address().getPort()));
        } catch (BindException e) {
            // The same port on the second address is taken: another port still separates address from port.
            r2 = h.udpPeer(new InetSocketAddress(ip2, 0));
            portNote = " (port " + r1.address().getPort() + " was taken on " + ip2.getHostAddress() + ")";
        }
        InetSocketAddress m2 = sendAndObserve(h, ctx, r2, round + ": to R(ip2,p1)");
        UdpPeer r3 = h.udpPeer(new InetSocketAddress(ip2, 0));
        InetSocketAddress m3 = sendAndObserve(h, ctx, r3, round + ": to R(ip2,p2)");
        List<InetSocketAddress> mapped = Arrays.asList(m1, m2, m3);
        h.log().note("mapping probe (" + round + ", " + ctx.name() + "): M1 = " + addr(m1) + ", M2 = " + addr(m2)
                + ", M3 = " + addr(m3) + portNote);
        if (m1 == null || m2 == null || m3 == null) {
            return new MappingProbe(EnumSet.noneOf(MappingClass.class), mapped, "a reflector received nothing");
        }
        MappingClass c;
        if (m1.equals(m2) && m2.equals(m3)) {
            c = MappingClass.EIM;
        } else if (!m1.equals(m2) && m2.equals(m3)) {
            c = MappingClass.ADM;
        } else {
            c = MappingClass.APDM; // M2 ≠ M3, or M1 = M2 ≠ M3: the port of the destination matters
        }
        return new MappingProbe(EnumSet.of(c), mapped, "");
    }

    /**
     * RFC 5780 §4.4: a fresh flow sends only to R(ip1,p1); then R(ip2,p2) and R(ip1,p2) send to its mapped address
     * M1, and whatever reaches the client (on any connection or as a UMFURS) counts as delivered. R(ip1,p1) sends a
     * marker last through the same server socket: once the marker is back, the others have been handled, and a short
     * wait covers the other channels. {@code ip2} is the last peer address given, the one other probes send to least.
     */
    static FilteringProbe probeFiltering(Harness h, Context ctx, String round)
            throws IOException, InterruptedException {
        List<InetAddress> hosts = distinctPeers(h);
        InetAddress ip1 = hosts.get(0);
        InetAddress ip2 = hosts.size() > 1 ? hosts.get(hosts.size() - 1) : null;
        CrumfursChannel crf = ctx.crumfurs(h);
        UdpPeer r1 = h.udpPeer(new InetSocketAddress(ip1, 0));
        byte[] hello = bytes(round + ": only to R(ip1,p1)");
        UdpConnection c = ctx.udp(h, r1.address(), hello);
        InetSocketAddress m1 = observed(h, r1, hello);
        if (m1 == null) {
            return new FilteringProbe(EnumSet.noneOf(FilteringClass.class),
                    "R(ip1,p1) received nothing, so M1 is unknown");
        }
        UdpPeer other = ip2 == null ? null : h.udpPeer(new InetSocketAddress(ip2, 0));
        UdpPeer samePort = h.udpPeer(new InetSocketAddress(ip1, 0));
        byte[] fromOther = bytes(round + ": unsolicited from R(ip2,p2)");
        byte[] fromPort = bytes(round + ": unsolicited from R(ip1,p2)");
        byte[] marker = bytes(round + ": marker from R(ip1,p1)");
        if (other != null) {
            other.send(m1, fromOther);
        }
        samePort.send(m1, fromPort);
        r1.send(m1, marker);

        List<String> onConnection = new ArrayList<>();
        List<CrumfursChannel.Umfurs> asUmfurs = new ArrayList<>();
        boolean markerBack = readUntil(c, marker, h.target().ioTimeout(), onConnection);
        if (crf != null) {
            drainUmfurs(crf, settle(h), asUmfurs);
            drain(c, BUFFERED, onConnection);
        } else {
            drain(c, settle(h), onConnection);
        }

        String otherWhere = other == null ? null : where(fromOther, onConnection, asUmfurs);
        String portWhere = where(fromPort, onConnection, asUmfurs);
        StringBuilder detail = new StringBuilder();
        if (other != null) {
            detail.append("R(ip2,p2) ").append(addr(other.address())).append(" → M1: ").append(otherWhere)
                    .append("; ");
        }
        detail.append("R(ip1,p2) ").append(addr(samePort.address())).append(" → M1: ").append(portWhere);
        if (!markerBack) {
            detail.append("; R(ip1,p1)'s own marker did not come back on its connection");
        }
        detail.append("; context: ").append(ctx.name());
        h.log().note("filtering probe (" + round + "): M1 = " + addr(m1) + "; " + detail);

        Set<FilteringClass> classes;
        boolean portIn = !portWhere.equals("not delivered");
        if (other != null) {
            boolean otherIn = !otherWhere.equals("not delivered");
            classes = EnumSet.of(otherIn ? FilteringClass.EIF : portIn ? FilteringClass.ADF : FilteringClass.APDF);
            return new FilteringProbe(classes, detail.toString());
        }
        classes = portIn ? EnumSet.of(FilteringClass.EIF, FilteringClass.ADF) : EnumSet.of(FilteringClass.APDF);
        return new FilteringProbe(classes, "one peer address; " + detail);
    }

    /**
     * A context for the filtering probe that has not sent to the probe's reflectors: the same user (the second, if
     * given) from a fresh loopback client IP when the target is on loopback; else the second user; else the main
     * context, which then has sent to other peers (noted in the report).
     */
    static Context filteringContext(Harness h) throws UnknownHostException {
        boolean second = h.target().has(Capability.SECOND_USER);
        UUID user = second ? h.target().user2() : h.target().user();
        String who = second ? "user 2" : "user 1";
        if (h.target().has(Capability.LOOPBACK_TARGET)) {
            InetAddress ip = freshClientIp();
            return new Context(user, ip, who + " from " + ip.getHostAddress() + ", a fresh context");
        }
        if (second) {
            return new Context(user, null, "user 2, fresh unless an earlier case used it");
        }
        return new Context(user, null, "user 1, which had sent to other peers: address-dependent filtering may show"
                + " as EIF");
    }

    /** A random loopback address outside 127.0.0.0/24 (where peers usually are), for a context nobody used. */
    static InetAddress freshClientIp() throws UnknownHostException {
        return Harness.freshLoopbackClient();
    }

    /** The RFC 4787 pair, as "EIM + EIF". */
    static String rfc4787(Set<MappingClass> m, Set<FilteringClass> f) {
        if (m.isEmpty() || f.isEmpty()) {
            return "undetermined (" + (m.isEmpty() ? "mapping" : "filtering") + " could not be measured)";
        }
        return group(m) + " + " + group(f);
    }

    private static String group(Set<? extends Enum<?>> classes) {
        return classes.size() > 1 ? "(" + join(classes) + ")" : join(classes);
    }

    /** The classic name (Full Cone, Restricted Cone, Port-Restricted Cone, Symmetric) of every pair allowed. */
    static String classic(Set<MappingClass> m, Set<FilteringClass> f) {
        if (m.isEmpty() || f.isEmpty()) {
            return "undetermined";
        }
        Set<String> names = new LinkedHashSet<>();
        for (MappingClass mc : m) {
            for (FilteringClass fc : f) {
                if (mc != MappingClass.EIM) {
                    names.add("Symmetric");
                } else {
                    names.add(switch (fc) {
                        case EIF -> "Full Cone";
                        case ADF -> "Restricted Cone";
                        case APDF -> "Port-Restricted Cone";
                    });
                }
            }
        }
        return String.join(" or ", names);
    }

    private static String join(Set<? extends Enum<?>> classes) {
        return classes.stream().map(Enum::name).collect(Collectors.joining(" or "));
    }

    /** Why several classes remain: the first clause of the detail ("one peer address"). */
    private static String suffix(Set<? extends Enum<?>> classes, String detail) {
        return classes.size() > 1 ? " (" + detail.split(";", 2)[0] + ")" : "";
    }

    private static String where(byte[] payload, List<String> onConnection, List<CrumfursChannel.Umfurs> umfurs) {
        String text = text(payload);
        for (CrumfursChannel.Umfurs u : umfurs) {
            if (text(u.payload()).equals(text)) {
                return "delivered as a UMFURS from " + addr(u.source());
            }
        }
        return onConnection.contains(text) ? "delivered on the connection for R(ip1,p1)" : "not delivered";
    }

    // ---- small helpers, shared with FullConeCases ----

    /** The distinct peer addresses, in the order given. */
    static List<InetAddress> distinctPeers(Harness h) {
        return h.target().peers().stream().distinct().toList();
    }

    /** How long to read out a channel once {@link #settle} has passed: what arrived is already buffered. */
    static final Duration BUFFERED = Duration.ofMillis(50);

    /** How long to wait for what should not arrive once a datagram sent after it has arrived. */
    static Duration settle(Harness h) {
        return Duration.ofMillis(Math.max(200, Math.min(1000, h.target().ioTimeout().toMillis() / 10)));
    }

    /** An address as ip:port, without the slash {@link InetSocketAddress#toString()} puts in front; "none" for null. */
    static String addr(InetSocketAddress a) {
        if (a == null) {
            return "none";
        }
        String ip = a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + a.getPort();
    }

    static byte[] bytes(String s) {
        return s.getBytes(US_ASCII);
    }

    static String text(byte[] b) {
        return new String(b, US_ASCII);
    }

    /** Opens a connection of {@code ctx} to {@code peer} carrying {@code label}, and returns what the peer saw. */
    private static InetSocketAddress sendAndObserve(Harness h, Context ctx, UdpPeer peer, String label)
            throws IOException, InterruptedException {
        byte[] payload = bytes(label);
        ctx.udp(h, peer.address(), payload);
        return observed(h, peer, payload);
    }

    /**
     * The source {@code peer} saw {@code payload} come from (the server's mapped address), or {@code null} when it
     * does not arrive within the I/O timeout. Other datagrams the peer received meanwhile are skipped.
     */
    static InetSocketAddress observed(Harness h, UdpPeer peer, byte[] payload) throws InterruptedException {
        long deadline = System.nanoTime() + h.target().ioTimeout().toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            UdpPeer.Datagram d = peer.receive(Duration.ofNanos(left));
            if (d == null) {
                return null;
            }
            if (Arrays.equals(d.payload(), payload)) {
                return d.source();
            }
        }
    }

    /** Reads frames into {@code into} until one equals {@code payload}; whether it came within {@code timeout}. */
    static boolean readUntil(UdpConnection c, byte[] payload, Duration timeout, List<String> into)
            throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String wanted = text(payload);
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            byte[] got;
            try {
                got = c.receive(Duration.ofNanos(left));
            } catch (EOFException e) {
                return false;
            }
            if (got == null) {
                return false;
            }
            into.add(text(got));
            if (text(got).equals(wanted)) {
                return true;
            }
        }
    }

    /** Reads frames into {@code into} until none comes for {@code quiet}. */
    static void drain(UdpConnection c, Duration quiet, List<String> into) throws IOException {
        while (true) {
            byte[] got;
            try {
                got = c.receive(quiet);
            } catch (EOFException e) {
                return;
            }
            if (got == null) {
                return;
            }
            into.add(text(got));
        }
    }

    /** Reads UMFURS into {@code into} until none begins for {@code quiet}. */
    static void drainUmfurs(CrumfursChannel crf, Duration quiet, List<CrumfursChannel.Umfurs> into)
            throws IOException {
        while (true) {
            CrumfursChannel.Umfurs u;
            try {
                u = crf.receive(quiet);
            } catch (EOFException e) {
                return;
            }
            if (u == null) {
                return;
            }
            into.add(u);
        }
    }

    /** The next UMFURS carrying {@code payload} within {@code timeout}, skipping others; {@code null} if none. */
    static CrumfursChannel.Umfurs nextUmfurs(CrumfursChannel crf, byte[] payload, Duration timeout)
            throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            CrumfursChannel.Umfurs u;
            try {
                u = crf.receive(Duration.ofNanos(left));
            } catch (EOFException e) {
                return null;
            }
            if (u == null) {
                return null;
            }
            if (Arrays.equals(u.payload(), payload)) {
                return u;
            }
        }
    }

    private static void checkEcho(UdpConnection c, byte[] sent, String peer, List<String> faults) throws IOException {
        byte[] got = c.receive();
        if (got == null) {
            faults.add("the reply of " + peer + " did not come back on its connection");
        } else if (!Arrays.equals(got, sent)) {
            faults.add("the connection for " + peer + " received " + text(got) + " instead of its reply");
        }
    }

    /** Records {@code keys} as undetermined after an exchange failed; an unreachable target stays an ERROR. */
    private static void undetermined(Harness h, Throwable e, String... keys) throws TargetUnreachableException {
        if (e instanceof TargetUnreachableException t) {
            throw t;
        }
        String why = String.valueOf(e.getMessage()).lines().findFirst().orElse(e.toString());
        for (String key : keys) {
            h.fact(key, "undetermined (" + why + ")");
        }
    }

    private static void rethrowIfUnreachable(Throwable e) throws TargetUnreachableException {
        if (e instanceof TargetUnreachableException t) {
            throw t;
        }
    }
}
