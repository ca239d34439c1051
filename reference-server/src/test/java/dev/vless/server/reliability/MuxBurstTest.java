// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.reliability;

import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessRequest;
import dev.vless.server.DropReason;
import dev.vless.server.ServerStats;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.VlessServerExtension;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A MUX client that sends frames back to back is slowed down like a command-2 client (the connection is not read
 * while the UDP socket is past its high water mark) instead of losing frames, from its very first frame, which waits
 * for the context's first socket to bind. Heavier: {@code -Dvless.burst.frames}.
 */
class MuxBurstTest {

    static final int FRAMES = Integer.getInteger("vless.burst.frames", 20_000);
    static final int SIZE = 512;

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension().runForEachTest();

    @Test
    @DisplayName("MUX-13, UDP-3 · 20 000 back-to-back MUX frames with the header, on a just-started server, all sent")
    void burstWithTheHeader() throws Exception {
        ServerStats before = server.stats();
        try (CountingUdpReceiver peer = new CountingUdpReceiver("127.0.0.1");
             TestClient c = server.connect()) {
            byte[] all = frames(peer.address(), FRAMES);
            long start = System.nanoTime();
            c.sendHeader(VlessRequest.mux(USER), all);
            c.expectMuxAck();
            long received = peer.awaitQuiet(FRAMES, 2000);
            long millis = (System.nanoTime() - start) / 1_000_000;
            ServerStats after = server.stats();
            long socketDrops = after.drops(DropReason.SOCKET_BACKLOG) - before.drops(DropReason.SOCKET_BACKLOG);
            long sendFailed = after.drops(DropReason.SEND_FAILED) - before.drops(DropReason.SEND_FAILED);
            long kernel = peer.kernelDrops();
            System.out.printf("MUX burst: %d of %d arrived (%.2f %% lost) in %d ms; server drops socket_backlog=%d "
                    + "send_failed=%d; receiver's kernel dropped %d; client pauses %d%n", received, FRAMES,
                    100.0 * (FRAMES - received) / FRAMES, millis, socketDrops, sendFailed, kernel,
                    after.clientPauses() - before.clientPauses());
            assertThat(socketDrops).as("frames the server dropped instead of slowing the client").isZero();
            assertThat(received + Math.max(0, kernel) + sendFailed).isEqualTo(FRAMES);
            assertThat(after.datagramsOut() - before.datagramsOut()).isEqualTo(FRAMES);
            assertThat(after.muxFramesIn() - before.muxFramesIn()).isEqualTo(FRAMES);
        }
    }

    /** {@code n} MUX frames of {@link #SIZE} bytes to {@code to}, each starting with its number. */
    static byte[] frames(InetSocketAddress to, int n) {
        byte[] ip = to.getAddress().getAddress();
        ByteBuffer b = ByteBuffer.allocate(n * (1 + 4 + 2 + 2 + SIZE));
        for (int i = 0; i < n; i++) {
            b.put((byte) 1).put(ip).putShort((short) to.getPort()).putShort((short) SIZE).putInt(i)
                    .position(b.position() + SIZE - 4);
        }
        return b.array();
    }
}
