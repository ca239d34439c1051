// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vless.server.nat.IsolationLedger.Kind;
import dev.vless.server.nat.IsolationLedger.Receipt;
import dev.vless.server.nat.IsolationLedger.Tag;
import dev.vless.server.nat.IsolationLedger.Violation;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The ledger that {@link IsolationUnderLoadTest} relies on finds the faults it is for when fed them on purpose: a
 * reply carrying the other user's tag, and two users seen on one server port. Without this a load test that never
 * sees a violation could be one that cannot see any.
 */
class IsolationLedgerTest {

    static final int A = 0;
    static final int B = 1;
    // Endpoints 0 and 1 are peers the clients send to, 2 is a stranger, 3 an IPv6 peer.
    static final List<InetSocketAddress> ENDPOINTS = List.of(new InetSocketAddress("127.0.0.2", 7000),
            new InetSocketAddress("127.0.0.3", 7000), new InetSocketAddress("127.0.0.9", 7009),
            new InetSocketAddress("::1", 7003));
    static final InetSocketAddress PORT_A = new InetSocketAddress("127.0.0.1", 40001);
    static final InetSocketAddress PORT_B = new InetSocketAddress("127.0.0.1", 40002);

    final IsolationLedger ledger = new IsolationLedger(2, ENDPOINTS);

    static Tag flow(int user, int endpoint) {
        return new Tag(user, Kind.FLOW, endpoint, 1);
    }

    /** Traffic as an isolating server produces it, for both users. */
    void cleanTraffic() {
        ledger.atPeer(0, PORT_A, flow(A, 0));
        ledger.atPeer(0, PORT_B, flow(B, 0));
        ledger.atPeer(1, PORT_A, new Tag(A, Kind.MUX, 1, 2));
        ledger.atPeer(3, new InetSocketAddress("::1", 40003), new Tag(A, Kind.MUX, 3, 3));
        ledger.onCommandTwo(A, 0, flow(A, 0));
        ledger.onCommandTwo(B, 0, flow(B, 0));
        ledger.onMux(A, ENDPOINTS.get(1), new Tag(A, Kind.MUX, 1, 2));
        ledger.onMux(A, ENDPOINTS.get(2), new Tag(A, Kind.STRANGER, 2, 4));
        ledger.onCrumfurs(B, ENDPOINTS.get(2), new Tag(B, Kind.STRANGER, 2, 5));
    }

    @Test
    @DisplayName("clean traffic of two users: nothing found, every datagram counted, one port per user and family")
    void cleanTrafficPasses() {
        cleanTraffic();
        assertThat(ledger.problems()).isEmpty();
        ledger.assertIsolated();
        assertThat(ledger.checked()).isEqualTo(9);
        assertThat(ledger.count(Receipt.AT_PEER, A)).isEqualTo(3);
        assertThat(ledger.count(Receipt.MUX_STRANGER, A)).isEqualTo(1);
        assertThat(ledger.count(Receipt.CRUMFURS_STRANGER, B)).isEqualTo(1);
        assertThat(ledger.ports(A, 4)).containsExactly(40001);
        assertThat(ledger.ports(A, 6)).containsExactly(40003);
        assertThat(ledger.ports(B, 4)).containsExactly(40002);
    }

    @Test
    @DisplayName("NAT-9 · a command-2 reply carrying the other user's tag is a crossing")
    void otherUsersReplyOnCommandTwo() {
        cleanTraffic();
        ledger.onCommandTwo(A, 0, flow(B, 0));
        assertThat(ledger.violations(Violation.CROSSED)).isEqualTo(1);
        assertThatThrownBy(ledger::assertIsolated).isInstanceOf(AssertionError.class)
                .hasMessageContaining("NAT-9")
                .hasMessageContaining("user 0's command-2 connection to endpoint 0 received user 1's datagram");
    }

    @Test
    @DisplayName("NAT-9 · a MUX frame, or a stranger's datagram for B arriving on A's CRUMFURS, is a crossing")
    void otherUsersDatagramOnMuxOrCrumfurs() {
        cleanTraffic();
        ledger.onMux(B, ENDPOINTS.get(1), new Tag(A, Kind.MUX, 1, 7));
        ledger.onCrumfurs(A, ENDPOINTS.get(2), new Tag(B, Kind.STRANGER, 2, 8));
        assertThat(ledger.violations(Violation.CROSSED)).isEqualTo(2);
        assertThat(ledger.count(Receipt.CRUMFURS_STRANGER, A)).isZero();
        assertThatThrownBy(ledger::assertIsolated).hasMessageContaining("2 x CROSSED");
    }

    @Test
    @DisplayName("NAT-8 · peers that see both users' datagrams from one server port report a shared port")
    void twoUsersOnOnePort() {
        cleanTraffic();
        ledger.atPeer(1, PORT_A, flow(B, 1));
        ledger.atPeer(0, PORT_A, flow(B, 0)); // the same fault again is one report, counted once
        assertThat(ledger.violations(Violation.SHARED_PORT)).isEqualTo(1);
        assertThatThrownBy(ledger::assertIsolated).hasMessageContaining("NAT-8")
                .hasMessageContaining("server port 40001 (IPv4) carried datagrams of user 0 and of user 1");
    }

    @Test
    @DisplayName("one port number in IPv4 and IPv6 is two sockets, not a shared port")
    void samePortNumberInTwoFamilies() {
        ledger.atPeer(0, PORT_A, flow(A, 0));
        ledger.atPeer(3, new InetSocketAddress("::1", PORT_A.getPort()), flow(B, 3));
        assertThat(ledger.problems()).isEmpty();
    }

    @Test
    @DisplayName("NAT-4 · a user seen from a second port of one family is reported")
    void userOnTwoPorts() {
        cleanTraffic();
        ledger.atPeer(1, new InetSocketAddress("127.0.0.1", 40009), flow(A, 1));
        assertThat(ledger.violations(Violation.EXTRA_PORT)).isEqualTo(1);
        assertThat(ledger.ports(A, 4)).containsExactly(40001, 40009);
    }

    @Test
    @DisplayName("within one user: wrong connection, wrong label, wrong peer, untagged payload")
    void faultsWithinOneUser() {
        ledger.onCommandTwo(A, 0, flow(A, 1));                                 // another flow's echo
        ledger.onMux(A, ENDPOINTS.get(0), new Tag(A, Kind.MUX, 1, 1));        // labelled with the wrong source
        ledger.onCrumfurs(A, ENDPOINTS.get(0), flow(A, 0));                    // an echo while its connection is open
        assertThat(ledger.violations(Violation.MISDELIVERED)).isEqualTo(3);
        ledger.atPeer(1, PORT_A, flow(A, 0));
        assertThat(ledger.violations(Violation.MISDIRECTED)).isEqualTo(1);
        ledger.onCommandTwo(A, 0, null);
        ledger.atPeer(0, PORT_A, new Tag(A, Kind.STRANGER, 2, 1));
        ledger.onMux(A, ENDPOINTS.get(0), new Tag(5, Kind.MUX, 0, 1));
        assertThat(ledger.violations(Violation.UNTAGGED)).isEqualTo(3);
    }

    @Test
    @DisplayName("a tag survives the wire; anything else reads as no tag")
    void tagRoundTrip() {
        ByteBuf b = Unpooled.buffer();
        try {
            Tag t = new Tag(1, Kind.MUX, 513, 1L << 40);
            t.write(b);
            b.writeZero(100);
            assertThat(Tag.read(b)).isEqualTo(t);
            assertThat(b.readerIndex()).isZero();
            assertThat(Tag.read(b.slice(0, Tag.LENGTH - 1))).as("too short").isNull();
            b.setByte(3, 9);
            assertThat(Tag.read(b)).as("unknown kind").isNull();
            b.setByte(3, Kind.MUX.ordinal());
            assertThat(Tag.read(b)).isEqualTo(t);
            b.setByte(0, 0);
            assertThat(Tag.read(b)).as("no magic").isNull();
        } finally {
            b.release();
        }
    }
}
