// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.concat;
import static dev.vless.server.testing.TestClient.frame;
import static dev.vless.server.testing.TestClient.header;
import static dev.vless.server.testing.TestClient.v0;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessVersion;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Headers split over many TCP segments (HDR-10) and bytes that follow a header in its own segment (HDR-11). The
 * handshake deadline is 2 s, long enough for the slow but honest clients here.
 */
class SplitHeaderTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b.handshakeTimeout(Duration.ofSeconds(2)));

    private static TcpEchoServer echo;

    @BeforeAll
    static void startEcho() throws IOException {
        echo = TcpEchoServer.start();
    }

    @AfterAll
    static void stopEcho() throws IOException {
        echo.close();
    }

    /** Writes {@code bytes} one at a time, each flushed on its own, {@code pauseMillis} apart. */
    static void trickle(TestClient c, byte[] bytes, long pauseMillis) throws Exception {
        for (byte b : bytes) {
            c.send(new byte[] {b});
            Thread.sleep(pauseMillis);
        }
    }

    @Test
    @DisplayName("HDR-10 · a TCP header sent one byte per segment is served; the last header byte travels with payload")
    void tcpHeaderOneByteAtATime() throws Exception {
        byte[] h = header(v1(USER, VlessCommand.TCP, echo.address()));
        try (TestClient c = server.connect()) {
            trickle(c, Arrays.copyOf(h, h.length - 1), 5);
            c.send(new byte[] {h[h.length - 1]}, ascii("payload")); // HDR-11: same segment, so payload
            assertThat(c.readAscii(7)).isEqualTo("payload");
        }
    }

    @Test
    @DisplayName("HDR-10 · a header split at every byte offset, in two writes, is served")
    void headerSplitAtEveryOffset() throws Exception {
        byte[] h = header(VlessRequest.v1(USER, VlessCommand.TCP, VlessAddress.of("localhost",
                echo.address().getPort())));
        byte[] all = concat(h, ascii("tail"));
        for (int cut = 1; cut < all.length; cut++) {
            try (TestClient c = server.connect()) {
                c.send(Arrays.copyOf(all, cut));
                Thread.sleep(2);
                c.send(Arrays.copyOfRange(all, cut, all.length));
                assertThat(c.readAscii(4)).as("split at %d", cut).isEqualTo("tail");
            }
        }
    }

    @Test
    @DisplayName("HDR-10 · a v0 header with addons, one byte per segment, is served with its response header")
    void v0HeaderOneByteAtATime() throws Exception {
        byte[] h = header(new VlessRequest(VlessVersion.V0, USER, new byte[] {0x0a, 0x00}, VlessCommand.TCP,
                VlessAddress.of(echo.address())));
        try (TestClient c = server.connect()) {
            trickle(c, h, 5);
            c.send(ascii("v0"));
            c.expectV0ResponseHeader();
            assertThat(c.readAscii(2)).isEqualTo("v0");
        }
    }

    @Test
    @DisplayName("HDR-10, HDR-11 · a UDP header one byte per segment, then frames in the last header byte's segment")
    void udpHeaderOneByteAtATime() throws Exception {
        try (UdpPeer peer = UdpPeer.bind("127.0.0.2");
             TestClient c = server.connect()) {
            byte[] h = header(v1(USER, VlessCommand.UDP, peer.address()));
            trickle(c, Arrays.copyOf(h, h.length - 1), 5);
            c.send(new byte[] {h[h.length - 1]}, frame(ascii("first")), frame(ascii("second")));
            assertThat(peer.receive().text()).isEqualTo("first");
            assertThat(peer.receive().text()).isEqualTo("second");
        }
    }

    @Test
    @DisplayName("HDR-10, HDR-11 · a CRUMFURS header one byte per segment is acknowledged; bytes after it are input")
    void crumfursHeaderOneByteAtATime() throws Exception {
        byte[] h = header(VlessRequest.crumfurs(USER));
        try (TestClient c = server.connect()) {
            trickle(c, Arrays.copyOf(h, h.length - 1), 5);
            c.send(new byte[] {h[h.length - 1]}, ascii("discarded input"));
            c.expectCrumfursAck();
            c.assertSilentFor(Duration.ofMillis(200));
        }
    }

    @Test
    @DisplayName("ERR-4 · a slow header, one byte every 50 ms, is served when it completes before the deadline")
    void slowHeaderBeforeTheDeadlineIsServed() throws Exception {
        byte[] h = header(v1(USER, VlessCommand.TCP, echo.address())); // 25 bytes: 1.25 s of 2 s
        try (TestClient c = server.connect()) {
            trickle(c, h, 50);
            c.send(ascii("made it"));
            assertThat(c.readAscii(7)).isEqualTo("made it");
            // The deadline was cancelled by the complete header: the connection outlives it.
            Thread.sleep(1000);
            c.send(ascii("later"));
            assertThat(c.readAscii(5)).isEqualTo("later");
        }
    }
}
