// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.concat;
import static dev.vless.server.testing.TestClient.header;
import static dev.vless.server.testing.TestClient.v0;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.SHORT_HANDSHAKE;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessVersion;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HexFormat;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bad input without a fallback (§15): whatever the check that fails, the server sends no byte, reads on until the
 * handshake deadline (500 ms here) and then closes, and it goes on serving everyone else. A suite allows the
 * deadline plus 1 s; closing clearly before the deadline would tell a prober which check failed (ERR-3).
 */
class BadInputTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b.handshakeTimeout(SHORT_HANDSHAKE));

    /** Earliest acceptable close: the deadline runs from accept, a moment after our connect. */
    static final Duration EARLIEST = SHORT_HANDSHAKE.minusMillis(100);
    /** Latest acceptable close (ERR-4: the deadline plus 1 s). */
    static final Duration LATEST = SHORT_HANDSHAKE.plusSeconds(1);

    private static TcpEchoServer echo;

    @BeforeAll
    static void startEcho() throws IOException {
        echo = TcpEchoServer.start();
    }

    @AfterAll
    static void stopEcho() throws IOException {
        echo.close();
    }

    static InetSocketAddress echoAddress() {
        return echo.address();
    }

    /** A v1 header built field by field, so that fields the codec would refuse to encode can be written. */
    static byte[] v1Raw(UUID user, int command, int port, int addressType, byte[] address) {
        ByteBuffer b = ByteBuffer.allocate(1 + 16 + 1 + 2 + 1 + address.length);
        b.put((byte) 1).putLong(user.getMostSignificantBits()).putLong(user.getLeastSignificantBits());
        b.put((byte) command).putShort((short) port).put((byte) addressType).put(address);
        return b.array();
    }

    static byte[] loopback() {
        return new byte[] {127, 0, 0, 1};
    }

    /** One kind of bad input, named by the rule it breaks. */
    record Case(String what, byte[] bytes) {
    }

    static Stream<Case> badInputs() {
        int port = echoAddress().getPort();
        byte[] valid = header(v1(USER, VlessCommand.TCP, echoAddress()));
        byte[] badVersion = valid.clone();
        badVersion[0] = 2;
        byte[] v0Crumfurs = new byte[19];
        System.arraycopy(header(v0(USER, VlessCommand.TCP, echoAddress())), 0, v0Crumfurs, 0, 18);
        v0Crumfurs[18] = 4;
        byte[] v0Mux = v0Crumfurs.clone();
        v0Mux[18] = 5;
        return Stream.of(
                new Case("HDR-3 · unknown user ID", concat(header(v1(UUID.randomUUID(), VlessCommand.TCP,
                        echoAddress())), ascii("payload"))),
                new Case("HDR-3 · unknown user ID (v0)", header(v0(UUID.randomUUID(), VlessCommand.TCP,
                        echoAddress()))),
                new Case("HDR-3 · unknown user ID on CRUMFURS", header(VlessRequest.crumfurs(UUID.randomUUID()))),
                new Case("VER-2 · version 2", badVersion),
                new Case("VER-2 · an HTTP request", ascii("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")),
                new Case("VER-2 · a TLS ClientHello on a plaintext port", new byte[] {0x16, 0x03, 0x01, 0x00,
                        (byte) 0xa5, 0x01, 0x00, 0x00, (byte) 0xa1, 0x03, 0x03}),
                new Case("HDR-5 · command 0", v1Raw(USER, 0, port, 1, loopback())),
                new Case("HDR-5 · command 6", v1Raw(USER, 6, port, 1, loopback())),
                new Case("HDR-5 · command 255", v1Raw(USER, 255, port, 1, loopback())),
                new Case("HDR-7 · command 3 (Mux)", header(VlessRequest.v1(USER, VlessCommand.MUX, null))),
                new Case("HDR-7 · command 3 (Mux) in v0, as v0 clients send it", concat(
                        header(VlessRequest.v0(USER, VlessCommand.MUX, null)),
                        new byte[] {0x02, (byte) 0x9a, 0x02, 11}, ascii("v1.mux.cool"))),
                new Case("HDR-6 · command 4 (CRUMFURS) in v0", v0Crumfurs),
                new Case("MUX-1 · command 5 (UDP-MUX) in v0", v0Mux),
                new Case("ADR-1 · address type 0", v1Raw(USER, 1, port, 0, loopback())),
                new Case("ADR-1 · address type 4 (SOCKS5's IPv6)", v1Raw(USER, 1, port, 4, new byte[16])),
                new Case("HDR-8 · port 0", v1Raw(USER, 1, 0, 1, loopback())),
                new Case("HDR-8 · port 0 on UDP", v1Raw(USER, 2, 0, 1, loopback())),
                new Case("ADR-2 · empty domain name", v1Raw(USER, 1, port, 2, new byte[] {0})),
                new Case("ADR-3 · domain name with a space", v1Raw(USER, 1, port, 2,
                        concat(new byte[] {9}, ascii("local ost")))),
                new Case("ADR-3 · domain name with a NUL byte", v1Raw(USER, 1, port, 2,
                        new byte[] {3, 'a', 0, 'b'})));
    }

    /** After each refusal the server still serves: an echo through it works. */
    static void assertStillServes() throws IOException {
        try (TestClient c = server.open(v1(USER, VlessCommand.TCP, echoAddress()), ascii("still serving"))) {
            assertThat(c.readAscii(13)).isEqualTo("still serving");
        }
    }

    @Test
    @DisplayName("ERR-1, ERR-2, ERR-3, ERR-5 · every kind of bad input: no byte, closed at the deadline, server unaffected")
    void badInputGetsNoByteAndClosesAtTheDeadline() throws Exception {
        List<String> labels = new ArrayList<>();
        List<byte[]> inputs = new ArrayList<>();
        badInputs().forEach(c -> {
            labels.add(c.what());
            inputs.add(c.bytes());
        });
        long before = server.stats().badInput();
        assertAllClosedAtTheDeadlineWithoutAByte(labels, inputs, false);
        assertThat(server.stats().badInput()).isEqualTo(before + inputs.size());
        assertStillServes();
    }

    /**
     * Opens one connection per input, all at once so that the whole matrix costs one deadline, sends the input (and
     * ends the stream if asked), and checks, with a watcher per connection, that each receives no byte and is closed
     * no earlier than {@link #EARLIEST} and no later than {@link #LATEST} after its connect.
     */
    static void assertAllClosedAtTheDeadlineWithoutAByte(List<String> labels, List<byte[]> inputs, boolean endStream)
            throws Exception {
        List<TestClient> clients = new ArrayList<>();
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "bad-input-watcher");
            t.setDaemon(true);
            return t;
        });
        try {
            List<CompletableFuture<Duration>> closes = new ArrayList<>();
            for (byte[] input : inputs) {
                TestClient c = server.connect();
                clients.add(c);
                c.send(input);
                if (endStream) {
                    c.shutdownOutput();
                }
                closes.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return c.assertNoByteAndClosedWithin(LATEST);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }, pool));
            }
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < closes.size(); i++) {
                try {
                    Duration d = closes.get(i).get(10, TimeUnit.SECONDS);
                    if (d.compareTo(EARLIEST) < 0) {
                        failures.add(labels.get(i) + ": closed after " + d.toMillis() + " ms, before the deadline");
                    }
                } catch (ExecutionException e) {
                    failures.add(labels.get(i) + ": " + e.getCause().getMessage());
                }
            }
            assertThat(failures).isEmpty();
        } finally {
            pool.shutdownNow();
            for (TestClient c : clients) {
                c.close();
            }
        }
    }

    @Test
    @DisplayName("ERR-2 · bytes sent after the bad input are read and discarded, and the close still waits for the deadline")
    void moreBytesAfterBadInputDoNotChangeTheOutcome() throws Exception {
        try (TestClient c = server.connect()) {
            c.send(header(v1(UUID.randomUUID(), VlessCommand.TCP, echoAddress())));
            for (int i = 0; i < 5; i++) {
                Thread.sleep(50);
                c.send(new byte[4096]);
            }
            assertThat(c.assertNoByteAndClosedWithin(LATEST)).isGreaterThanOrEqualTo(EARLIEST);
        }
        assertStillServes();
    }

    @Test
    @DisplayName("ERR-3 · an end of stream after the bad input does not bring the close forward")
    void endOfStreamAfterBadInputStillClosesAtTheDeadline() throws Exception {
        try (TestClient c = server.connect()) {
            c.send(header(v1(UUID.randomUUID(), VlessCommand.TCP, echoAddress())));
            Thread.sleep(100); // the server has judged the header before the end of stream arrives
            c.shutdownOutput();
            assertThat(c.assertNoByteAndClosedWithin(LATEST)).isGreaterThanOrEqualTo(EARLIEST);
        }
    }

    @Test
    @DisplayName("ERR-4 · a header that never completes is closed at the deadline without a byte")
    void stalledHeaderIsClosedAtTheDeadline() throws IOException {
        long timeouts = server.stats().handshakeTimeouts();
        try (TestClient c = server.connect()) {
            byte[] valid = header(v1(USER, VlessCommand.TCP, echoAddress()));
            c.send(Arrays.copyOf(valid, 20));
            assertThat(c.assertNoByteAndClosedWithin(LATEST)).isGreaterThanOrEqualTo(EARLIEST);
        }
        assertThat(server.stats().handshakeTimeouts()).isEqualTo(timeouts + 1);
        assertStillServes();
    }

    @Test
    @DisplayName("ERR-4 · a connection that sends nothing at all is closed at the deadline")
    void silentConnectionIsClosedAtTheDeadline() throws IOException {
        try (TestClient c = server.connect()) {
            assertThat(c.assertNoByteAndClosedWithin(LATEST)).isGreaterThanOrEqualTo(EARLIEST);
        }
    }

    @Test
    @DisplayName("ERR-4 · arriving bytes never extend the deadline: a header trickling in too slowly is cut off")
    void trickleDoesNotExtendTheDeadline() throws Exception {
        byte[] valid = header(v1(USER, VlessCommand.TCP, echoAddress())); // 25 bytes at 50 ms: 1.25 s
        try (TestClient c = server.connect()) {
            CompletableFuture<Void> trickle = CompletableFuture.runAsync(() -> {
                try {
                    for (byte b : valid) {
                        c.send(new byte[] {b});
                        Thread.sleep(50);
                    }
                } catch (IOException | InterruptedException e) {
                    // the server closed on us, as it should
                }
            });
            assertThat(c.assertNoByteAndClosedWithin(LATEST)).isGreaterThanOrEqualTo(EARLIEST);
            trickle.get(5, TimeUnit.SECONDS);
        }
    }

    /** Valid headers of every shape, each to be cut short at every byte. */
    static List<byte[]> headersToTruncate() {
        List<byte[]> out = new ArrayList<>();
        out.add(header(v1(USER, VlessCommand.TCP, echoAddress())));
        out.add(header(VlessRequest.v1(USER, VlessCommand.UDP, VlessAddress.of("localhost", 53))));
        out.add(header(VlessRequest.v1(USER, VlessCommand.TCP, new VlessAddress(VlessAddressType.IPV6, "::1", 80))));
        out.add(header(new VlessRequest(VlessVersion.V0, USER, new byte[] {0x0a, 0x00},
                VlessCommand.TCP, VlessAddress.of("127.0.0.1", 80))));
        out.add(header(VlessRequest.crumfurs(USER)));
        return out;
    }

    @Test
    @DisplayName("HDR-12, ERR-3 · a stream that ends at any byte of any header: no byte, closed at the deadline")
    void streamEndingInsideTheHeaderIsBadInput() throws Exception {
        List<String> labels = new ArrayList<>();
        List<byte[]> inputs = new ArrayList<>();
        for (byte[] h : headersToTruncate()) {
            for (int cut = 0; cut < h.length; cut++) {
                labels.add(cut + " of " + h.length + " bytes of " + HexFormat.of().formatHex(h));
                inputs.add(Arrays.copyOf(h, cut));
            }
        }
        assertAllClosedAtTheDeadlineWithoutAByte(labels, inputs, true);
        assertStillServes();
    }
}
