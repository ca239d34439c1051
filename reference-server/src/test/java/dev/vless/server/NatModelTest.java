// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.frame;
import static dev.vless.server.testing.VlessServerExtension.OTHER_USER;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A model-based test of the NAT contexts of two users over real loopback sockets. QuickTheories generates sequences of
 * operations (open or close a v1 command-2 connection or a CRUMFURS, a client frame to a peer, a peer datagram to a
 * context's external address); each runs against a fresh server while a small model of §11-§12 predicts where every
 * peer datagram must go: the newest open connection of that context to the source (DLV-1), else the context's CRUMFURS
 * labelled with the source (DLV-2), else nowhere but the drop counter (DLV-3), never to the other user (NAT-9). Every
 * prediction is confirmed by an arrival or a counter, never by a long silence.
 *
 * <p>A failure names the run, the step, the rule and the whole sequence; QuickTheories adds its seed, and
 * {@code -DQT_SEED=...} on the Maven command line generates the same sequences again.
 */
class NatModelTest {

    private static final UUID[] USERS = {USER, OTHER_USER};
    private static final String[] USER_NAMES = {"A", "B"};
    /** Peers on three loopback addresses, so that sources differ in address as well as port. */
    private static final String[] PEER_IPS = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};

    /** How long an expected frame, UMFURS, datagram or counter change may take on a slow, shared machine. */
    private static final Duration ARRIVAL = Duration.ofSeconds(3);
    /** The one negative wait per sequence: anything still in flight at the end shows up within it. */
    private static final Duration QUIET = Duration.ofMillis(150);

    @Test
    @DisplayName("DLV-1, DLV-2, DLV-3, NAT-9 · two users, random operations: each datagram reaches exactly the receiver "
            + "the NAT model names (also NAT-4, NAT-8, CRF-3, UDP-8)")
    void everyDatagramReachesTheReceiverTheModelNames() {
        // Connections to three peers; every kind of operation, peer datagrams the most (they are what is checked).
        check(16, 8, 14, "OORRXCSPPPPP", PEER_IPS.length, PEER_IPS.length);
    }

    @Test
    @DisplayName("DLV-1, DLV-2, DLV-4, NAT-9 · connections to one remote open and close at random: the newest open one "
            + "of the right user receives its datagrams, then an older one, then CRUMFURS")
    void newestOpenConnectionToTheSourceReceives() {
        // Every connection targets P0, so that several of one or both users are open to one source at once; P1 stays
        // a stranger whose datagrams only CRUMFURS may take.
        check(8, 10, 16, "OOOCRSPPPPP", 1, 2);
    }

    /**
     * Runs {@code examples} sequences of {@code minSteps..maxSteps} operations drawn from {@code alphabet} (see
     * {@link #plan}), each against a fresh server.
     */
    private static void check(int examples, int minSteps, int maxSteps, String alphabet, int targetPeers,
            int sendingPeers) {
        AtomicInteger runs = new AtomicInteger();
        // Operation codes rather than steps: QuickTheories shrinks the integers, and plan() turns any list of them
        // into a valid sequence, so every shrunk candidate is still meaningful. Few shrink cycles: each is a run.
        qt().withExamples(examples).withShrinkCycles(8)
                .forAll(lists().of(integers().between(0, alphabet.length() * CODES_PER_KIND - 1))
                        .ofSizeBetween(minSteps, maxSteps)
                        .map(codes -> plan(codes, alphabet, targetPeers, sendingPeers)))
                .describedAs(NatModelTest::describe)
                .checkAssert(steps -> new Run(runs.incrementAndGet(), steps).execute());
    }

    // ---- the operations ----------------------------------------------------------------------------------------

    /** One operation of a sequence. Connection numbers count opens in order, so a higher number is a newer header. */
    sealed interface Step permits OpenUdp, CloseUdp, OpenCrumfurs, CloseCrumfurs, ClientSend, PeerSend {
    }

    /** User {@code user} opens command-2 connection {@code conn} to peer {@code peer} and sends one frame on it. */
    record OpenUdp(int conn, int user, int peer, boolean frameWithHeader) implements Step {
        @Override
        public String toString() {
            return "open c" + conn + " " + USER_NAMES[user] + "->P" + peer
                    + (frameWithHeader ? " (frame in the header's write)" : "");
        }
    }

    /** The client closes connection {@code conn}, or only ends its stream and waits for the server to close. */
    record CloseUdp(int conn, boolean halfClose) implements Step {
        @Override
        public String toString() {
            return (halfClose ? "end stream of c" : "close c") + conn;
        }
    }

    /** User {@code user} opens a CRUMFURS, replacing the live one if there is one (CRF-3). */
    record OpenCrumfurs(int user) implements Step {
        @Override
        public String toString() {
            return "open CRUMFURS " + USER_NAMES[user];
        }
    }

    /** User {@code user} closes its CRUMFURS, or only ends its stream. */
    record CloseCrumfurs(int user, boolean halfClose) implements Step {
        @Override
        public String toString() {
            return (halfClose ? "end stream of CRUMFURS " : "close CRUMFURS ") + USER_NAMES[user];
        }
    }

    /** The client sends one frame on connection {@code conn}; its peer must receive it from the context's address. */
    record ClientSend(int conn) implements Step {
        @Override
        public String toString() {
            return "frame on c" + conn;
        }
    }

    /** Peer {@code peer} sends one datagram to the external address of user {@code user}'s context. */
    record PeerSend(int peer, int user) implements Step {
        @Override
        public String toString() {
            return "P" + peer + " sends to " + USER_NAMES[user];
        }
    }

    /** An operation code is a kind (a letter of the alphabet), then a user bit, a selector (0-63) and a flag bit. */
    private static final int CODES_PER_KIND = 2 * 64 * 2;

    /**
     * Turns codes into a valid sequence. Each code picks a letter of {@code alphabet}, whose repetitions weight the
     * kinds: O open a connection, C close one, R open a CRUMFURS, X close one, S client frame, P peer datagram. An
     * operation that needs what does not exist yet (a close with nothing open, a peer datagram before any external
     * address is known) becomes an open instead. Connections target peers {@code 0..targetPeers-1}; datagrams come
     * from peers {@code 0..sendingPeers-1}.
     */
    static List<Step> plan(List<Integer> codes, String alphabet, int targetPeers, int sendingPeers) {
        List<Step> steps = new ArrayList<>();
        List<Integer> open = new ArrayList<>();
        boolean[] crumfurs = new boolean[2];
        boolean[] mapped = new boolean[2]; // an open always sends a frame, so its user's address is known after it
        int nextConn = 0;
        int kinds = alphabet.length();
        for (int code : codes) {
            char kind = alphabet.charAt(code % kinds);
            int user = (code / kinds) % 2;
            int pick = (code / (kinds * 2)) % 64;
            boolean flag = (code / (kinds * 2 * 64)) % 2 == 1;
            Step s = switch (kind) {
                case 'C' -> open.isEmpty() ? null : new CloseUdp(open.get(pick % open.size()), flag);
                case 'R' -> new OpenCrumfurs(user);
                case 'X' -> crumfurs[user] ? new CloseCrumfurs(user, flag)
                        : crumfurs[1 - user] ? new CloseCrumfurs(1 - user, flag) : new OpenCrumfurs(user);
                case 'S' -> open.isEmpty() ? null : new ClientSend(open.get(pick % open.size()));
                case 'P' -> mapped[user] ? new PeerSend(pick % sendingPeers, user)
                        : mapped[1 - user] ? new PeerSend(pick % sendingPeers, 1 - user) : null;
                default -> null;
            };
            if (s == null) {
                s = new OpenUdp(nextConn, user, pick % targetPeers, flag);
            }
            if (s instanceof OpenUdp o) {
                open.add(o.conn());
                mapped[o.user()] = true;
                nextConn++;
            } else if (s instanceof CloseUdp c) {
                open.remove(Integer.valueOf(c.conn()));
            } else if (s instanceof OpenCrumfurs o) {
                crumfurs[o.user()] = true;
            } else if (s instanceof CloseCrumfurs c) {
                crumfurs[c.user()] = false;
            }
            steps.add(s);
        }
        return steps;
    }

    static String describe(List<Step> steps) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < steps.size(); i++) {
            b.append("\n    ").append(i + 1).append(". ").append(steps.get(i));
        }
        return b.toString();
    }

    // ---- one sequence against a fresh server -------------------------------------------------------------------

    /** Where the model sent a peer datagram (a receiver's name), by which rule, in which user's context. */
    private record Expectation(int step, String rule, int user, String receiver) {
    }

    /** An open command-2 connection as the model knows it. */
    private record Conn(int id, int user, int peer, TestClient client) {
        String name() {
            return "c" + id + " (" + USER_NAMES[user] + "->P" + peer + ")";
        }

        Receiver receiver() {
            return new Receiver(name(), user, false, client);
        }
    }

    /** A client socket that can receive peer datagrams: a command-2 connection (frames) or a CRUMFURS (UMFURS). */
    private record Receiver(String name, int user, boolean crumfurs, TestClient client) {
        /** The payload of the next frame or UMFURS. */
        String readOne() throws IOException {
            return crumfurs ? client.readUmfurs().text() : new String(client.readFrame(), StandardCharsets.US_ASCII);
        }
    }

    /** A step broke a rule: the message names it; {@link Run#execute} adds the run, step and sequence. */
    private static final class RuleViolation extends AssertionError {
        RuleViolation(String rule, String detail) {
            super(rule + " violated: " + detail);
        }
    }

    private static final class Run {
        private final int number;
        private final List<Step> steps;
        private final VlessServerExtension server = new VlessServerExtension().runForEachTest();
        private final UdpPeer[] peers = new UdpPeer[PEER_IPS.length];
        /** Open command-2 connections by number; the highest number to a peer is the newest header (DLV-1). */
        private final Map<Integer, Conn> conns = new LinkedHashMap<>();
        private final TestClient[] crumfurs = new TestClient[2];
        /** Each user's external IPv4 address, once a peer has seen it. */
        private final InetSocketAddress[] mapped = new InetSocketAddress[2];
        /** Every peer datagram sent, by payload, with where it had to go: to name the rule when one turns up astray. */
        private final Map<String, Expectation> sent = new HashMap<>();
        private final List<TestClient> everyClient = new ArrayList<>();
        private int step;
        private int frameCount;
        private long peerDatagrams;
        private long expectedUmfurs;
        private long expectedDrops;

        Run(int number, List<Step> steps) {
            this.number = number;
            this.steps = steps;
        }

        void execute() {
            Throwable failure = null;
            try {
                // The extension's per-test hooks start and stop a server; they do not use their context argument.
                server.beforeEach(null);
                for (int i = 0; i < PEER_IPS.length; i++) {
                    peers[i] = UdpPeer.bind(PEER_IPS[i]);
                }
                for (step = 0; step < steps.size(); step++) {
                    apply(steps.get(step));
                    noStrayData(Duration.ofMillis(1));
                }
                step = steps.size();
                finalChecks();
            } catch (Throwable t) {
                failure = t;
            }
            String stats = failure == null ? null : statsNow(); // before the clean-up stops the server
            failure = cleanUp(failure);
            if (failure != null) {
                throw report(failure, stats);
            }
        }

        private String statsNow() {
            try {
                return server.stats().format();
            } catch (RuntimeException e) {
                return "(no server: " + e.getMessage() + ")";
            }
        }

        private AssertionError report(Throwable failure, String stats) {
            String where = step < steps.size()
                    ? "step " + (step + 1) + " of " + steps.size() + " (" + steps.get(step) + ")"
                    : "after the last step";
            String what = failure instanceof RuleViolation ? failure.getMessage() : "unexpected failure: " + failure;
            return new AssertionError("sequence run " + number + ", " + where + ": " + what + "\n  sequence:"
                    + describe(steps) + "\n  server when it failed: " + (stats != null ? stats : statsNow()),
                    failure);
        }

        // ---- the operations --------------------------------------------------------------------------------------

        private void apply(Step s) throws Exception {
            if (s instanceof OpenUdp o) {
                openUdp(o);
            } else if (s instanceof CloseUdp c) {
                closeUdp(c);
            } else if (s instanceof OpenCrumfurs o) {
                openCrumfurs(o.user());
            } else if (s instanceof CloseCrumfurs c) {
                closeCrumfurs(c);
            } else if (s instanceof ClientSend c) {
                clientSend(conns.get(c.conn()));
            } else if (s instanceof PeerSend p) {
                peerSend(p.peer(), p.user());
            }
        }

        private void openUdp(OpenUdp o) throws Exception {
            TestClient c = connect();
            Conn conn = new Conn(o.conn(), o.user(), o.peer(), c);
            conns.put(o.conn(), conn);
            VlessRequest request = TestClient.v1(USERS[o.user()], VlessCommand.UDP, peers[o.peer()].address());
            byte[] hello = ascii(nextFrameText(conn));
            if (o.frameWithHeader()) {
                c.sendHeader(request, frame(hello));
            } else {
                c.sendHeader(request);
                c.send(frame(hello));
            }
            // Its arrival also proves that the server attached the connection to the context: frames wait until
            // then. Without that, the next step could race the attach.
            expectAtPeer(conn, new String(hello, StandardCharsets.US_ASCII));
        }

        private void clientSend(Conn conn) throws Exception {
            String text = nextFrameText(conn);
            conn.client().sendFrames(ascii(text));
            expectAtPeer(conn, text);
        }

        private String nextFrameText(Conn conn) {
            return "frame " + (frameCount++) + " on c" + conn.id();
        }

        /** The peer receives {@code text} from the user's one external address (UDP-3, NAT-4, NAT-8). */
        private void expectAtPeer(Conn conn, String text) throws Exception {
            UdpPeer.Datagram d = peers[conn.peer()].poll(ARRIVAL);
            if (d == null) {
                throw new RuleViolation("UDP-3", "P" + conn.peer() + " did not receive \"" + text + "\" sent on "
                        + conn.name() + " within " + ARRIVAL.toMillis() + " ms");
            }
            if (!d.text().equals(text)) {
                throw new RuleViolation("UDP-3", "P" + conn.peer() + " received " + d + " (expected: \"" + text
                        + "\" sent on " + conn.name() + ")");
            }
            int u = conn.user();
            InetSocketAddress known = mapped[u];
            if (known == null) {
                mapped[u] = d.source();
                InetSocketAddress other = mapped[1 - u];
                if (other != null && other.getPort() == d.source().getPort()) {
                    throw new RuleViolation("NAT-8", "users A and B share server port " + other.getPort());
                }
            } else if (!known.equals(d.source())) {
                throw new RuleViolation("NAT-4, LIF-1", "user " + USER_NAMES[u] + "'s datagrams came from " + known
                        + " before and from " + d.source() + " now, on " + conn.name()
                        + " (endpoint-independent mapping: one external address per family)");
            }
        }

        private void closeUdp(CloseUdp c) throws Exception {
            Conn conn = conns.remove(c.conn());
            if (c.halfClose()) {
                conn.client().shutdownOutput();
                endOfStream(conn.client(), "UDP-8", conn.name() + " still open after the client ended its stream");
            }
            conn.client().close();
            awaitServerClosed(conn.name());
        }

        private void openCrumfurs(int user) throws Exception {
            TestClient c = connect();
            c.sendHeader(VlessRequest.crumfurs(USERS[user])).expectCrumfursAck();
            TestClient old = crumfurs[user];
            crumfurs[user] = c; // once 0x14 has arrived the new one is the context's CRUMFURS
            if (old != null) {
                endOfStream(old, "CRF-3", "the replaced CRUMFURS of " + USER_NAMES[user] + " was not closed");
                old.close();
                awaitServerClosed("the replaced CRUMFURS of " + USER_NAMES[user]);
            }
        }

        private void closeCrumfurs(CloseCrumfurs c) throws Exception {
            TestClient crf = crumfurs[c.user()];
            crumfurs[c.user()] = null;
            if (c.halfClose()) {
                crf.shutdownOutput();
                endOfStream(crf, "CRF-4", "CRUMFURS of " + USER_NAMES[c.user()]
                        + " still open after the client ended its stream");
            }
            crf.close();
            awaitServerClosed("CRUMFURS of " + USER_NAMES[c.user()]);
        }

        /**
         * Waits until the server has closed its side: the context forgets a connection on its own event loop, and
         * the next step must not race that.
         */
        private void awaitServerClosed(String what) throws InterruptedException {
            long expected = conns.size() + (crumfurs[0] != null ? 1 : 0) + (crumfurs[1] != null ? 1 : 0);
            Loopback.await("the server to close " + what + " (" + expected + " connections left open)",
                    5000, () -> server.stats().connectionsOpen() == expected);
        }

        private void endOfStream(TestClient c, String rule, String otherwise) throws Exception {
            try {
                c.assertEndOfStream();
            } catch (AssertionError e) {
                throw new RuleViolation(rule, otherwise + ": " + e.getMessage());
            }
        }

        /** The model's delivery decision (§12), then the arrival or drop that confirms it. */
        private void peerSend(int p, int u) throws Exception {
            String text = "P" + p + " to " + USER_NAMES[u] + " at step " + (step + 1);
            Conn newest = null;
            for (Conn c : conns.values()) {
                if (c.user() == u && c.peer() == p && (newest == null || c.id() > newest.id())) {
                    newest = c;
                }
            }
            Receiver to = null;
            String rule;
            if (newest != null) {
                to = newest.receiver();
                rule = "DLV-1";
            } else if (crumfurs[u] != null) {
                to = crumfursReceiver(u);
                rule = "DLV-2";
            } else {
                rule = "DLV-3";
            }
            Expectation e = new Expectation(step, rule, u, to == null ? "nowhere (a drop)" : to.name());
            sent.put(text, e);
            peerDatagrams++;
            long dropsBefore = server.stats().drops(DropReason.NO_RECEIVER);
            peers[p].send(text, mapped[u]);

            if (to == null) {
                expectedDrops++;
                long deadline = System.nanoTime() + ARRIVAL.toNanos();
                while (server.stats().drops(DropReason.NO_RECEIVER) == dropsBefore) {
                    if (System.nanoTime() - deadline > 0) {
                        throw missing(text, e);
                    }
                    Thread.sleep(5);
                }
                return;
            }
            if (!to.client().hasDataWithin(ARRIVAL)) {
                throw missing(text, e);
            }
            if (to.crumfurs()) {
                expectedUmfurs++;
                TestClient.Umfurs m = to.client().readUmfurs();
                if (!m.text().equals(text)) {
                    throw astray(m.text(), to);
                }
                if (!m.source().equals(peers[p].address())) {
                    throw new RuleViolation("UMF-4", "UMFURS \"" + text + "\" labelled " + m.source()
                            + " (expected: its true source " + peers[p].address() + ")");
                }
            } else {
                String got = new String(to.client().readFrame(), StandardCharsets.US_ASCII);
                if (!got.equals(text)) {
                    throw astray(got, to);
                }
            }
        }

        /** The datagram did not reach where the model sent it: look at every receiver to say where it went. */
        private AssertionError missing(String text, Expectation e) {
            StringBuilder found = new StringBuilder();
            try {
                for (Receiver r : receivers()) {
                    if (r.client().hasDataWithin(Duration.ofMillis(200))) {
                        String got = r.readOne();
                        found.append("; ").append(r.name()).append(" received \"").append(got).append('"');
                        if (got.equals(text) && r.user() != e.user()) {
                            found.append(" (a receiver of the other user's context: NAT-9 violated too)");
                        }
                    }
                }
            } catch (Exception | AssertionError x) {
                found.append("; (looking further failed: ").append(x).append(')');
            }
            return new RuleViolation(e.rule(), "\"" + text + "\" did not reach " + e.receiver() + " within "
                    + ARRIVAL.toMillis() + " ms" + (found.length() == 0 ? "; no receiver got anything" : found)
                    + "; server: " + server.stats().format());
        }

        /** A datagram turned up at {@code where}: the rule it breaks depends on where the model had sent it. */
        private AssertionError astray(String text, Receiver where) {
            Expectation e = sent.get(text);
            if (e == null) {
                return new RuleViolation(where.crumfurs() ? "CRF-1" : "UDP-1", where.name() + " received \"" + text
                        + "\", which no peer sent");
            }
            boolean otherUser = e.user() != where.user();
            boolean again = where.name().equals(e.receiver());
            return new RuleViolation(otherUser ? "NAT-9" : e.rule(), "\"" + text + "\" (sent at step "
                    + (e.step() + 1) + ", for " + e.receiver() + " by " + e.rule() + ") arrived "
                    + (again ? "a second time " : "") + "on " + where.name()
                    + (otherUser ? ", a receiver of the other user's context" : ""));
        }

        private Receiver crumfursReceiver(int u) {
            return new Receiver("CRUMFURS of " + USER_NAMES[u], u, true, crumfurs[u]);
        }

        /** Every open client socket that can receive peer datagrams. */
        private List<Receiver> receivers() {
            List<Receiver> all = new ArrayList<>();
            for (Conn c : conns.values()) {
                all.add(c.receiver());
            }
            for (int u = 0; u < 2; u++) {
                if (crumfurs[u] != null) {
                    all.add(crumfursReceiver(u));
                }
            }
            return all;
        }

        /** No receiver holds bytes the model did not send it. */
        private void noStrayData(Duration wait) throws Exception {
            for (Receiver r : receivers()) {
                if (r.client().hasDataWithin(wait)) {
                    throw astray(r.readOne(), r);
                }
            }
        }

        /** Nothing left in flight, and the counters agree with the model: each datagram went one way, once. */
        private void finalChecks() throws Exception {
            Thread.sleep(QUIET.toMillis());
            noStrayData(Duration.ofMillis(1));
            for (int i = 0; i < peers.length; i++) {
                List<UdpPeer.Datagram> extra = peers[i].drain();
                if (!extra.isEmpty()) {
                    throw new RuleViolation("UDP-3", "P" + i + " received datagrams no client sent: " + extra);
                }
            }
            ServerStats s = server.stats();
            Map<DropReason, Long> otherDrops = s.drops().entrySet().stream()
                    .filter(e -> e.getKey() != DropReason.NO_RECEIVER && e.getValue() > 0)
                    .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
            check(otherDrops.isEmpty(), "DLV-1..DLV-3", "datagrams dropped for reasons the model has none for: "
                    + otherDrops);
            check(s.drops(DropReason.NO_RECEIVER) == expectedDrops, "DLV-3", s.drops(DropReason.NO_RECEIVER)
                    + " datagrams dropped for want of a receiver (expected: " + expectedDrops + ")");
            check(s.umfursSent() == expectedUmfurs, "DLV-2", s.umfursSent() + " UMFURS sent (expected: "
                    + expectedUmfurs + ")");
            check(s.datagramsIn() == peerDatagrams, "DLV-1..DLV-3", s.datagramsIn()
                    + " datagrams received from peers (expected: " + peerDatagrams + ")");
        }

        private static void check(boolean ok, String rule, String detail) {
            if (!ok) {
                throw new RuleViolation(rule, detail);
            }
        }

        private TestClient connect() throws Exception {
            TestClient c = server.connect();
            everyClient.add(c);
            return c;
        }

        /** Closes every socket and stops the server; a failure here is reported unless an earlier one is. */
        private Throwable cleanUp(Throwable failure) {
            List<AutoCloseable> all = new ArrayList<>(everyClient);
            for (UdpPeer p : peers) {
                if (p != null) {
                    all.add(p);
                }
            }
            all.add(() -> server.afterEach(null));
            for (AutoCloseable c : all) {
                try {
                    c.close();
                } catch (Exception e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            return failure;
        }
    }
}
