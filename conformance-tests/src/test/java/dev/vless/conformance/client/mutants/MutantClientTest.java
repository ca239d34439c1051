// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.mutants;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vless.server.DestinationFilter;
import dev.vless.server.TlsConfig;
import dev.vless.server.VlessServer;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The mutant client: CLEAN works end to end against the reference server, and each fault shows its bug directly,
 * mostly against a small scripted plaintext server ({@link FakeServer}) that echoes command-2 frames.
 */
@Timeout(30)
class MutantClientTest {

    private static final InetSocketAddress ANY_LOOPBACK_PORT = new InetSocketAddress("127.0.0.1", 0);

    private static VlessServer server;
    private static final List<UUID> users = new ArrayList<>();
    private static final AtomicInteger nextUser = new AtomicInteger();
    private static UdpEcho echo;
    private static ServerSocket tcpEcho;

    private final List<Closeable> toClose = new ArrayList<>();

    @BeforeAll
    static void startServer() throws Exception {
        var builder = VlessServer.builder().listen("127.0.0.1", 0).tls(TlsConfig.selfSigned("localhost"))
                .destinations(DestinationFilter.allowingLoopback());
        // A user per test: each test's client has a NAT context (and CRUMFURS) of its own.
        for (int i = 0; i < 8; i++) {
            UUID u = UUID.randomUUID();
            users.add(u);
            builder.user(u);
        }
        server = builder.build().start().get(10, TimeUnit.SECONDS);
        echo = new UdpEcho();
        tcpEcho = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (true) {
                try {
                    Socket s = tcpEcho.accept();
                    new Thread(() -> halfCloseEcho(s)).start();
                } catch (IOException e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
    }

    /** Echoes what it receives; after the client's end of stream it writes "BYE" and ends its own. */
    private static void halfCloseEcho(Socket s) {
        try (s) {
            s.getInputStream().transferTo(s.getOutputStream());
            s.getOutputStream().write("BYE".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            s.getInputStream().read();
        } catch (IOException e) {
            // test over
        }
    }

    @AfterAll
    static void stopServer() throws IOException {
        if (server != null) {
            server.close();
        }
        if (echo != null) {
            echo.close();
        }
        if (tcpEcho != null) {
            tcpEcho.close();
        }
    }

    @AfterEach
    void closeAll() throws IOException {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private <T extends Closeable> T closing(T c) {
        toClose.add(c);
        return c;
    }

    private static String realLink() {
        return server.shareLink(users.get(nextUser.getAndIncrement()), "127.0.0.1", "x");
    }

    private MutantClient start(ClientFault fault, String link) throws IOException {
        MutantClient c = (MutantClient) MutantClient.launcher(fault).start(link, ANY_LOOPBACK_PORT);
        toClose.add(c::close);
        return c;
    }

    // ---- CLEAN against the reference server ---------------------------------------------------------------------

    @Test
    void cleanRelaysTcpWithHalfClose() throws Exception {
        MutantClient client = start(ClientFault.CLEAN, realLink());
        try (Socket s = socksConnect(client.socks(), (InetSocketAddress) tcpEcho.getLocalSocketAddress())) {
            s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            s.setSoTimeout(5000);
            assertEquals("helloBYE", new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
        }
        assertNull(client.exited());
    }

    @Test
    void cleanUdpRoundTripAndDatagramFromNeverContactedRemote() throws Exception {
        MutantClient client = start(ClientFault.CLEAN, realLink());
        UdpApp app = closing(new UdpApp(client.socks()));
        app.send(echo.address(), bytes("ping"));
        Datagram reply = app.receive();
        assertEquals(echo.address(), reply.source());
        assertEquals("ping", text(reply));

        // The echo peer saw the context's external address; a stranger sending there reaches the app via UMFURS.
        InetSocketAddress external = echo.lastSource;
        try (DatagramSocket stranger = new DatagramSocket(ANY_LOOPBACK_PORT)) {
            stranger.send(new DatagramPacket(bytes("hi"), 2, external));
            Datagram d = app.receive();
            assertEquals(stranger.getLocalSocketAddress(), d.source(), client.output());
            assertEquals("hi", text(d));
        }
    }

    @Test
    void cleanCarriesEmptyAndLargeDatagrams() throws Exception {
        MutantClient client = start(ClientFault.CLEAN, realLink());
        UdpApp app = closing(new UdpApp(client.socks()));
        app.send(echo.address(), new byte[0]);
        assertEquals(0, app.receive().payload().length);
        byte[] big = pattern(40_000);
        app.send(echo.address(), big);
        assertArrayEquals(big, app.receive().payload());
    }

    @Test
    void cleanInMuxModeCarriesEverythingOnOneMuxConnection() throws Exception {
        MutantClient client = (MutantClient) MutantClient.launcher(ClientFault.CLEAN, MutantClient.DEFAULT_IDLE, true)
                .start(realLink(), ANY_LOOPBACK_PORT);
        toClose.add(client::close);
        UdpApp app = closing(new UdpApp(client.socks()));
        app.send(echo.address(), bytes("ping"));
        Datagram reply = app.receive();
        assertEquals(echo.address(), reply.source(), client.output());
        assertEquals("ping", text(reply));
        app.send(echo.address(), new byte[0]);
        assertEquals(0, app.receive().payload().length);
        byte[] big = pattern(40_000);
        app.send(echo.address(), big);
        assertArrayEquals(big, app.receive().payload());

        // A stranger sending to the context's external address reaches the app over the MUX connection (MUX-18).
        InetSocketAddress external = echo.lastSource;
        try (DatagramSocket stranger = new DatagramSocket(ANY_LOOPBACK_PORT)) {
            stranger.send(new DatagramPacket(bytes("hi"), 2, external));
            Datagram d = app.receive();
            assertEquals(stranger.getLocalSocketAddress(), d.source(), client.output());
            assertEquals("hi", text(d));
        }
        String log = client.output();
        assertTrue(log.contains("UDP-MUX established"), log);
        assertTrue(!log.contains("CRUMFURS") && !log.contains("command 2"), "nothing per remote: " + log);
    }

    @Test
    void cleanRefusesWrongPin() throws Exception {
        MutantClient client = start(ClientFault.CLEAN, wrongPin(realLink()));
        assertEquals(1, socksConnectReply(client.socks(), (InetSocketAddress) tcpEcho.getLocalSocketAddress()),
                "the CONNECT must fail: the certificate matches no pin");
        assertTrue(client.output().contains("matches no pin"), client.output());
    }

    @Test
    void acceptsAnyCertificateConnectsDespiteWrongPin() throws Exception {
        MutantClient client = start(ClientFault.ACCEPTS_ANY_CERTIFICATE, wrongPin(realLink()));
        try (Socket s = socksConnect(client.socks(), (InetSocketAddress) tcpEcho.getLocalSocketAddress())) {
            s.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            s.setSoTimeout(5000);
            assertEquals("xBYE", new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
        }
    }

    // ---- faults against the scripted server ---------------------------------------------------------------------

    @Test
    void cleanAgainstFakeServerOpensCrumfursFirstAndReusesOneConnection() throws Exception {
        FakeServer fake = closing(new FakeServer());
        fake.ackDelayMillis = 300;
        UdpApp app = closing(new UdpApp(start(ClientFault.CLEAN, fake.link()).socks()));
        InetSocketAddress remote = new InetSocketAddress("127.0.0.1", 4000);
        for (int i = 0; i < 3; i++) {
            app.send(remote, bytes("d" + i));
            assertEquals("d" + i, text(app.receive()));
        }
        Event crumfurs = fake.events.take();
        assertEquals("crumfurs", crumfurs.kind());
        Event udp = fake.events.take();
        assertEquals("udp", udp.kind());
        assertTrue(udp.nanos() - crumfurs.nanos() >= TimeUnit.MILLISECONDS.toNanos(300),
                "command 2 came only after the 0x14 held back for 300 ms");
        assertNull(fake.events.poll(200, TimeUnit.MILLISECONDS), "one command-2 connection for the remote");
    }

    @Test
    void cleanInMuxModeFallsBackWhenCommand5IsClosedAndDoesNotAskAgain() throws Exception {
        FakeServer fake = closing(new FakeServer()); // closes command 5 without a byte, like a server without it
        MutantClient client = (MutantClient) MutantClient.launcher(ClientFault.CLEAN, MutantClient.DEFAULT_IDLE, true)
                .start(fake.link(), ANY_LOOPBACK_PORT);
        toClose.add(client::close);
        InetSocketAddress remote = new InetSocketAddress("127.0.0.1", 4000);
        UdpApp app = closing(new UdpApp(client.socks()));
        app.send(remote, bytes("queued"));
        assertEquals("queued", text(app.receive()), "the datagram queued for 0x15 goes per remote");
        UdpApp second = closing(new UdpApp(client.socks()));
        second.send(remote, bytes("again"));
        assertEquals("again", text(second.receive()));
        List<String> kinds = new ArrayList<>();
        for (Event e; (e = fake.events.poll(200, TimeUnit.MILLISECONDS)) != null; ) {
            kinds.add(e.kind());
        }
        assertEquals(List.of("command 5", "crumfurs", "udp"), kinds, client.output());
    }

    @Test
    void cleanClosesCrumfursOnADomainOrPortZeroSource() throws Exception {
        byte[] domain = {2, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0x0f, (byte) 0xa0, 0, 1, 'x'};
        byte[] portZero = {1, 127, 0, 0, 2, 0, 0, 0, 1, 'x'};
        for (byte[] bad : new byte[][] {domain, portZero}) {
            FakeServer fake = closing(new FakeServer());
            UdpApp app = closing(new UdpApp(start(ClientFault.CLEAN, fake.link()).socks()));
            app.send(new InetSocketAddress("127.0.0.1", 4000), bytes("ping"));
            app.receive();
            fake.crumfursBytes(bad);
            List<String> kinds = List.of(fake.events.take().kind(), fake.events.take().kind(),
                    fake.events.take().kind());
            assertEquals(List.of("crumfurs", "udp", "crumfurs closed"), kinds, "UMF-2 / UMF-6: a protocol error");
            assertNull(app.receive(200), "nothing handed over");
        }
    }

    @Test
    void cleanClosesIdleCommand2Connections() throws Exception {
        FakeServer fake = closing(new FakeServer());
        MutantClient client = (MutantClient) MutantClient.launcher(ClientFault.CLEAN, Duration.ofMillis(400))
                .start(fake.link(), ANY_LOOPBACK_PORT);
        toClose.add(client::close);
        UdpApp app = closing(new UdpApp(client.socks()));
        app.send(new InetSocketAddress("127.0.0.1", 4000), bytes("ping"));
        app.receive();
        assertEquals("crumfurs", fake.events.take().kind());
        Event udp = fake.events.take();
        Event closed = fake.events.poll(3, TimeUnit.SECONDS);
        assertNotNull(closed);
        assertEquals("udp closed", closed.kind());
        assertTrue(closed.nanos() - udp.nanos() >= TimeUnit.MILLISECONDS.toNanos(400), "not before the idle time");
    }

    @Test
    void crumfursToTargetAsksTheTargetAndGoesOn() throws Exception {
        FakeServer fake = closing(new FakeServer());
        try (ServerSocket target = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            target.setSoTimeout(5000);
            UdpApp app = closing(new UdpApp(start(ClientFault.CRUMFURS_TO_TARGET, fake.link()).socks()));
            app.send((InetSocketAddress) target.getLocalSocketAddress(), bytes("ping"));
            byte[] got;
            try (Socket s = target.accept()) {
                got = s.getInputStream().readNBytes(18);
            }
            assertEquals(1, got[0]);
            assertEquals(4, got[17], "a CRUMFURS request, at the target");
            assertEquals("ping", text(app.receive()));
            assertEquals("udp", fake.events.take().kind(), "command 2 with no CRUMFURS at the server");
        }
    }

    @Test
    void noAckWaitSendsCommand2BeforeTheAck() throws Exception {
        FakeServer fake = closing(new FakeServer());
        fake.ackDelayMillis = 1000;
        UdpApp app = closing(new UdpApp(start(ClientFault.NO_ACK_WAIT, fake.link()).socks()));
        app.send(new InetSocketAddress("127.0.0.1", 4000), bytes("ping"));
        Event crumfurs = fake.events.take();
        assertEquals("crumfurs", crumfurs.kind());
        Event udp = fake.events.take();
        assertEquals("udp", udp.kind());
        assertTrue(udp.nanos() - crumfurs.nanos() < TimeUnit.MILLISECONDS.toNanos(900),
                "command 2 arrived while the 0x14 was held back for 1 s");
    }

    @Test
    void wrongAckAcceptedUsesUdpAfterAWrongAckWhileCleanDoesNot() throws Exception {
        for (ClientFault fault : new ClientFault[] {ClientFault.CLEAN, ClientFault.WRONG_ACK_ACCEPTED}) {
            FakeServer fake = closing(new FakeServer());
            fake.ackByte = 0x15;
            UdpApp app = closing(new UdpApp(start(fault, fake.link()).socks()));
            app.send(new InetSocketAddress("127.0.0.1", 4000), bytes("ping"));
            assertEquals("crumfurs", fake.events.take().kind());
            Event next = fake.events.poll(700, TimeUnit.MILLISECONDS);
            if (fault == ClientFault.CLEAN) {
                assertNotNull(next);
                assertEquals("crumfurs closed", next.kind(), "CRF-6: the client closes CRUMFURS");
                assertNull(fake.events.poll(500, TimeUnit.MILLISECONDS), "and sends no command 2 (CRF-5)");
            } else {
                assertNotNull(next);
                assertEquals("udp", next.kind());
            }
        }
    }

    @Test
    void noBackoffReopensAtOnce() throws Exception {
        int[] opened = new int[2];
        ClientFault[] faults = {ClientFault.CLEAN, ClientFault.NO_BACKOFF};
        for (int i = 0; i < 2; i++) {
            FakeServer fake = closing(new FakeServer());
            fake.closeCrumfursAfterAck = true;
            UdpApp app = closing(new UdpApp(start(faults[i], fake.link()).socks()));
            app.send(new InetSocketAddress("127.0.0.1", 4000), bytes("ping"));
            Thread.sleep(1500);
            opened[i] = (int) fake.events.stream().filter(e -> e.kind().equals("crumfurs")).count();
        }
        assertEquals(2, opened[0], "CLEAN: the first, then one after 1 s");
        assertTrue(opened[1] >= 10, "NO_BACKOFF re-opened " + opened[1] + " times in 1.5 s");
    }

    @Test
    void knownSourceUmfursDropped() throws Exception {
        InetSocketAddress remote = new InetSocketAddress("127.0.0.1", 4000);
        for (ClientFault fault : new ClientFault[] {ClientFault.CLEAN, ClientFault.KNOWN_SOURCE_UMFURS_DROPPED}) {
            FakeServer fake = closing(new FakeServer());
            UdpApp app = closing(new UdpApp(start(fault, fake.link()).socks()));
            app.send(remote, bytes("ping"));
            assertEquals("ping", text(app.receive()));
            fake.umfurs(remote, bytes("late"));
            Datagram d = app.receive(700);
            if (fault == ClientFault.CLEAN) {
                assertNotNull(d);
                assertEquals(remote, d.source());
                assertEquals("late", text(d));
            } else {
                assertNull(d, "the UMFURS from a dialed remote is dropped");
            }
        }
    }

    @Test
    void wrongSourceLabelUsesTheServerAddress() throws Exception {
        FakeServer fake = closing(new FakeServer());
        UdpApp app = closing(new UdpApp(start(ClientFault.WRONG_SOURCE_LABEL, fake.link()).socks()));
        app.send(new InetSocketAddress("127.0.0.1", 4000), bytes("ping"));
        app.receive();
        InetSocketAddress source = new InetSocketAddress("127.0.0.2", 5000);
        fake.umfurs(source, bytes("hi"));
        Datagram d = app.receive();
        assertEquals("hi", text(d));
        assertEquals(fake.address(), d.source());
        assertNotEquals(source, d.source());
    }

    @Test
    void cutsSocksPayloadDeliversTenBytesFewer() throws Exception {
        FakeServer fake = closing(new FakeServer());
        UdpApp app = closing(new UdpApp(start(ClientFault.CUTS_SOCKS_PAYLOAD, fake.link()).socks()));
        app.send(new InetSocketAddress("127.0.0.1", 4000), bytes("0123456789abcdef"));
        assertEquals("abcdef", text(app.receive()));
    }

    @Test
    void dropsEmptyDatagramsBothWays() throws Exception {
        FakeServer fake = closing(new FakeServer());
        UdpApp app = closing(new UdpApp(start(ClientFault.DROPS_EMPTY_DATAGRAMS, fake.link()).socks()));
        InetSocketAddress remote = new InetSocketAddress("127.0.0.1", 4000);
        app.send(remote, bytes("ping"));
        app.receive();
        app.send(remote, new byte[0]);
        assertNull(app.receive(500), "the empty datagram never went out");
        fake.umfurs(new InetSocketAddress("127.0.0.2", 5000), new byte[0]);
        fake.umfurs(new InetSocketAddress("127.0.0.2", 5000), bytes("after"));
        assertEquals("after", text(app.receive()), "the empty UMFURS was not handed over");
    }

    @Test
    void connectionPerDatagram() throws Exception {
        FakeServer fake = closing(new FakeServer());
        UdpApp app = closing(new UdpApp(start(ClientFault.CONNECTION_PER_DATAGRAM, fake.link()).socks()));
        InetSocketAddress remote = new InetSocketAddress("127.0.0.1", 4000);
        for (int i = 0; i < 3; i++) {
            app.send(remote, bytes("d" + i));
            app.receive();
        }
        assertEquals(3, fake.events.stream().filter(e -> e.kind().equals("udp")).count());
    }

    @Test
    void signedFrameLengthLosesLargeFrames() throws Exception {
        FakeServer fake = closing(new FakeServer());
        UdpApp app = closing(new UdpApp(start(ClientFault.SIGNED_FRAME_LENGTH, fake.link()).socks()));
        InetSocketAddress remote = new InetSocketAddress("127.0.0.1", 4000);
        app.send(remote, pattern(32_767));
        assertEquals(32_767, app.receive().payload().length, "below 32768 it still works");
        app.send(remote, pattern(32_768));
        assertNull(app.receive(700), "a frame of 32768 bytes breaks it");
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static String wrongPin(String link) {
        return link.replaceAll("pcs=[0-9A-Fa-f]{64}", "pcs=" + "00".repeat(32));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static String text(Datagram d) {
        return new String(d.payload(), StandardCharsets.US_ASCII);
    }

    private static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        return b;
    }

    /** SOCKS5 greeting and CONNECT; returns the reply code. */
    private static int socksConnectReply(InetSocketAddress socks, InetSocketAddress dest) throws IOException {
        try (Socket s = new Socket()) {
            return connectRequest(s, socks, dest);
        }
    }

    private static Socket socksConnect(InetSocketAddress socks, InetSocketAddress dest) throws IOException {
        Socket s = new Socket();
        int code = connectRequest(s, socks, dest);
        assertEquals(0, code, "SOCKS5 CONNECT reply");
        return s;
    }

    private static int connectRequest(Socket s, InetSocketAddress socks, InetSocketAddress dest) throws IOException {
        s.connect(socks, 2000);
        s.setSoTimeout(10_000);
        OutputStream out = s.getOutputStream();
        DataInputStream in = new DataInputStream(s.getInputStream());
        out.write(new byte[] {5, 1, 0});
        in.readNBytes(2);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {5, 1, 0, 1});
        b.writeBytes(dest.getAddress().getAddress());
        b.write(dest.getPort() >> 8);
        b.write(dest.getPort());
        out.write(b.toByteArray());
        byte[] reply = in.readNBytes(10);
        return reply[1];
    }

    record Datagram(InetSocketAddress source, byte[] payload) {
        @Override
        public String toString() {
            return source + " " + payload.length + " bytes";
        }
    }

    /** An application behind the SOCKS5 front with one UDP association. */
    static final class UdpApp implements Closeable {
        final Socket control = new Socket();
        final DatagramSocket udp;
        final InetSocketAddress relay;

        UdpApp(InetSocketAddress socks) throws IOException {
            control.connect(socks, 2000);
            control.setSoTimeout(5000);
            OutputStream out = control.getOutputStream();
            DataInputStream in = new DataInputStream(control.getInputStream());
            out.write(new byte[] {5, 1, 0});
            in.readNBytes(2);
            out.write(new byte[] {5, 3, 0, 1, 0, 0, 0, 0, 0, 0});
            byte[] reply = in.readNBytes(10);
            assertEquals(0, reply[1], "UDP ASSOCIATE reply");
            assertEquals(1, reply[3], "an IPv4 relay address");
            relay = new InetSocketAddress(InetAddress.getByAddress(Arrays.copyOfRange(reply, 4, 8)),
                    ((reply[8] & 0xff) << 8) | (reply[9] & 0xff));
            assertEquals(socks.getAddress(), relay.getAddress(), "the relay is on the listener's IP");
            udp = new DatagramSocket(ANY_LOOPBACK_PORT);
        }

        void send(InetSocketAddress to, byte[] payload) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(10 + payload.length);
            b.put(new byte[] {0, 0, 0, 1}).put(to.getAddress().getAddress()).putShort((short) to.getPort());
            b.put(payload);
            udp.send(new DatagramPacket(b.array(), b.capacity(), relay));
        }

        Datagram receive() throws IOException {
            Datagram d = receive(5000);
            assertNotNull(d, "no datagram within 5 s");
            return d;
        }

        Datagram receive(int timeoutMillis) throws IOException {
            byte[] buf = new byte[70_000];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            udp.setSoTimeout(timeoutMillis);
            try {
                udp.receive(p);
            } catch (SocketTimeoutException e) {
                return null;
            }
            assertEquals(1, buf[3], "an IPv4 source");
            InetSocketAddress source = new InetSocketAddress(InetAddress.getByAddress(Arrays.copyOfRange(buf, 4, 8)),
                    ((buf[8] & 0xff) << 8) | (buf[9] & 0xff));
            return new Datagram(source, Arrays.copyOfRange(buf, 10, p.getLength()));
        }

        @Override
        public void close() throws IOException {
            control.close();
            udp.close();
        }
    }

    /** A loopback UDP echo that remembers where the last datagram came from. */
    static final class UdpEcho implements Closeable {
        final DatagramSocket socket = new DatagramSocket(ANY_LOOPBACK_PORT);
        volatile InetSocketAddress lastSource;

        UdpEcho() throws IOException {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[65536];
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                while (true) {
                    try {
                        p.setLength(buf.length);
                        socket.receive(p);
                        lastSource = (InetSocketAddress) p.getSocketAddress();
                        socket.send(new DatagramPacket(buf, p.getLength(), p.getSocketAddress()));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return (InetSocketAddress) socket.getLocalSocketAddress();
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    record Event(String kind, long nanos) {
    }

    /**
     * A scripted plaintext v1 server: answers CRUMFURS (ack byte and delay chosen by the test, optionally closing it
     * at once) and echoes every frame of a command-2 connection back on it; records each request as an event.
     */
    static final class FakeServer implements Closeable {
        final UUID user = UUID.randomUUID();
        final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        final List<Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();
        volatile int ackDelayMillis;
        volatile int ackByte = 0x14;
        volatile boolean closeCrumfursAfterAck;
        volatile Socket crumfurs;

        FakeServer() throws IOException {
            Thread t = new Thread(() -> {
                while (true) {
                    try {
                        Socket s = listener.accept();
                        sockets.add(s);
                        Thread c = new Thread(() -> serve(s));
                        c.setDaemon(true);
                        c.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return (InetSocketAddress) listener.getLocalSocketAddress();
        }

        String link() {
            return "vless://" + user + "@127.0.0.1:" + listener.getLocalPort() + "?encryption=none&security=none#fake";
        }

        private void serve(Socket s) {
            try (s) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                OutputStream out = s.getOutputStream();
                byte[] head = in.readNBytes(18);
                if (head.length < 18) {
                    return;
                }
                if (head[17] == 4) {
                    events.add(new Event("crumfurs", System.nanoTime()));
                    Thread.sleep(ackDelayMillis);
                    if (!closeCrumfursAfterAck) {
                        // Before the ack: a client that got it can have a round trip done before this thread runs on.
                        crumfurs = s;
                    }
                    out.write(ackByte);
                    if (closeCrumfursAfterAck) {
                        return;
                    }
                    in.transferTo(OutputStream.nullOutputStream());
                    events.add(new Event("crumfurs closed", System.nanoTime()));
                } else if (head[17] != 2) {
                    events.add(new Event("command " + head[17], System.nanoTime())); // closed without a byte
                } else {
                    in.readUnsignedShort();
                    int type = in.readUnsignedByte();
                    in.readNBytes(type == 1 ? 4 : type == 3 ? 16 : in.readUnsignedByte());
                    events.add(new Event("udp", System.nanoTime()));
                    while (true) {
                        int length = in.read() << 8 | in.read();
                        if (length < 0) {
                            events.add(new Event("udp closed", System.nanoTime()));
                            return;
                        }
                        byte[] payload = in.readNBytes(length);
                        synchronized (out) {
                            out.write(ByteBuffer.allocate(2 + length).putShort((short) length).put(payload).array());
                        }
                    }
                }
            } catch (IOException | InterruptedException e) {
                // connection over
            }
        }

        /** Writes raw bytes on the current CRUMFURS. */
        void crumfursBytes(byte[] bytes) throws IOException {
            Socket s = crumfurs;
            assertNotNull(s, "no CRUMFURS open");
            s.getOutputStream().write(bytes);
        }

        /** Sends a UMFURS (IPv4 source) on the current CRUMFURS. */
        void umfurs(InetSocketAddress source, byte[] payload) throws IOException {
            Socket s = crumfurs;
            assertNotNull(s, "no CRUMFURS open");
            ByteBuffer b = ByteBuffer.allocate(9 + payload.length);
            b.put((byte) 1).put(source.getAddress().getAddress()).putShort((short) source.getPort())
                    .putShort((short) payload.length).put(payload);
            s.getOutputStream().write(b.array());
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }
}
