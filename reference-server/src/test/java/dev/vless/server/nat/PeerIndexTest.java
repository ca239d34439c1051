// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The peer index behaves as a map from address to peer, whatever the order of adds and removes. */
class PeerIndexTest {

    /** A small address space, so that operations hit the same addresses and probe chains collide and wrap. */
    private static InetSocketAddress address(int n) {
        try {
            int a = n & 0xff;
            if ((n & 0x100) != 0) {
                return new InetSocketAddress(InetAddress.getByName("2001:db8::" + Integer.toHexString(a)), 9);
            }
            return new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) (a >> 4)}),
                    1 + (a & 0xf));
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    @DisplayName("any sequence of adds and removes leaves the index equal to a HashMap given the same")
    void behavesAsAMap() {
        // Each operation: bit 9 chooses remove over add, bits 0-8 the address (IPv6 when bit 8 is set).
        qt().withExamples(300).forAll(lists().of(integers().between(0, 1023)).ofSizeBetween(0, 600))
                .checkAssert(this::replay);
    }

    private void replay(List<Integer> operations) {
        PeerIndex index = new PeerIndex();
        Map<InetSocketAddress, Peer> model = new HashMap<>();
        for (int op : operations) {
            InetSocketAddress a = address(op & 0x1ff);
            boolean remove = (op & 0x200) != 0;
            if (remove) {
                Peer p = model.remove(a);
                if (p != null) {
                    index.remove(p);
                }
            } else if (!model.containsKey(a)) {
                Peer p = new Peer(a, PeerIndex.ipv4Key(a));
                model.put(a, p);
                index.add(p);
            }
            assertThat(index.size()).isEqualTo(model.size());
        }
        for (int n = 0; n < 0x200; n++) {
            InetSocketAddress a = address(n);
            assertThat(index.get(a)).as("%s", a).isSameAs(model.get(a));
        }
    }

    @Test
    @DisplayName("a stale peer object does not remove the peer that now holds its address")
    void removesOnlyTheSamePeer() {
        PeerIndex index = new PeerIndex();
        InetSocketAddress a = address(3);
        Peer first = new Peer(a, PeerIndex.ipv4Key(a));
        index.add(first);
        index.remove(first);
        Peer second = new Peer(a, PeerIndex.ipv4Key(a));
        index.add(second);
        index.remove(first);
        assertThat(index.get(a)).isSameAs(second);
    }

    @Test
    @DisplayName("keys tell address and port apart and are never the empty slot's 0")
    void keys() throws Exception {
        InetSocketAddress a = new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 0);
        assertThat(PeerIndex.ipv4Key(a)).isNotZero();
        assertThat(PeerIndex.ipv4Key(new InetSocketAddress("127.0.0.1", 1)))
                .isNotEqualTo(PeerIndex.ipv4Key(new InetSocketAddress("127.0.0.0", 1)))
                .isNotEqualTo(PeerIndex.ipv4Key(new InetSocketAddress("127.0.0.1", 2)));
        assertThat(PeerIndex.ipv4Key(new InetSocketAddress(InetAddress.getByName("::1"), 1))).isZero();
    }
}
