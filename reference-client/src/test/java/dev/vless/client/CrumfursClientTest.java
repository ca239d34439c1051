// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.client.testing.FakeVlessServer;
import dev.vless.client.testing.SocksUdpApp;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessVersion;
import dev.vless.codec.udp.UmfursEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The client's side of CRUMFURS against a fake server that holds back, falsifies or reorders what a real server
 * sends: CRF-5 (ack before any command-2 request), CRF-6 (a wrong first byte closes), CRF-7 (back-off), DLV-4 and
 * CLI-2 (UMFURS at any time, labelled with their source).
 */
class CrumfursClientTest {

    private static final byte[] ACK = {0x14};

    @Test
    void sendsNoUdpRequestBeforeTheAcknowledgement() throws Exception {
        UUID user = UUID.randomUUID();
        try (FakeVlessServer server = new FakeVlessServer(); VlessClient client = client(server, user, 10);
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            app.send("127.0.0.2", 4000, "ping");
            FakeVlessServer.Accepted crumfurs = server.next(5000);
            assertThat(crumfurs.request().command()).isEqualTo(VlessCommand.CRUMFURS);
            assertThat(crumfurs.request().user()).isEqualTo(user);
            // CRF-5: held back for a while, no command-2 request may come.
            assertThat(server.poll(500)).isNull();
            long ackAt = System.nanoTime();
            crumfurs.write(ACK);
            FakeVlessServer.Accepted udp = server.next(5000);
            assertThat(udp.nanos()).isGreaterThan(ackAt);
            assertThat(udp.request().version()).isEqualTo(VlessVersion.V1);
            assertThat(udp.request().command()).isEqualTo(VlessCommand.UDP);
            assertThat(udp.request().address()).isEqualTo(VlessAddress.of("127.0.0.2", 4000));
            // The datagram that waited goes out as the first frame.
            assertThat(readFrame(udp)).isEqualTo("ping");

            // A frame back: labelled with the connection's target.
            udp.write(frame("pong"));
            SocksUdpApp.Received pong = app.receive();
            assertThat(pong.text()).isEqualTo("pong");
            assertThat(pong.source()).isEqualTo(new InetSocketAddress("127.0.0.2", 4000));

            // DLV-4: a UMFURS from the very target the client has a connection to still reaches the application.
            crumfurs.write(umfurs(new InetSocketAddress("127.0.0.2", 4000), "via crumfurs"));
            SocksUdpApp.Received viaCrumfurs = app.receive();
            assertThat(viaCrumfurs.text()).isEqualTo("via crumfurs");
            assertThat(viaCrumfurs.source()).isEqualTo(new InetSocketAddress("127.0.0.2", 4000));

            // CLI-2: and one from a stranger, IPv6 included, labelled with its true source.
            crumfurs.write(umfurs(new InetSocketAddress("2001:db8::7", 5353), "stranger"));
            SocksUdpApp.Received stranger = app.receive();
            assertThat(stranger.text()).isEqualTo("stranger");
            assertThat(stranger.addressType()).isEqualTo(4);
            assertThat(stranger.source()).isEqualTo(new InetSocketAddress("2001:db8::7", 5353));
            assertThat(client.stats().umfurs()).isEqualTo(2);
        }
    }

    @Test
    void closesOnAWrongAcknowledgementAndReopensWithBackOff() throws Exception {
        try (FakeVlessServer server = new FakeVlessServer();
                VlessClient client = client(server, UUID.randomUUID(), 2);
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            app.send("127.0.0.2", 4000, "waits");
            List<Long> attempts = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                FakeVlessServer.Accepted a = server.next(5000);
                assertThat(a.request().command()).isEqualTo(VlessCommand.CRUMFURS); // never a command-2 request
                attempts.add(a.nanos());
                a.write(new byte[] {0x15});
                // CRF-6: the client closes the connection.
                assertThat(a.in().read()).isEqualTo(-1);
                a.socket().close();
            }
            // CRF-7: 1 s, then 2 s (upper bounds generous: a loaded machine is late, never early).
            Duration first = Duration.ofNanos(attempts.get(1) - attempts.get(0));
            Duration second = Duration.ofNanos(attempts.get(2) - attempts.get(1));
            assertThat(first).isBetween(Duration.ofMillis(900), Duration.ofMillis(3000));
            assertThat(second).isBetween(Duration.ofMillis(1900), Duration.ofMillis(5000));
            assertThat(second.minus(first)).isGreaterThan(Duration.ofMillis(500));
            // The datagram waited no longer than the connect timeout, then counted as failed.
            assertThat(client.stats().drops(ClientDropReason.UPSTREAM_FAILED)).isEqualTo(1);
            assertThat(client.stats().crumfursEstablished()).isZero();
        }
    }

    @Test
    void opensNoCrumfursInV0() throws Exception {
        UUID user = UUID.randomUUID();
        try (FakeVlessServer server = new FakeVlessServer();
                VlessClient client = VlessClient.builder().server(server.address()).user(user).plaintext()
                        .version(VlessVersion.V0).socks("127.0.0.1", 0).build().start().join();
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            app.send("127.0.0.2", 4000, "ping");
            FakeVlessServer.Accepted udp = server.next(5000);
            assertThat(udp.request().version()).isEqualTo(VlessVersion.V0);
            assertThat(udp.request().command()).isEqualTo(VlessCommand.UDP);
            assertThat(readFrame(udp)).isEqualTo("ping");
            // RSP-3: the v0 response header comes before the first frame and is skipped.
            byte[] header = {0, 2, 'x', 'y'};
            byte[] pong = frame("pong");
            byte[] both = new byte[header.length + pong.length];
            System.arraycopy(header, 0, both, 0, header.length);
            System.arraycopy(pong, 0, both, header.length, pong.length);
            udp.write(both);
            assertThat(app.receive().text()).isEqualTo("pong");
            assertThat(server.poll(300)).isNull();
        }
    }

    private static VlessClient client(FakeVlessServer server, UUID user, int connectTimeoutSeconds) {
        return VlessClient.builder().server(server.address()).user(user).plaintext().socks("127.0.0.1", 0)
                .connectTimeout(Duration.ofSeconds(connectTimeoutSeconds)).build().start().join();
    }

    private static String readFrame(FakeVlessServer.Accepted a) throws Exception {
        DataInputStream in = new DataInputStream(a.in());
        byte[] payload = new byte[in.readUnsignedShort()];
        in.readFully(payload);
        return new String(payload, StandardCharsets.UTF_8);
    }

    private static byte[] frame(String text) {
        byte[] p = text.getBytes(StandardCharsets.UTF_8);
        byte[] f = new byte[2 + p.length];
        f[0] = (byte) (p.length >> 8);
        f[1] = (byte) p.length;
        System.arraycopy(p, 0, f, 2, p.length);
        return f;
    }

    private static byte[] umfurs(InetSocketAddress source, String text) {
        ByteBuf payload = Unpooled.wrappedBuffer(text.getBytes(StandardCharsets.UTF_8));
        ByteBuf out = Unpooled.buffer();
        try {
            UmfursEncoder.encode(source, payload, out);
            return ByteBufUtil.getBytes(out);
        } finally {
            payload.release();
            out.release();
        }
    }
}
