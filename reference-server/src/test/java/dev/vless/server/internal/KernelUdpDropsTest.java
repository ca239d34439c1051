// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KernelUdpDropsTest {

    @Test
    void readsTheDropsColumnOfOwnSocketsOnly() {
        Map<Long, Long> into = new HashMap<>();
        String header = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
                + "inode ref pointer drops";
        String mine = "  112: 00000000:A3F1 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 "
                + "4242 2 0000000000000000 17";
        String theirs = "  113: 00000000:A3F2 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 "
                + "4343 2 0000000000000000 99";
        for (String line : new String[] {header, mine, theirs, "", "garbage"}) {
            KernelUdpDrops.parseLine(line, Set.of(4242L), into);
        }
        assertThat(into).containsExactly(Map.entry(4242L, 17L));
    }

    @Test
    void countsDatagramsAFullSocketDropped() throws Exception {
        assumeTrue(KernelUdpDrops.supported(), "no /proc/self/net/udp here");
        KernelUdpDrops drops = new KernelUdpDrops();
        long before = drops.total();
        try (DatagramChannel full = DatagramChannel.open(); DatagramChannel sender = DatagramChannel.open()) {
            // The smallest receive buffer, never read: the kernel must drop most of 2000 datagrams.
            full.setOption(StandardSocketOptions.SO_RCVBUF, 1);
            full.bind(new InetSocketAddress("127.0.0.1", 0));
            ByteBuffer payload = ByteBuffer.allocate(1200);
            for (int i = 0; i < 2000; i++) {
                payload.clear();
                sender.send(payload, full.getLocalAddress());
            }
            long during = drops.total();
            assertThat(during - before).isGreaterThan(1000);
            full.close();
            // A closed socket's drops stay counted.
            assertThat(drops.total()).isGreaterThanOrEqualTo(during);
        }
    }
}
