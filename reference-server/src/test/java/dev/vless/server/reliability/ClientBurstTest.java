// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.reliability;

import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.server.DropReason;
import dev.vless.server.ServerStats;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.VlessServerExtension;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A client that sends UDP frames back to back is slowed down (its connection is no longer read while the UDP socket
 * is full) instead of losing frames: on a just-started server as on a warm one. Heavier: {@code -Dvless.burst.frames}.
 */
class ClientBurstTest {

    static final int FRAMES = Integer.getInteger("vless.burst.frames", 20_000);
    static final int SIZE = 512;

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension().runForEachTest();

    @Test
    @DisplayName("UDP-3 · 20 000 back-to-back frames on a just-started server all reach the target")
    void burstOnColdServer() throws Exception {
        burst("cold");
    }

    @Test
    @DisplayName("UDP-3 · 20 000 back-to-back frames on a warm server all reach the target")
    void burstOnWarmServer() throws Exception {
        burst("warm-up");
        burst("warm");
    }

    @Test
    @DisplayName("UDP-3 · 10 connections bursting at once on a just-started server lose nothing")
    void tenConnectionsOnColdServer() throws Exception {
        int connections = 10;
        int each = FRAMES / connections;
        ServerStats before = server.stats();
        CountingUdpReceiver[] peers = new CountingUdpReceiver[connections];
        TestClient[] clients = new TestClient[connections];
        Thread[] senders = new Thread[connections];
        try {
            for (int i = 0; i < connections; i++) {
                peers[i] = new CountingUdpReceiver("127.0.0.1");
                clients[i] = server.connect();
            }
            byte[] all = frames(each);
            for (int i = 0; i < connections; i++) {
                TestClient c = clients[i];
                java.net.InetSocketAddress target = peers[i].address();
                senders[i] = new Thread(() -> {
                    try {
                        c.sendHeader(v1(USER, VlessCommand.UDP, target), all);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                senders[i].start();
            }
            long received = 0;
            for (int i = 0; i < connections; i++) {
                senders[i].join(20_000);
                received += peers[i].awaitQuiet(each, 2000);
            }
            ServerStats after = server.stats();
            System.out.printf("burst of %d connections: %d of %d arrived (%.2f %% lost); socket_backlog=%d, "
                    + "client pauses %d%n", connections, received, each * connections,
                    100.0 * (each * connections - received) / (each * connections),
                    after.drops(DropReason.SOCKET_BACKLOG) - before.drops(DropReason.SOCKET_BACKLOG),
                    after.clientPauses() - before.clientPauses());
            assertThat(after.drops(DropReason.SOCKET_BACKLOG) - before.drops(DropReason.SOCKET_BACKLOG)).isZero();
            assertThat(received).isEqualTo((long) each * connections);
        } finally {
            for (int i = 0; i < connections; i++) {
                if (clients[i] != null) {
                    clients[i].close();
                }
                if (peers[i] != null) {
                    peers[i].close();
                }
            }
        }
    }

    private void burst(String label) throws Exception {
        ServerStats before = server.stats();
        try (CountingUdpReceiver peer = new CountingUdpReceiver("127.0.0.1");
             TestClient c = server.connect()) {
            byte[] all = frames(FRAMES);
            long start = System.nanoTime();
            c.sendHeader(v1(USER, VlessCommand.UDP, peer.address()), all);
            long received = peer.awaitQuiet(FRAMES, 2000);
            long millis = (System.nanoTime() - start) / 1_000_000;
            ServerStats after = server.stats();
            long socketDrops = after.drops(DropReason.SOCKET_BACKLOG) - before.drops(DropReason.SOCKET_BACKLOG);
            long sendFailed = after.drops(DropReason.SEND_FAILED) - before.drops(DropReason.SEND_FAILED);
            long kernel = peer.kernelDrops();
            System.out.printf("burst %s: %d of %d arrived (%.2f %% lost) in %d ms; server drops socket_backlog=%d "
                    + "send_failed=%d; receiver's kernel dropped %d; client pauses %d%n", label, received, FRAMES,
                    100.0 * (FRAMES - received) / FRAMES, millis, socketDrops, sendFailed, kernel,
                    after.clientPauses() - before.clientPauses());
            assertThat(socketDrops).as("frames the server dropped instead of slowing the client").isZero();
            // Whatever is missing was refused by a kernel, and counted: by the receiver's or by the server's socket.
            assertThat(received + Math.max(0, kernel) + sendFailed).isEqualTo(FRAMES);
            assertThat(after.datagramsOut() - before.datagramsOut()).isEqualTo(FRAMES);
        }
    }

    /** {@code n} frames of {@link #SIZE} bytes, each starting with its number. */
    static byte[] frames(int n) {
        ByteBuffer b = ByteBuffer.allocate(n * (2 + SIZE));
        for (int i = 0; i < n; i++) {
            b.putShort((short) SIZE).putInt(i).position(b.position() + SIZE - 4);
        }
        return b.array();
    }
}
