// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import io.netty.buffer.ByteBuf;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Checks, datagram by datagram, that NAT contexts stay apart while many flows run at once: every datagram of a load
 * test carries a {@link Tag} naming its user and the endpoint it was sent to (or, for an unsolicited datagram, sent
 * from), and the ledger is told where each one turned up. It finds
 *
 * <ul>
 *   <li>{@link Violation#SHARED_PORT}: one server port seen by the peers carrying two users' datagrams (NAT-8);</li>
 *   <li>{@link Violation#EXTRA_PORT}: one user seen from more than one port of an address family (NAT-4, the
 *       endpoint-independent mapping the server uses by default);</li>
 *   <li>{@link Violation#CROSSED}: a connection of one user receiving a datagram of another (NAT-9);</li>
 *   <li>{@link Violation#MISDELIVERED}: within one user, a datagram on the wrong connection or with the wrong source
 *       label (DLV-1, MUX-17, UMF-4, MUX-8);</li>
 *   <li>{@link Violation#MISDIRECTED}: a peer receiving a datagram meant for another peer (UDP-3, MUX-13);</li>
 *   <li>{@link Violation#UNTAGGED}: a payload that is not a tag, i.e. data corrupted or invented on the way.</li>
 * </ul>
 *
 * <p>Thread-safe and cheap per datagram: peers and client connections report from their own threads while the load
 * runs. Loss is not its business; only where datagrams arrive is.
 */
final class IsolationLedger {

    /** What the ledger objects to. */
    enum Violation {
        SHARED_PORT("NAT-8: two users' datagrams on one server port"),
        EXTRA_PORT("NAT-4: a user seen from more than one server port of a family"),
        CROSSED("NAT-9: a datagram of one user delivered to another user's connection"),
        MISDELIVERED("DLV-1/MUX-17/UMF-4: a user's datagram on the wrong connection or with the wrong source"),
        MISDIRECTED("UDP-3/MUX-13: a datagram reached a peer it was not sent to"),
        UNTAGGED("a payload that is not a tag: corrupted or invented on the way");

        final String meaning;

        Violation(String meaning) {
            this.meaning = meaning;
        }
    }

    /** What a tag says it is. */
    enum Kind {
        /** Sent by a client on its command-2 connection to the endpoint, or echoed back by that endpoint. */
        FLOW,
        /** Sent by a client in a MUX frame to the endpoint, or echoed back by that endpoint. */
        MUX,
        /** Sent unsolicited by the endpoint to a user's server port. */
        STRANGER
    }

    /** Where a receipt was counted, for the report. */
    enum Receipt {
        AT_PEER, COMMAND_2, MUX, MUX_STRANGER, CRUMFURS, CRUMFURS_STRANGER
    }

    /**
     * The first {@link #LENGTH} bytes of every payload of a load test.
     *
     * @param user     the user (an index) whose client sent it, or whose port a stranger sent it to
     * @param kind     how it travels
     * @param endpoint the endpoint (an index) it was sent to; for {@link Kind#STRANGER}, the one it came from. Either
     *                 way it is the true source of whatever reaches a client.
     * @param seq      a number per sender, for messages
     */
    record Tag(int user, Kind kind, int endpoint, long seq) {
        /** Bytes of a tag. */
        static final int LENGTH = 16;
        private static final short MAGIC = (short) 0x4953; // "IS"

        Tag {
            if (user < 0 || user > 0xff || endpoint < 0 || endpoint > 0xffff) {
                throw new IllegalArgumentException("user " + user + ", endpoint " + endpoint);
            }
        }

        /** Writes the tag at {@code out}'s writer index. */
        void write(ByteBuf out) {
            out.writeShort(MAGIC).writeByte(user).writeByte(kind.ordinal()).writeShort(endpoint).writeShort(0)
                    .writeLong(seq);
        }

        /** The tag at the start of {@code payload}'s readable bytes, or null if there is none; reads nothing. */
        static Tag read(ByteBuf payload) {
            int i = payload.readerIndex();
            if (payload.readableBytes() < LENGTH || payload.getShort(i) != MAGIC
                    || payload.getUnsignedByte(i + 3) >= Kind.values().length || payload.getShort(i + 6) != 0) {
                return null;
            }
            return new Tag(payload.getUnsignedByte(i + 2), Kind.values()[payload.getUnsignedByte(i + 3)],
                    payload.getUnsignedShort(i + 4), payload.getLong(i + 8));
        }

        @Override
        public String toString() {
            return "user " + user + " " + kind + " endpoint " + endpoint + " #" + seq;
        }
    }

    /** Examples kept per violation: enough to debug, bounded under a flood of them. */
    private static final int EXAMPLES = 10;

    private final int users;
    private final List<InetSocketAddress> endpoints;
    /** (family, port) to the first user seen on it. */
    private final ConcurrentHashMap<Long, Integer> portOwner = new ConcurrentHashMap<>();
    /** (user, family) to the ports it was seen from. */
    private final ConcurrentHashMap<Integer, Set<Integer>> userPorts = new ConcurrentHashMap<>();
    /** Reported once each, so that a flood of one fault is one line. */
    private final Set<String> reportedOnce = ConcurrentHashMap.newKeySet();
    private final Map<Receipt, LongAdder[]> receipts = new EnumMap<>(Receipt.class);
    private final Map<Violation, LongAdder> violations = new EnumMap<>(Violation.class);
    private final Map<Violation, AtomicInteger> exampleCounts = new EnumMap<>(Violation.class);
    private final ConcurrentLinkedQueue<String> examples = new ConcurrentLinkedQueue<>();

    /**
     * A ledger for {@code users} users (tags 0 to users - 1) and these endpoints (tags name them by index): the peers
     * the clients send to and the strangers that send unsolicited.
     */
    IsolationLedger(int users, List<InetSocketAddress> endpoints) {
        this.users = users;
        this.endpoints = List.copyOf(endpoints);
        for (Receipt r : Receipt.values()) {
            LongAdder[] perUser = new LongAdder[users];
            for (int u = 0; u < users; u++) {
                perUser[u] = new LongAdder();
            }
            receipts.put(r, perUser);
        }
        for (Violation v : Violation.values()) {
            violations.put(v, new LongAdder());
            exampleCounts.put(v, new AtomicInteger());
        }
    }

    /** How many endpoints there are. */
    int endpoints() {
        return endpoints.size();
    }

    /** The address of endpoint {@code index}. */
    InetSocketAddress endpoint(int index) {
        return endpoints.get(index);
    }

    // ---- what the peers see ------------------------------------------------------------------------------------

    /** Endpoint {@code peer} received a datagram carrying {@code tag} (null: none) from the server's {@code source}. */
    void atPeer(int peer, InetSocketAddress source, Tag tag) {
        if (!valid(tag, "endpoint " + peer + " received from " + source)) {
            return;
        }
        if (tag.kind == Kind.STRANGER) {
            violate(Violation.UNTAGGED, "endpoint " + peer + " received a stranger's tag " + tag + " from " + source);
            return;
        }
        receipts.get(Receipt.AT_PEER)[tag.user].increment();
        if (tag.endpoint != peer) {
            violate(Violation.MISDIRECTED, "endpoint " + peer + " " + endpoints.get(peer) + " received " + tag
                    + ", sent to " + endpoints.get(tag.endpoint));
        }
        int family = source.getAddress() instanceof Inet6Address ? 6 : 4;
        int port = source.getPort();
        Integer owner = portOwner.putIfAbsent(((long) family << 16) | port, tag.user);
        if (owner != null && owner != tag.user && reportedOnce.add("shared " + family + " " + port)) {
            violate(Violation.SHARED_PORT, "server port " + port + " (IPv" + family + ") carried datagrams of user "
                    + owner + " and of user " + tag.user + " (" + tag + " from " + source + ")");
        }
        Set<Integer> ports = userPorts.computeIfAbsent(tag.user * 16 + family, k -> ConcurrentHashMap.newKeySet());
        if (ports.add(port) && ports.size() > 1 && reportedOnce.add("extra " + tag.user + " " + family + " " + port)) {
            violate(Violation.EXTRA_PORT, "user " + tag.user + " seen from IPv" + family + " ports "
                    + new TreeSet<>(ports) + " (" + tag + " from " + source + ")");
        }
    }

    // ---- what the client connections receive --------------------------------------------------------------------

    /** The command-2 connection of {@code user} to endpoint {@code target} received a datagram carrying {@code tag}. */
    void onCommandTwo(int user, int target, Tag tag) {
        String where = "user " + user + "'s command-2 connection to endpoint " + target;
        if (!valid(tag, where) || !ownUser(user, tag, where)) {
            return;
        }
        receipts.get(Receipt.COMMAND_2)[user].increment();
        // The connection's target is the source of all it receives, and the target only echoes this flow.
        if (tag.kind != Kind.FLOW || tag.endpoint != target) {
            violate(Violation.MISDELIVERED, where + " received " + tag);
        }
    }

    /** A MUX connection of {@code user} received a frame labelled {@code source} carrying {@code tag}. */
    void onMux(int user, InetSocketAddress source, Tag tag) {
        labelled(user, "MUX connection", source, tag, Receipt.MUX, Receipt.MUX_STRANGER, Kind.MUX);
    }

    /** The CRUMFURS of {@code user} received a UMFURS from {@code source} carrying {@code tag}. */
    void onCrumfurs(int user, InetSocketAddress source, Tag tag) {
        labelled(user, "CRUMFURS", source, tag, Receipt.CRUMFURS, Receipt.CRUMFURS_STRANGER, null);
    }

    private void labelled(int user, String connection, InetSocketAddress source, Tag tag, Receipt echo,
            Receipt stranger, Kind ownEchoes) {
        String where = "user " + user + "'s " + connection + " (labelled " + source + ")";
        if (!valid(tag, where) || !ownUser(user, tag, where)) {
            return;
        }
        receipts.get(tag.kind == Kind.STRANGER ? stranger : echo)[user].increment();
        if (!endpoints.get(tag.endpoint).equals(source)) {
            violate(Violation.MISDELIVERED, where + " received " + tag + " whose true source is "
                    + endpoints.get(tag.endpoint));
        } else if (tag.kind != Kind.STRANGER && tag.kind != ownEchoes) {
            // An echo of a flow whose connection is open belongs on that connection (DLV-1, MUX-17).
            violate(Violation.MISDELIVERED, where + " received the echo " + tag);
        }
    }

    private boolean valid(Tag tag, String where) {
        if (tag == null) {
            violate(Violation.UNTAGGED, where + ": a payload without a tag");
            return false;
        }
        if (tag.user >= users || tag.endpoint >= endpoints.size()) {
            violate(Violation.UNTAGGED, where + ": a tag of no known user or endpoint: " + tag);
            return false;
        }
        return true;
    }

    private boolean ownUser(int user, Tag tag, String where) {
        if (tag.user != user) {
            violate(Violation.CROSSED, where + " received user " + tag.user + "'s datagram " + tag);
            return false;
        }
        return true;
    }

    private void violate(Violation v, String example) {
        violations.get(v).increment();
        if (exampleCounts.get(v).getAndIncrement() < EXAMPLES) {
            examples.add(v + ": " + example);
        }
    }

    // ---- results -------------------------------------------------------------------------------------------------

    /** The ports (IPv4: family 4, IPv6: 6) the peers saw {@code user}'s datagrams come from. */
    Set<Integer> ports(int user, int family) {
        return new TreeSet<>(userPorts.getOrDefault(user * 16 + family, Set.of()));
    }

    /** Datagrams counted as {@code receipt} for {@code user}. */
    long count(Receipt receipt, int user) {
        return receipts.get(receipt)[user].sum();
    }

    /** Datagrams counted as {@code receipt}, all users. */
    long count(Receipt receipt) {
        long n = 0;
        for (int u = 0; u < users; u++) {
            n += count(receipt, u);
        }
        return n;
    }

    /** Every datagram checked so far, violations included. */
    long checked() {
        long n = 0;
        for (Receipt r : Receipt.values()) {
            n += count(r);
        }
        for (Violation v : Violation.values()) {
            n += violations(v);
        }
        return n;
    }

    /** How often {@code v} was found. */
    long violations(Violation v) {
        return violations.get(v).sum();
    }

    /** Every violation found, with examples; empty when there is none. */
    List<String> problems() {
        List<String> out = new ArrayList<>();
        for (Violation v : Violation.values()) {
            long n = violations(v);
            if (n > 0) {
                out.add(n + " x " + v + " (" + v.meaning + ")");
            }
        }
        if (!out.isEmpty()) {
            out.add("examples:");
            out.addAll(examples);
        }
        return out;
    }

    /** Fails with every violation found and examples of each. */
    void assertIsolated() {
        List<String> p = problems();
        if (!p.isEmpty()) {
            throw new AssertionError("isolation broken after " + checked() + " datagrams checked:\n  "
                    + String.join("\n  ", p));
        }
    }

    /** One line per user: what was checked and which ports the peers saw. */
    String summary() {
        StringBuilder b = new StringBuilder();
        for (int u = 0; u < users; u++) {
            b.append(String.format("user %d: at peers %d, command-2 replies %d, MUX replies %d, stranger on MUX %d, "
                    + "on CRUMFURS %d, echoes on CRUMFURS %d; server ports IPv4 %s IPv6 %s%n", u,
                    count(Receipt.AT_PEER, u), count(Receipt.COMMAND_2, u), count(Receipt.MUX, u),
                    count(Receipt.MUX_STRANGER, u), count(Receipt.CRUMFURS_STRANGER, u), count(Receipt.CRUMFURS, u),
                    ports(u, 4), ports(u, 6)));
        }
        b.append("datagrams checked: ").append(checked()).append(", violations: ")
                .append(problems().isEmpty() ? "none" : String.join("; ", problems()));
        return b.toString();
    }
}
