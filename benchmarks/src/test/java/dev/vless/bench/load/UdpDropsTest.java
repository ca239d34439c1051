// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
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
        // The parsing itself is the server's (KernelUdpDropsTest); here, what a snapshot's difference means.
        Map<Long, Long> then = Map.of(111L, 5L);
        Map<Long, Long> now = Map.of(111L, 5L, 333L, 9L);
        assertThat(new UdpDrops.Snapshot(now).since(new UdpDrops.Snapshot(then))).as("111: 5 - 5, 333: new, 9")
                .isEqualTo(9);
    }
}
