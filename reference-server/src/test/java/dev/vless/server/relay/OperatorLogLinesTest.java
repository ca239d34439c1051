// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessAddress;
import dev.vless.server.Cidr;
import dev.vless.server.DestinationFilter;
import dev.vless.server.DestinationFilter.Kind;
import dev.vless.server.DestinationFilter.Refusal;
import dev.vless.server.testing.LogCapture;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetAddress;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The operator's lines word for word, for every kind of refusal, and the rate limit on a clock of the test's. */
class OperatorLogLinesTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "127.0.0.1:8080|127.0.0.1|loopback (DST-1); start the server with --allow-loopback to allow it",
        "[::1]:443|::1|loopback (DST-1); start the server with --allow-loopback to allow it",
        "10.1.2.3:80|10.1.2.3|private (DST-1); start the server with --allow-private, or --allow-destination "
                + "10.1.2.3/32 for this address alone, to allow it",
        "192.168.1.1:80|192.168.1.1|private (DST-1); start the server with --allow-private, or --allow-destination "
                + "192.168.1.1/32 for this address alone, to allow it",
        "100.64.0.1:80|100.64.0.1|shared address space (DST-1); start the server with --allow-private, or "
                + "--allow-destination 100.64.0.1/32 for this address alone, to allow it",
        "169.254.169.254:80|169.254.169.254|link-local (DST-1); start the server with --allow-private, or "
                + "--allow-destination 169.254.169.254/32 for this address alone, to allow it",
        "[fd00::1]:53|fd00::1|unique local (DST-1); start the server with --allow-private, or --allow-destination "
                + "fd00::1/128 for this address alone, to allow it",
        "[fe80::1]:53|fe80::1|link-local (DST-1); start the server with --allow-private, or --allow-destination "
                + "fe80::1/128 for this address alone, to allow it",
        "0.0.0.0:22|0.0.0.0|unspecified (DST-1); start the server with --allow-destination 0.0.0.0/32 to allow it",
        "224.0.0.1:5353|224.0.0.1|multicast (DST-1); start the server with --allow-destination 224.0.0.1/32 to "
                + "allow it",
        "255.255.255.255:9|255.255.255.255|reserved or broadcast (DST-1); start the server with --allow-destination "
                + "255.255.255.255/32 to allow it",
    })
    void refusedDestinations(String requested, String ip, String rest) throws Exception {
        InetAddress address = InetAddress.getByName(ip);
        Refusal refusal = DestinationFilter.secureDefault().refusalOf(address);
        String host = requested.substring(0, requested.lastIndexOf(':')).replace("[", "").replace("]", "");
        int port = Integer.parseInt(requested.substring(requested.lastIndexOf(':') + 1));

        assertThat(OperatorLog.refusedDestinationLine("127.0.0.1", VlessAddress.of(host, port), address, refusal))
                .isEqualTo("refused destination " + requested + " for client 127.0.0.1: " + rest);
    }

    @Test
    void aDomainIsShownWithTheAddressItResolvedTo() throws Exception {
        InetAddress ip = InetAddress.getByName("127.0.0.1");
        assertThat(OperatorLog.refusedDestinationLine("::1", VlessAddress.of("intranet.example", 443), ip,
                new Refusal(Kind.LOOPBACK, Cidr.parse("127.0.0.0/8"))))
                .isEqualTo("refused destination intranet.example:443 (127.0.0.1) for client ::1: loopback (DST-1); "
                        + "start the server with --allow-loopback to allow it");
    }

    @Test
    void anAddressOfTheServerNamesItsSingleRange() throws Exception {
        InetAddress ip = InetAddress.getByName("192.0.2.5");
        assertThat(OperatorLog.refusedDestinationLine("198.51.100.7", VlessAddress.of("192.0.2.5", 22), ip,
                new Refusal(Kind.OWN_ADDRESS, null)))
                .isEqualTo("refused destination 192.0.2.5:22 for client 198.51.100.7: an address of this server "
                        + "(DST-1); start the server with --allow-destination 192.0.2.5/32 to allow it");
    }

    @Test
    void anUnknownUserShowsEightHexDigits() {
        UUID user = UUID.fromString("a684455c-b14f-11ea-bf0d-42010aaa0003");
        assertThat(OperatorLog.unknownUserLine("127.0.0.1", user))
                .isEqualTo("bad input from 127.0.0.1: unknown user ID (first 8 hex: a684455c); check the link's UUID "
                        + "against --user/--users-file")
                .doesNotContain("b14f");
    }

    @Test
    void tlsFailuresSayWhyOnOneLine() {
        assertThat(OperatorLog.tlsFailedLine("127.0.0.1", new SSLHandshakeException("Received fatal alert: "
                + "certificate_unknown"))).isEqualTo("TLS handshake with client 127.0.0.1 failed: Received fatal "
                + "alert: certificate_unknown; the client does not trust the server certificate: give it the share "
                + "link the server printed (pcs= pins a self-signed certificate), or use --cert/--key with a "
                + "certificate its CAs trust");
        assertThat(OperatorLog.tlsFailedLine("::1", new SSLHandshakeException("error:10000416:SSL routines:"
                + "OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_UNKNOWN")))
                .contains("does not trust the server certificate");
        assertThat(OperatorLog.tlsFailedLine("::1", new SSLHandshakeException("Client requested protocol TLSv1.1 "
                + "is not enabled or supported in server context"))).endsWith("; the client speaks a TLS version "
                + "the server does not: the server accepts TLS 1.3 and 1.2 (TLS-2)");
        assertThat(OperatorLog.tlsFailedLine("::1", new SSLHandshakeException("no cipher suites in common")))
                .endsWith("; the client offers no cipher suite the server accepts for TLS 1.3 or 1.2");
        assertThat(OperatorLog.tlsFailedLine("::1", new ClosedChannelException()))
                .startsWith("TLS handshake with client ::1 failed: the client closed the connection during the "
                        + "handshake; a client that does not trust the certificate may just close");
        // Wrapped, multi-line, unknown: the innermost TLS message, on one line, and no advice it cannot back up.
        assertThat(OperatorLog.tlsFailedLine("::1", new io.netty.handler.codec.DecoderException(
                new SSLHandshakeException("something\nnew\tand odd"))))
                .isEqualTo("TLS handshake with client ::1 failed: something new and odd");
        assertThat(OperatorLog.tlsFailedLine("::1", new IllegalStateException("x")))
                .isEqualTo("TLS handshake with client ::1 failed: IllegalStateException: x");
    }

    @Test
    void plaintextClients() {
        assertThat(OperatorLog.plaintextOnTlsLine("127.0.0.1", 1)).isEqualTo("a plaintext client (VLESS version "
                + "byte 0x01) from 127.0.0.1 connected to the TLS port: the client's link needs security=tls, or run "
                + "the server with --plaintext-for-testing");
        assertThat(OperatorLog.plaintextOnTlsLine("127.0.0.1", 0)).contains("(VLESS version byte 0x00)");
        assertThat(OperatorLog.plaintextOnTlsLine("127.0.0.1", 'G')).as("not VLESS: the byte stays out")
                .doesNotContain("0x47").doesNotContain("G ").contains("does not speak TLS");
    }

    @Test
    void oneLinePerKindPerIntervalAndTheNextSaysHowManyWereHeldBack() {
        AtomicLong now = new AtomicLong();
        OperatorLog operatorLog = new OperatorLog(Duration.ofSeconds(10), now::get);
        EmbeddedChannel channel = new EmbeddedChannel();
        UUID user = UUID.fromString("0badc0de-1111-4222-8333-444455556666");
        try (LogCapture log = LogCapture.start()) {
            for (int i = 0; i < 5; i++) {
                operatorLog.unknownUser(channel, user);
                operatorLog.plaintextOnTls(channel, 1); // another kind: a limit of its own
            }
            now.addAndGet(Duration.ofSeconds(10).toNanos());
            operatorLog.unknownUser(channel, user);
            operatorLog.unknownUser(channel, user);

            List<String> lines = log.linesContaining("unknown user ID");
            assertThat(lines).hasSize(2);
            assertThat(lines.get(0)).contains(" INFO ").endsWith("check the link's UUID against --user/--users-file");
            assertThat(lines.get(1)).endsWith("check the link's UUID against --user/--users-file (4 more like this "
                    + "since the last such line were not logged)");
            assertThat(log.linesContaining("a plaintext client")).hasSize(1);
        } finally {
            channel.finishAndReleaseAll();
        }
    }
}
