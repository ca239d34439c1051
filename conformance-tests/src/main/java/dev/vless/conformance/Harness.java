// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.spec.Profile;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * What a case works with: the target, the wire log, and factories for connections and peers, all closed when the case
 * ends. Cases get one as a parameter.
 */
public final class Harness implements AutoCloseable {

    private final VlessTarget target;
    private final WireLog log = new WireLog();
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<CrumfursChannel> crumfursChannels = new ArrayList<>();
    private final java.util.Map<String, String> facts = new java.util.LinkedHashMap<>();
    private boolean informational;
    private int connections;
    /** The run this case belongs to, for per-run findings; {@code null} for harnesses of the runner's own probes. */
    private final ConformanceRun run;
    private DeadlineCalibration calibration;

    Harness(VlessTarget target) {
        this(target, null);
    }

    Harness(VlessTarget target, ConformanceRun run) {
        this.target = target;
        this.run = run;
    }

    /**
     * The run's calibrated handshake deadline (measured once per run, see {@link DeadlineCalibration}); the first call
     * in a case writes what was measured into its wire log.
     */
    public synchronized DeadlineCalibration deadlineCalibration() {
        if (calibration == null) {
            calibration = run == null ? DeadlineCalibration.declaredOnly(target) : run.deadlineCalibration();
            for (String line : calibration.evidence()) {
                log.note(line);
            }
            fact("handshake.deadline", calibration.finding());
        }
        return calibration;
    }

    /** The reference for "held until the handshake deadline": measured when the run could, else declared. */
    public Duration handshakeDeadline() {
        return deadlineCalibration().reference();
    }

    /** The server under test. */
    public VlessTarget target() {
        return target;
    }

    /** The evidence of this case. */
    public WireLog log() {
        return log;
    }

    /**
     * Records a finding for the report, such as {@code nat.mapping = EIM}. Cases that only measure call
     * {@link #informational()} too.
     */
    public synchronized void fact(String key, String value) {
        facts.put(key, value);
        log.note("fact " + key + " = " + value);
    }

    /** The fact that lists the rules whose checks passed in a case that went on to fail another. */
    static final String PASSED_FACT = "checks.passed";

    /**
     * Records that the check of the rule {@code requirement} starts with (such as {@code "ADR-3: ..."}) passed, so
     * that a later failure of another of the case's rules (ERR-2's timing, say) leaves this one PASS, not unjudged.
     */
    public synchronized void passed(String requirement) {
        dev.vless.spec.SpecRule r = ConformanceExtension.leadingRule(requirement);
        if (r == null) {
            return;
        }
        String before = facts.get(PASSED_FACT);
        java.util.Set<String> ids = new java.util.LinkedHashSet<>(before == null ? java.util.List.of()
                : java.util.List.of(before.split(",")));
        if (ids.add(r.id())) {
            facts.put(PASSED_FACT, String.join(",", ids));
        }
    }

    /** Marks the case as a classification or measurement: its verdict is INFORMATIONAL, not PASS. */
    public void informational() {
        this.informational = true;
    }

    synchronized java.util.Map<String, String> facts() {
        return new java.util.LinkedHashMap<>(facts);
    }

    boolean isInformational() {
        return informational;
    }

    /** A plain connection to the target: nothing sent yet. */
    public VlessConnection connect() throws IOException {
        return track(new VlessConnection(target, log, label("conn")));
    }

    /** A command-1 connection to {@code destination} with {@code payload} in the header's write. */
    public VlessConnection tcp(InetSocketAddress destination, byte[] payload) throws IOException {
        VlessConnection c = connect();
        c.writeRequest(request(target.user(), VlessCommand.TCP, destination), payload);
        return c;
    }

    /** A command-2 connection of the main user to {@code remote}, header sent. */
    public UdpConnection udp(InetSocketAddress remote) throws IOException {
        return udp(target.user(), remote, new byte[0]);
    }

    /** A command-2 connection of {@code user} to {@code remote}, header sent together with {@code firstBytes}. */
    public UdpConnection udp(UUID user, InetSocketAddress remote, byte[] firstBytes) throws IOException {
        UdpConnection c = track(new UdpConnection(target, log, label("udp"), remote));
        c.writeRequest(UdpConnection.request(target, user, remote), firstBytes);
        return c;
    }

    /**
     * A command-2 connection of the main user whose request names {@code address} exactly as given — for example an
     * IPv4-mapped IPv6 address, which {@link #udp(InetSocketAddress)} would canonicalise first.
     */
    public UdpConnection udpTo(dev.vless.codec.VlessAddress address) throws IOException {
        InetSocketAddress remote = address.toInetSocketAddress();
        UdpConnection c = track(new UdpConnection(target, log, label("udp"), remote));
        VlessRequest request = target.profile() == Profile.V0
                ? VlessRequest.v0(target.user(), VlessCommand.UDP, address)
                : VlessRequest.v1(target.user(), VlessCommand.UDP, address);
        c.writeRequest(request, new byte[0]);
        return c;
    }

    /**
     * A CRUMFURS channel of the main user whose acknowledgement has arrived.
     *
     * @throws AssertionError naming CRF-1 when the first byte is not 0x14 or does not come
     */
    public CrumfursChannel crumfurs() throws IOException {
        return crumfurs(target.user());
    }

    /** A CRUMFURS channel of {@code user} whose acknowledgement has arrived. */
    public CrumfursChannel crumfurs(UUID user) throws IOException {
        return crumfursFrom(null, user);
    }

    /** Whether the target offers UDP-MUX (command 5), asked once per run. */
    public MuxSupport muxSupport() {
        return run == null ? MuxSupport.probe(target, null, null) : run.muxSupport();
    }

    /**
     * The client IP of the run's MUX context (see {@code MuxCases}): one fresh loopback address per run on a loopback
     * target, else {@code null} (the default address, the main context).
     */
    public java.net.InetAddress muxClientAddress() throws java.net.UnknownHostException {
        if (run != null) {
            return run.muxClient();
        }
        return target.has(Capability.LOOPBACK_TARGET) ? freshLoopbackClient() : null;
    }

    /**
     * For a case about UDP-MUX: returns when the target offers it; else NOT_APPLICABLE with the reason (no 0x15
     * within the deadline), or, when the run was told the mode is required ({@code --mux required}), a failure of
     * MUX-3 with what the target sent — which blocks every other MUX case.
     */
    public void requireMux() throws TargetUnreachableException {
        MuxSupport m = muxSupport();
        log.note(m.description());
        if (m.supported()) {
            return;
        }
        if (m.failure() != null) {
            // Not reached is no finding about the mode: an ERROR, never NOT_APPLICABLE.
            throw new TargetUnreachableException(m.description(), m.failure());
        }
        if (target.muxRequired() && target.profile() == Profile.V1) {
            throw Expect.violation("MUX-3: a server that supports command 5 answers a valid request with exactly one"
                    + " byte, 0x15 (the run was told the mode is required: --mux required)", "0x15 within "
                    + m.waitedMs() + " ms", m.seen());
        }
        throw Expect.notRun(m.description().startsWith("UDP-MUX: ") ? m.notOffered() : m.description());
    }

    /** A UDP-MUX connection of the main user whose 0x15 has arrived (see {@link #muxFrom}). */
    public MuxConnection mux() throws IOException {
        return muxFrom(null, target.user());
    }

    /**
     * A UDP-MUX connection of {@code user} from {@code clientAddress} ({@code null}: the default address) whose answer
     * 0x15 has arrived, and nothing with it.
     *
     * @throws AssertionError naming MUX-3 when the first byte is not 0x15, does not come, or comes with more bytes
     */
    public MuxConnection muxFrom(java.net.InetAddress clientAddress, UUID user) throws IOException {
        MuxConnection c = track(new MuxConnection(target, log, label("mux"), clientAddress));
        c.write(VlessConnection.encode(VlessRequest.mux(user)));
        Outcome first = c.await(target.ioTimeout());
        if (first.kind() != Outcome.Kind.DATA || first.bytes()[0] != 0x15) {
            boolean closed = first.kind() == Outcome.Kind.CLOSED || first.kind() == Outcome.Kind.RESET;
            throw Expect.violation("MUX-3: a valid UDP-MUX request is answered with exactly one byte, 0x15",
                    "0x15 within " + target.ioTimeout().toMillis() + " ms", first + (closed && clientAddress != null
                    ? " (from client IP " + clientAddress.getHostAddress() + ": a connection from a new client IP"
                    + " closed at once may be the target's limit of NAT contexts per user, LIM-1)" : ""));
        }
        if (first.bytes().length > 1) {
            throw Expect.violation("MUX-3: after 0x15 the server sends nothing but frames, and nothing at all before"
                    + " a datagram arrives for the context", "0x15 alone", first.toString());
        }
        return c;
    }

    /** A UDP peer on the target's {@code host}-th peer address. */
    public UdpPeer udpPeer(int host) throws IOException {
        return track(new UdpPeer(target.peer(host), log, "peer" + (resources.size() + 1)));
    }

    /**
     * A UDP peer bound to {@code bind}: a given address, and a given port when not 0 (RFC 5780 probes the same port
     * on a second address).
     */
    public UdpPeer udpPeer(InetSocketAddress bind) throws IOException {
        return track(new UdpPeer(bind, log, "peer" + (resources.size() + 1)));
    }

    /**
     * A plain connection from {@code clientAddress} (for example 127.0.0.2), so that the target sees another client
     * IP: the same user then has another NAT context (NAT-1). Only a target on loopback can be reached that way.
     */
    public VlessConnection connectFrom(java.net.InetAddress clientAddress) throws IOException {
        return track(new VlessConnection(target, log, label("conn"), clientAddress));
    }

    /** A command-2 connection of {@code user} from {@code clientAddress} to {@code remote}, header and bytes sent. */
    public UdpConnection udpFrom(java.net.InetAddress clientAddress, UUID user, InetSocketAddress remote,
            byte[] firstBytes) throws IOException {
        UdpConnection c = track(new UdpConnection(target, log, label("udp"), remote, clientAddress));
        c.writeRequest(UdpConnection.request(target, user, remote), firstBytes);
        return c;
    }

    /** A CRUMFURS channel of {@code user} from {@code clientAddress} whose acknowledgement has arrived. */
    public CrumfursChannel crumfursFrom(java.net.InetAddress clientAddress, UUID user) throws IOException {
        CrumfursChannel c = track(new CrumfursChannel(target, log, label("crumfurs"), clientAddress));
        c.user = user;
        crumfursChannels.add(c);
        c.write(VlessConnection.encode(VlessRequest.crumfurs(user)));
        Outcome first = c.await(target.ioTimeout());
        if (first.kind() != Outcome.Kind.DATA || first.bytes()[0] != 0x14) {
            throw new AssertionError("CRF-1: expected the acknowledgement 0x14 as the only first byte; " + first);
        }
        if (first.bytes().length > 1) {
            throw new AssertionError("CRF-1: bytes after the acknowledgement before any datagram was sent: " + first);
        }
        return c;
    }

    /** A TCP echo peer on the first peer address. */
    public TcpPeer tcpEcho() throws IOException {
        return track(new TcpPeer(target.peer(0), log, true));
    }

    /** A TCP echo peer on {@code address} (such as {@code ::1} for an IPv6 target). */
    public TcpPeer tcpEcho(java.net.InetAddress address) throws IOException {
        return track(new TcpPeer(address, log, true));
    }

    /**
     * A scripted TCP peer on the first peer address: it records what arrives and sends only what the case tells it
     * to ({@link TcpPeer.Accepted#send}), and keeps its side open after the relay ends its direction, so that
     * half-close and several response writes can be driven step by step.
     */
    public TcpPeer tcpScripted() throws IOException {
        return track(new TcpPeer(target.peer(0), log, false));
    }

    /** A request of the target's profile for {@code command} to {@code destination}. */
    public VlessRequest request(UUID user, VlessCommand command, InetSocketAddress destination) {
        VlessAddress address = VlessAddress.of(destination);
        return target.profile() == Profile.V0 ? VlessRequest.v0(user, command, address)
                : VlessRequest.v1(user, command, address);
    }

    /**
     * Waits up to {@code timeout} for the next datagram at {@code peer}, watching this case's connections meanwhile:
     * when one is closed or reset by the target, the wait ends at once and {@link #endedConnections()} says which.
     */
    public UdpPeer.Datagram awaitDatagram(UdpPeer peer, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            UdpPeer.Datagram d = peer.receive(Duration.ofNanos(Math.max(0, Math.min(left, 50_000_000L))));
            if (d != null || left <= 0 || endedConnections() != null) {
                return d;
            }
        }
    }

    /** The connections of this case (not CRUMFURS) the target has closed or reset, or {@code null} when none. */
    public String endedConnections() {
        List<String> ended = new ArrayList<>();
        for (AutoCloseable r : resources) {
            if (r instanceof VlessConnection c && !(r instanceof CrumfursChannel)) {
                String e = c.ended();
                if (e != null) {
                    ended.add(e);
                }
            }
        }
        return ended.isEmpty() ? null : String.join("; ", ended);
    }

    /** The CRUMFURS channels this case opened, oldest first. */
    List<CrumfursChannel> crumfursChannels() {
        return crumfursChannels;
    }

    private synchronized String label(String kind) {
        return kind + "#" + (++connections);
    }

    private synchronized <T extends AutoCloseable> T track(T resource) {
        resources.add(resource);
        return resource;
    }

    @Override
    public void close() {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                // closing is best effort
            }
        }
        resources.clear();
    }

    /**
     * A random loopback address outside 127.0.0.0/24 (where peers usually are): a client IP no other client uses, so a
     * connection from it starts a NAT context of its own (NAT-1).
     */
    public static java.net.InetAddress freshLoopbackClient() throws java.net.UnknownHostException {
        java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
        return java.net.InetAddress.getByAddress(new byte[] {127, (byte) r.nextInt(1, 255), (byte) r.nextInt(0, 256),
                (byte) r.nextInt(1, 255)});
    }
}
