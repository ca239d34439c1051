// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vless.client.internal.MuxHooks;
import dev.vless.client.testing.FakeVlessServer;
import dev.vless.client.testing.Rig;
import dev.vless.client.testing.SocksUdpApp;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessVersion;
import dev.vless.codec.udp.MuxFrameEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.util.NetUtil;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The client's side of UDP-MUX (spec §23) against a fake server that holds back, falsifies or breaks what a real
 * server sends: no frame before {@code 0x15} (MUX-4), the fall-back (MUX-5, MUX-6), re-opening (MUX-24), frame errors
 * (MUX-11), labels (MUX-23), empty and large datagrams (MUX-9), and the bounded queue.
 */
class MuxClientTest {

    private static final byte[] MUX_ACK = {0x15};
    private static final byte[] CRUMFURS_ACK = {0x14};
    private static final InetSocketAddress REMOTE = new InetSocketAddress("127.0.0.2", 4000);

    @Test
    void sendsNoFrameBeforeTheAnswerAndReadsFramesThatCameWithIt() throws Exception {
        UUID user = UUID.randomUUID();
        try (FakeVlessServer server = new FakeVlessServer(); VlessClient client = client(server, user, c -> { });
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            // The association opens the MUX connection at once: the bare 18-byte request (MUX-1).
            FakeVlessServer.Accepted mux = server.next(5000);
            assertThat(mux.request().version()).isEqualTo(VlessVersion.V1);
            assertThat(mux.request().command()).isEqualTo(VlessCommand.UDP_MUX);
            assertThat(mux.request().user()).isEqualTo(user);
            assertThat(mux.request().address()).isNull();
            app.send(REMOTE, "ping");
            // MUX-4: held back for a while, no byte may follow the request.
            assertNothingArrives(mux, 500);
            // The answer and a frame in one write: the frame must be read as one (MUX-4).
            InetSocketAddress early = new InetSocketAddress("127.0.0.9", 9999);
            mux.write(concat(MUX_ACK, serverFrame(early, bytes("early"))));
            SocksUdpApp.Received r = app.receive();
            assertThat(r.text()).isEqualTo("early");
            assertThat(r.addressType()).isEqualTo(1);
            assertThat(r.source()).isEqualTo(early);
            // The datagram that waited goes out as the first frame.
            Frame f = readFrame(mux.in());
            assertThat(f.address()).isEqualTo(VlessAddress.of(REMOTE));
            assertThat(f.text()).isEqualTo("ping");
            // No CRUMFURS, no command 2: everything is on the one connection.
            assertThat(server.poll(300)).isNull();
            ClientStats s = client.stats();
            assertThat(s.udpMode()).isEqualTo(UdpMode.MUX);
            assertThat(s.muxEstablished()).isEqualTo(1);
            assertThat(s.muxLive()).isTrue();
            assertThat(s.muxFramesOut()).isEqualTo(1);
            assertThat(s.muxFramesIn()).isEqualTo(1);
            assertThat(s.crumfursEstablished()).isZero();
            assertThat(s.udpFlowsOpened()).isZero();
            assertThat(s.format()).contains("mux mode=mux established=1 (live)");
        }
    }

    @Test
    void labelsEveryDatagramWithTheFramesSource() throws Exception {
        try (FakeVlessServer server = new FakeVlessServer();
                VlessClient client = client(server, UUID.randomUUID(), c -> { });
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            FakeVlessServer.Accepted mux = server.next(5000);
            mux.write(MUX_ACK);
            awaitLive(client);
            // A domain destination goes out as a domain frame, spelt as the application spelt it...
            app.send("LocalHost", 5000, "to a name");
            Frame f = readFrame(mux.in());
            assertThat(f.address()).isEqualTo(new VlessAddress(VlessAddressType.DOMAIN, "LocalHost", 5000));
            assertThat(f.text()).isEqualTo("to a name");
            // ...and the reply comes from the address the server resolved it to: that is the label (MUX-23).
            mux.write(serverFrame(new InetSocketAddress("127.0.0.1", 5000), bytes("from the name")));
            SocksUdpApp.Received r = app.receive();
            assertThat(r.text()).isEqualTo("from the name");
            assertThat(r.addressType()).isEqualTo(1);
            assertThat(r.source()).isEqualTo(new InetSocketAddress("127.0.0.1", 5000));
            // IPv6 sources keep their type; a stranger the application never sent to still gets through.
            InetSocketAddress v6 = new InetSocketAddress("2001:db8::7", 5353);
            mux.write(serverFrame(v6, bytes("stranger")));
            SocksUdpApp.Received s = app.receive();
            assertThat(s.addressType()).isEqualTo(4);
            assertThat(s.source()).isEqualTo(v6);
            // An IPv6 destination goes out as atyp 3, an IPv4-mapped one as IPv4 (ADR-4).
            app.send("2001:db8::7", 5353, "v6");
            assertThat(readFrame(mux.in()).address()).isEqualTo(VlessAddress.of(v6));
            app.send("::ffff:127.0.0.2", 4000, "mapped");
            assertThat(readFrame(mux.in()).address()).isEqualTo(VlessAddress.of(REMOTE));
        }
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, 32768, 60000})
    void carriesEmptyAndLargeDatagramsBothWays(int size) throws Exception {
        try (FakeVlessServer server = new FakeVlessServer();
                VlessClient client = client(server, UUID.randomUUID(), c -> { });
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            FakeVlessServer.Accepted mux = server.next(5000);
            mux.write(MUX_ACK);
            awaitLive(client);
            byte[] payload = new byte[size];
            new Random(size).nextBytes(payload);
            app.sendRaw(SocksUdpApp.datagram(0, "127.0.0.2", 4000, payload));
            Frame f = readFrame(mux.in());
            assertThat(f.address()).isEqualTo(VlessAddress.of(REMOTE));
            assertThat(f.payload()).isEqualTo(payload);
            byte[] back = Arrays.copyOf(payload, size);
            if (size > 0) {
                back[0] ^= 1;
            }
            mux.write(serverFrame(REMOTE, back));
            SocksUdpApp.Received r = app.receive();
            assertThat(r.payload()).isEqualTo(back);
            assertThat(r.source()).isEqualTo(REMOTE);
        }
    }

    /** How a server without the mode can answer command 5 (MUX-5). */
    enum Refusal {
        END_OF_STREAM, WRONG_BYTE, NO_ANSWER
    }

    @ParameterizedTest
    @EnumSource(Refusal.class)
    void fallsBackToPerRemoteAndDoesNotAskAgain(Refusal refusal) throws Exception {
        UUID user = UUID.randomUUID();
        try (FakeVlessServer server = new FakeVlessServer();
                VlessClient client = client(server, user, c -> c.muxAnswerTimeout(Duration.ofMillis(700)));
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            FakeVlessServer.Accepted mux = server.next(5000);
            assertThat(mux.request().command()).isEqualTo(VlessCommand.UDP_MUX);
            app.send(REMOTE, "waited");
            Thread.sleep(100); // the datagram is queued for the MUX connection before the refusal
            switch (refusal) {
                case END_OF_STREAM -> mux.socket().shutdownOutput();
                case WRONG_BYTE -> mux.write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                case NO_ANSWER -> { }
                default -> throw new AssertionError(refusal);
            }
            // The client closes the MUX connection and opens CRUMFURS (CRF-5).
            FakeVlessServer.Accepted crumfurs = server.next(5000);
            assertThat(crumfurs.request().command()).isEqualTo(VlessCommand.CRUMFURS);
            if (refusal == Refusal.NO_ANSWER) {
                assertThat(Duration.ofNanos(crumfurs.nanos() - mux.nanos())).isGreaterThanOrEqualTo(
                        Duration.ofMillis(650));
            }
            mux.socket().setSoTimeout(5000);
            assertThat(drain(mux.in())).isEqualTo(-1); // closed, and not one frame was written on it
            crumfurs.write(CRUMFURS_ACK);
            // The queued datagram goes on a command-2 connection.
            FakeVlessServer.Accepted udp = server.next(5000);
            assertThat(udp.request().command()).isEqualTo(VlessCommand.UDP);
            assertThat(udp.request().address()).isEqualTo(VlessAddress.of(REMOTE));
            assertThat(readUdpFrame(udp)).isEqualTo("waited");
            udp.write(udpFrame("pong"));
            assertThat(app.receive().source()).isEqualTo(REMOTE);

            // MUX-6: a new destination and a new association: command 2 again, never a second MUX request.
            try (SocksUdpApp second = SocksUdpApp.open(client.socksAddress())) {
                second.send("127.0.0.3", 4001, "other");
                FakeVlessServer.Accepted other = server.next(5000);
                assertThat(other.request().command()).isEqualTo(VlessCommand.UDP);
                assertThat(other.request().address()).isEqualTo(VlessAddress.of("127.0.0.3", 4001));
                assertThat(readUdpFrame(other)).isEqualTo("other");
                assertThat(server.poll(1000)).isNull();
            }
            ClientStats s = client.stats();
            assertThat(s.muxFallbacks()).isEqualTo(1);
            assertThat(s.muxEstablished()).isZero();
            assertThat(s.udpMode()).isEqualTo(UdpMode.PER_REMOTE);
            assertThat(s.crumfursEstablished()).isEqualTo(1);
            assertThat(s.udpFlowsOpened()).isEqualTo(2);
            assertThat(s.format()).contains("mux mode=per-remote", "fallbacks=1");
        }
    }

    @Test
    void asksAgainAfterTheHoldAndMovesBackToMux() throws Exception {
        MuxHooks.withUnavailableHold(Duration.ofMillis(1500), () -> {
            try (FakeVlessServer server = new FakeVlessServer();
                    VlessClient client = client(server, UUID.randomUUID(), c -> { });
                    SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
                FakeVlessServer.Accepted refused = server.next(5000);
                refused.socket().shutdownOutput();
                FakeVlessServer.Accepted crumfurs = server.next(5000);
                assertThat(crumfurs.request().command()).isEqualTo(VlessCommand.CRUMFURS);
                crumfurs.write(CRUMFURS_ACK);
                app.send(REMOTE, "one");
                FakeVlessServer.Accepted udp = server.next(5000);
                assertThat(udp.request().command()).isEqualTo(VlessCommand.UDP);
                assertThat(readUdpFrame(udp)).isEqualTo("one");
                assertThat(server.poll(1000)).isNull(); // within the hold: no new request
                Thread.sleep(600);
                // The hold is over: the next datagram still goes per remote, and a new MUX request goes out.
                app.send(REMOTE, "two");
                assertThat(readUdpFrame(udp)).isEqualTo("two");
                FakeVlessServer.Accepted mux = server.next(5000);
                assertThat(mux.request().command()).isEqualTo(VlessCommand.UDP_MUX);
                assertThat(client.stats().udpMode()).isEqualTo(UdpMode.PER_REMOTE);
                mux.write(MUX_ACK);
                awaitLive(client);
                // Answered: datagrams go over the MUX connection again.
                app.send(REMOTE, "three");
                assertThat(readFrame(mux.in()).text()).isEqualTo("three");
                ClientStats s = client.stats();
                assertThat(s.udpMode()).isEqualTo(UdpMode.MUX);
                assertThat(s.muxFallbacks()).isEqualTo(1);
                assertThat(s.muxEstablished()).isEqualTo(1);
                assertThat(s.udpFlowsOpened()).isEqualTo(1);
            }
        });
    }

    @Test
    void reopensAClosedConnectionWithBackOffAndQueuesMeanwhile() throws Exception {
        try (FakeVlessServer server = new FakeVlessServer();
                VlessClient client = client(server, UUID.randomUUID(), c -> { });
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            FakeVlessServer.Accepted first = server.next(5000);
            first.write(MUX_ACK);
            awaitLive(client);
            first.socket().close(); // the server ends it (a limit, idleness, a restart)
            Rig.await("the MUX connection down", 3000, () -> !client.stats().muxLive());
            app.send(REMOTE, "while down");
            FakeVlessServer.Accepted second = server.next(5000);
            assertThat(second.request().command()).isEqualTo(VlessCommand.UDP_MUX);
            assertNothingArrives(second, 200); // still no frame before the answer
            second.write(MUX_ACK);
            assertThat(readFrame(second.in()).text()).isEqualTo("while down");
            second.socket().close();
            FakeVlessServer.Accepted third = server.next(5000);
            assertThat(third.request().command()).isEqualTo(VlessCommand.UDP_MUX);
            // CRF-7's back-off (MUX-24): 1 s, then 2 s; late on a loaded machine, never early.
            Duration d1 = Duration.ofNanos(second.nanos() - first.nanos());
            Duration d2 = Duration.ofNanos(third.nanos() - second.nanos());
            assertThat(d1).isBetween(Duration.ofMillis(900), Duration.ofMillis(4000));
            assertThat(d2).isBetween(Duration.ofMillis(1900), Duration.ofMillis(6000));
            third.write(MUX_ACK);
            Rig.await("re-established twice", 3000, () -> client.stats().muxEstablished() == 3);
            assertThat(client.stats().crumfursEstablished()).isZero();
            assertThat(client.stats().muxFallbacks()).isZero();
        }
    }

    /** Frames a server must never send (MUX-11). */
    enum BadFrame {
        DOMAIN_SOURCE(new byte[] {2, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0x13, (byte) 0x88, 0, 1, 'x'}),
        UNKNOWN_TYPE(new byte[] {9, 127, 0, 0, 2, 0x13, (byte) 0x88, 0, 1, 'x'}),
        SOURCE_PORT_ZERO(new byte[] {1, 127, 0, 0, 2, 0, 0, 0, 1, 'x'});

        final byte[] bytes;

        BadFrame(byte[] bytes) {
            this.bytes = bytes;
        }
    }

    @ParameterizedTest
    @EnumSource(BadFrame.class)
    void closesOnAFrameErrorAndReopens(BadFrame bad) throws Exception {
        try (FakeVlessServer server = new FakeVlessServer();
                VlessClient client = client(server, UUID.randomUUID(), c -> { });
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            FakeVlessServer.Accepted mux = server.next(5000);
            mux.write(MUX_ACK);
            app.send(REMOTE, "hi"); // the association learns where the application receives
            assertThat(readFrame(mux.in()).text()).isEqualTo("hi");
            // A good frame first: it is delivered; the bad one after it closes the connection.
            mux.write(concat(serverFrame(REMOTE, bytes("good")), bad.bytes));
            assertThat(app.receive().text()).isEqualTo("good");
            mux.socket().setSoTimeout(5000);
            assertThat(drain(mux.in())).isEqualTo(-1);
            long closedAt = System.nanoTime();
            Rig.await("the error counted", 3000, () -> client.stats().muxProtocolErrors() == 1);
            FakeVlessServer.Accepted again = server.next(5000);
            assertThat(again.request().command()).isEqualTo(VlessCommand.UDP_MUX);
            assertThat(Duration.ofNanos(again.nanos() - closedAt)).isGreaterThanOrEqualTo(Duration.ofMillis(800));
            assertThat(client.stats().muxFallbacks()).isZero();
            assertThat(app.poll(Duration.ofMillis(200))).isNull();
        }
    }

    @Test
    void boundsWhatWaitsForTheAnswer() throws Exception {
        try (FakeVlessServer server = new FakeVlessServer();
                VlessClient client = client(server, UUID.randomUUID(), c -> { });
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            FakeVlessServer.Accepted mux = server.next(5000);
            // 1 MiB of payload waits at most: 17 datagrams of 60 000 bytes fit, the 8 after them are dropped.
            byte[] big = new byte[60000];
            for (int i = 0; i < 25; i++) {
                big[0] = (byte) i;
                app.sendRaw(SocksUdpApp.datagram(0, "127.0.0.2", 4000, big));
                Thread.sleep(5);
            }
            Rig.await("8 dropped", 3000, () -> client.stats().muxDrops() == 8);
            assertThat(client.stats().drops(ClientDropReason.BACKLOG)).isEqualTo(8);
            mux.write(MUX_ACK);
            for (int i = 0; i < 17; i++) {
                Frame f = readFrame(mux.in());
                assertThat(f.payload()[0]).isEqualTo((byte) i);
            }
            assertNothingArrives(mux, 300);
            assertThat(client.stats().muxFramesOut()).isEqualTo(17);
        }
    }

    @Test
    void dropsWhatTheConnectionCannotTake() throws Exception {
        try (FakeVlessServer server = new FakeVlessServer();
                VlessClient client = client(server, UUID.randomUUID(), c -> { });
                SocksUdpApp app = SocksUdpApp.open(client.socksAddress())) {
            FakeVlessServer.Accepted mux = server.next(5000);
            mux.socket().setReceiveBufferSize(64 * 1024);
            mux.write(MUX_ACK);
            awaitLive(client);
            // The server reads nothing: the socket buffers fill, the connection stops being writable, and the
            // client drops instead of buffering without bound.
            byte[] big = new byte[60000];
            for (int i = 0; i < 400 && client.stats().muxDrops() == 0; i++) {
                app.sendRaw(SocksUdpApp.datagram(0, "127.0.0.2", 4000, big));
                Thread.sleep(1);
            }
            Rig.await("drops for backpressure", 5000, () -> client.stats().drops(ClientDropReason.BACKLOG) > 0);
            assertThat(client.stats().muxLive()).isTrue();
        }
    }

    @Test
    void needsV1AndAPositiveAnswerTimeout() {
        VlessClientBuilder b = VlessClient.builder().server("127.0.0.1", 1).user(UUID.randomUUID())
                .udpMode(UdpMode.MUX).version(VlessVersion.V0);
        assertThatThrownBy(b::buildConfig)
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs VLESS v1");
        assertThatThrownBy(() -> b.muxAnswerTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MUX answer timeout");
        assertThat(VlessClient.builder().server("127.0.0.1", 1).user(UUID.randomUUID()).buildConfig().udpMode())
                .isEqualTo(UdpMode.PER_REMOTE);
    }

    // ---- helpers ----

    private static VlessClient client(FakeVlessServer server, UUID user,
            java.util.function.Consumer<VlessClientBuilder> more) {
        VlessClientBuilder b = VlessClient.builder().server(server.address()).user(user).plaintext()
                .socks("127.0.0.1", 0).udpMode(UdpMode.MUX);
        more.accept(b);
        return b.build().start().join();
    }

    /** Waits until the client has read the MUX answer. */
    private static void awaitLive(VlessClient client) throws InterruptedException {
        Rig.await("the MUX connection established", 5000, () -> client.stats().muxLive());
    }

    private static void assertNothingArrives(FakeVlessServer.Accepted a, int millis) throws IOException {
        a.socket().setSoTimeout(millis);
        try {
            int b = a.in().read();
            throw new AssertionError("byte " + b + " arrived before the client read 0x15 (MUX-4)");
        } catch (SocketTimeoutException expected) {
            // nothing came
        } finally {
            a.socket().setSoTimeout(10_000);
        }
    }

    /** Reads until end of stream; returns -1 then. */
    private static int drain(InputStream in) throws IOException {
        byte[] buf = new byte[8192];
        int total = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
            total += n;
        }
        if (total > 0) {
            throw new AssertionError(total + " bytes arrived on a connection that should carry none");
        }
        return -1;
    }

    /** One client frame as read by the fake server. */
    record Frame(VlessAddress address, byte[] payload) {
        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    /** Reads one client frame: atyp, address, port, length, payload (MUX-7). */
    static Frame readFrame(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        int type = in.readUnsignedByte();
        String host;
        switch (type) {
            case 1, 3 -> {
                byte[] ip = new byte[type == 1 ? 4 : 16];
                in.readFully(ip);
                host = NetUtil.bytesToIpAddress(ip);
            }
            case 2 -> {
                byte[] name = new byte[in.readUnsignedByte()];
                in.readFully(name);
                host = new String(name, StandardCharsets.US_ASCII);
            }
            default -> throw new AssertionError("address type " + type + " in a client's frame");
        }
        int port = in.readUnsignedShort();
        byte[] payload = new byte[in.readUnsignedShort()];
        in.readFully(payload);
        VlessAddress address = type == 2 ? new VlessAddress(VlessAddressType.DOMAIN, host, port)
                : VlessAddress.of(host, port);
        return new Frame(address, payload);
    }

    /** A server's frame from {@code source}: the UMFURS layout. */
    static byte[] serverFrame(InetSocketAddress source, byte[] payload) {
        ByteBuf out = Unpooled.buffer();
        try {
            MuxFrameEncoder.encodeHeader(source, payload.length, out);
            out.writeBytes(payload);
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
        }
    }

    private static String readUdpFrame(FakeVlessServer.Accepted a) throws IOException {
        DataInputStream in = new DataInputStream(a.in());
        byte[] payload = new byte[in.readUnsignedShort()];
        in.readFully(payload);
        return new String(payload, StandardCharsets.UTF_8);
    }

    private static byte[] udpFrame(String text) {
        byte[] p = bytes(text);
        return concat(new byte[] {(byte) (p.length >> 8), (byte) p.length}, p);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
