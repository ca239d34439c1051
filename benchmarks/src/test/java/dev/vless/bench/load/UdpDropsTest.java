// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Kernel drops at a process's UDP sockets, read from /proc: a socket that is never read overflows and counts. */
class UdpDropsTest {

    @Test
    void aFullReceiveBufferCountsAtTheProcessThatHoldsTheSocket() throws Exception {
        long self = ProcessHandle.current().pid();
        try (DatagramSocket receiver = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                DatagramSocket sender = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            receiver.setReceiveBufferSize(4096); // the kernel doubles it, and keeps a floor; a few datagrams fit
            UdpDrops.Snapshot before = UdpDrops.snapshot(self);
            byte[] payload = new byte[1200];
            for (int i = 0; i < 500; i++) {
                sender.send(new DatagramPacket(payload, payload.length, receiver.getLocalSocketAddress()));
            }
            UdpDrops.Snapshot after = UdpDrops.snapshot(self);

            assertThat(before).isNotNull();
            assertThat(after.since(before)).as("500 datagrams into a receive buffer of a few KiB, none read")
                    .isGreaterThan(400);
            assertThat(UdpDrops.delta(before, after)).isEqualTo(after.since(before));
        }
        assertThat(UdpDrops.snapshot(-1)).as("no process: unknown").isNull();
    }

    @Test
    void onlyTheProcesssSocketsCountAndANewSocketCountsFromZero() {
        List<String> table = List.of(
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref "
                        + "pointer drops",
                "  1: 0100007F:A000 00000000:0000 07 00000000:00000000 00:00000000 00000000  0  0 111 2 "
                        + "0000000000000000 5",
                "  2: 0100007F:A001 00000000:0000 07 00000000:00000000 00:00000000 00000000  0  0 222 2 "
                        + "0000000000000000 7",
                "  3: 0100007F:A002 00000000:0000 07 00000000:00000000 00:00000000 00000000  0  0 333 2 "
                        + "0000000000000000 9");
        Map<Long, Long> then = new HashMap<>();
        UdpDrops.parse(table.subList(0, 2), Set.of(111L, 333L), then);
        Map<Long, Long> now = new HashMap<>();
        UdpDrops.parse(table, Set.of(111L, 333L), now);

        assertThat(now).containsOnlyKeys(111L, 333L);
        assertThat(new UdpDrops.Snapshot(now).since(new UdpDrops.Snapshot(then))).as("111: 5 - 5, 333: new, 9")
                .isEqualTo(9);
    }
}
