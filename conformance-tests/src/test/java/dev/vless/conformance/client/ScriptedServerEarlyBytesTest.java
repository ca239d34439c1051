// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.WireLog;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The scripted server records a frame a client sends before a held 0x15 (MUX-4), and still reads it as a frame. */
class ScriptedServerEarlyBytesTest {

    @Test
    void frameBeforeTheAnswerIsRecordedAndThenRead() throws Exception {
        try (ScriptedServer server = ScriptedServer.start(InetAddress.getLoopbackAddress(), 0, false);
                Socket s = new Socket()) {
            server.reset(new WireLog()).mux(ServerScript.Answer.ACK, Duration.ofMillis(500));
            UUID user = UUID.randomUUID();
            byte[] request = ByteBuffer.allocate(18).put((byte) 1).putLong(user.getMostSignificantBits())
                    .putLong(user.getLeastSignificantBits()).put((byte) 5).array();
            byte[] payload = {1, 2, 3};
            // Port 9 (discard) on loopback: the datagram goes nowhere that matters.
            byte[] frame = ServerConnection.umfurs(new InetSocketAddress(InetAddress.getLoopbackAddress(), 9),
                    payload);
            s.connect(server.address());
            OutputStream out = s.getOutputStream();
            out.write(request);
            out.flush();
            Thread.sleep(100);
            out.write(frame); // too early: the server holds 0x15 for 500 ms
            out.flush();
            InputStream in = s.getInputStream();
            s.setSoTimeout(3000);
            assertThat(in.read()).isEqualTo(0x15);
            ServerConnection c = server.await(x -> x.is(VlessCommand.UDP_MUX), Duration.ofSeconds(1));
            assertThat(c.earlyBytes()).isEqualTo(frame);
            assertThat(c.earlyNanos()).isLessThan(c.answeredNanos());
            ScriptedServer.ClientDatagram d = server.awaitDatagram(x -> true, Duration.ofSeconds(2));
            assertThat(d).isNotNull();
            assertThat(d.payload()).isEqualTo(payload);
            assertThat(d.addressType()).isEqualTo(1);
        }
    }
}
