// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.concat;
import static dev.vless.server.testing.TestClient.header;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.SHORT_HANDSHAKE;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.testing.TcpEchoServer;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input with a fallback (ERR-2): the fallback, a recording echo server here, receives every byte the client sent,
 * header included, and its answers reach the client. Valid requests and refused destinations never reach it. The
 * server allows only 127.0.0.2 as a destination, so that 127.0.0.1 (where the fallback listens) is refused.
 */
class FallbackTest {

    static final TcpEchoServer fallback = start("127.0.0.1");
    static final TcpEchoServer target = start("127.0.0.2");

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b
            .handshakeTimeout(SHORT_HANDSHAKE)
            .fallback(fallback.address())
            .destinations(DestinationFilter.allowing(List.of(Cidr.parse("127.0.0.2/32")))));

    private static TcpEchoServer start(String ip) {
        try {
            return TcpEchoServer.start(ip, TcpEchoServer::echo);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static void stopTargets() throws IOException {
        fallback.close();
        target.close();
        assertThat(fallback.errors()).isEmpty();
    }

    static Stream<Arguments> badInputs() {
        InetSocketAddress t = target.address();
        byte[] portZero = header(v1(USER, VlessCommand.TCP, t));
        portZero[18] = 0;
        portZero[19] = 0;
        return Stream.of(
                Arguments.of("HDR-3 · unknown user, with payload", concat(header(v1(UUID.randomUUID(),
                        VlessCommand.TCP, t)), ascii("GET / HTTP/1.1\r\n\r\n"))),
                Arguments.of("VER-2 · an HTTP request", ascii("GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n")),
                Arguments.of("HDR-7 · Mux", header(VlessRequest.v1(USER, VlessCommand.MUX, null))),
                Arguments.of("HDR-8 · port 0", portZero),
                Arguments.of("HDR-3 · unknown user on CRUMFURS",
                        header(VlessRequest.crumfurs(UUID.randomUUID()))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInputs")
    @DisplayName("ERR-2 · the fallback receives every byte, header included, and its answer reaches the client")
    void fallbackGetsEveryByteAndAnswers(String what, byte[] bytes) throws Exception {
        int index = fallback.connections().size();
        long fallbacks = server.stats().fallbacks();
        try (TestClient c = server.connect()) {
            c.send(bytes);
            assertThat(c.readExactly(bytes.length)).as("the fallback's echo").isEqualTo(bytes);
            c.send(ascii("and more"));
            assertThat(c.readAscii(8)).isEqualTo("and more");
            c.shutdownOutput();
            TcpEchoServer.Connection conn = fallback.connection(index);
            assertThat(conn.awaitEnd(Duration.ofSeconds(5))).as("the client's end of stream reached the fallback")
                    .isTrue();
            assertThat(conn.received()).isEqualTo(concat(bytes, ascii("and more")));
            c.assertEndOfStream();
        }
        assertThat(server.stats().fallbacks()).isEqualTo(fallbacks + 1);
    }

    @Test
    @DisplayName("ERR-2, HDR-12 · a header cut short by end of stream goes to the fallback with its end of stream")
    void truncatedHeaderGoesToFallbackWithItsEnd() throws Exception {
        int index = fallback.connections().size();
        byte[] partial = Arrays.copyOf(header(v1(USER, VlessCommand.TCP, target.address())), 20);
        try (TestClient c = server.connect()) {
            c.send(partial);
            c.shutdownOutput();
            TcpEchoServer.Connection conn = fallback.connection(index);
            assertThat(conn.awaitEnd(Duration.ofSeconds(5))).as("end of stream reached the fallback").isTrue();
            assertThat(conn.received()).isEqualTo(partial);
            assertThat(c.readToEnd()).isEqualTo(partial);
        }
    }

    @Test
    @DisplayName("ERR-2, ERR-4 · a header still incomplete at the deadline goes to the fallback then")
    void stalledHeaderGoesToFallbackAtTheDeadline() throws Exception {
        int index = fallback.connections().size();
        byte[] partial = Arrays.copyOf(header(v1(USER, VlessCommand.TCP, target.address())), 10);
        try (TestClient c = server.connect()) {
            c.send(partial);
            assertThat(c.readExactly(partial.length)).isEqualTo(partial);
            assertThat(c.sinceConnect()).as("handed over at the deadline")
                    .isGreaterThanOrEqualTo(SHORT_HANDSHAKE.minusMillis(100));
            assertThat(fallback.connection(index).received()).isEqualTo(partial);
        }
    }

    @Test
    @DisplayName("ERR-2 · a valid request is relayed to its target and never reaches the fallback")
    void validRequestNeverReachesFallback() throws Exception {
        int before = fallback.connections().size();
        try (TestClient c = server.open(v1(USER, VlessCommand.TCP, target.address()), ascii("valid"))) {
            assertThat(c.readAscii(5)).isEqualTo("valid");
        }
        assertThat(fallback.connections()).hasSize(before);
    }

    @Test
    @DisplayName("DST-2 · a refused destination closes without a byte and without the fallback")
    void refusedDestinationNeverReachesFallback() throws Exception {
        int before = fallback.connections().size();
        long refused = server.stats().destinationsRefused();
        try (TestClient c = server.open(v1(USER, VlessCommand.TCP, new InetSocketAddress("127.0.0.1", 80)),
                ascii("payload"))) {
            c.assertNoByteAndClosedWithin(Duration.ofSeconds(3));
        }
        assertThat(server.stats().destinationsRefused()).isEqualTo(refused + 1);
        assertThat(fallback.connections()).hasSize(before);
    }
}
