// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vless.cli.Durations;
import dev.vless.cli.UsageException;
import dev.vless.server.Cidr;
import dev.vless.server.MappingPolicy;
import dev.vless.server.TlsConfig;
import dev.vless.server.VlessServer;
import dev.vless.server.VlessServerConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.io.Writer;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

class ServerCommandTest {

    private static final String U1 = "b831381d-6324-4d53-ad4f-8cda48b30811";
    private static final String U2 = "0f3e6a1c-2b4d-4e5f-8a9b-0c1d2e3f4a5b";

    @TempDir
    Path dir;

    // ---- options into the configuration ----

    @Test
    void defaultsFollowTheSpecification() throws Exception {
        VlessServerConfig c = config("--user", U1);

        assertThat(c.listenAddress()).isEqualTo(new InetSocketAddress("0.0.0.0", 8443));
        assertThat(c.users()).containsExactly(UUID.fromString(U1));
        assertThat(c.tls()).isEqualTo(TlsConfig.selfSigned("localhost"));
        assertThat(c.mappingPolicy()).isEqualTo(MappingPolicy.ENDPOINT_INDEPENDENT);
        assertThat(c.udpLifetime()).isEqualTo(Duration.ofSeconds(300));
        assertThat(c.handshakeTimeout()).isEqualTo(Duration.ofSeconds(4));
        assertThat(c.coolDown()).isEqualTo(Duration.ofSeconds(30));
        long fds = dev.vless.server.internal.FdLimit.processLimit(); // the default follows ulimit -n
        assertThat(c.maxCoolingSockets()).isEqualTo(dev.vless.server.internal.FdLimit.defaultMaxCoolingSockets(fds));
        assertThat(c.maxConnections())
                .isEqualTo(dev.vless.server.internal.FdLimit.defaultMaxConnections(fds, c.maxCoolingSockets()));
        assertThat(c.maxTableEntries()).isEqualTo(4096);
        assertThat(c.maxSocketsPerContext()).isEqualTo(64);
        assertThat(c.maxUdpConnectionsPerContext()).isEqualTo(256);
        assertThat(c.maxUnsentBytes()).isEqualTo(1 << 20);
        assertThat(c.maxContextsPerUser()).isEqualTo(8);
        assertThat(c.maxDatagramSize()).isEqualTo(65535);
        assertThat(c.fallback()).isNull();
        assertThat(c.destinations().allowed()).isEmpty();
        assertThat(c.destinations().refusal(InetAddress.getByName("127.0.0.1"))).isNotNull();
        assertThat(c.destinations().refusal(InetAddress.getByName("192.168.1.1"))).isNotNull();
        assertThat(c.outboundIpv4()).isNull();
        assertThat(c.outboundIpv6()).isNull();
        assertThat(c.statsInterval()).isEqualTo(Duration.ZERO);
        assertThat(c.ioThreads()).isZero();
        assertThat(c.transport()).isEqualTo(dev.vless.server.TransportChoice.AUTO);
        assertThat(c.udpMux()).isTrue();
        assertThat(c.maxMuxPerContext()).isEqualTo(8);
        assertThat(c.muxNewDestinationsPerSecond()).isEqualTo(5000);
    }

    @Test
    void transportAndReceiveBuffer() throws Exception {
        VlessServerConfig c = config("--user", U1, "--transport", "io_uring", "--udp-receive-buffer", "8388608");
        assertThat(c.transport()).isEqualTo(dev.vless.server.TransportChoice.IO_URING);
        assertThat(c.udpReceiveBuffer()).isEqualTo(8 << 20);
        assertThat(config("--user", U1, "--transport", "EPOLL").transport())
                .isEqualTo(dev.vless.server.TransportChoice.EPOLL);
        VlessServerConfig defaults = config("--user", U1);
        assertThat(defaults.udpReceiveBuffer()).isEqualTo(4 << 20);
        assertThatThrownBy(() -> config("--user", U1, "--transport", "kqueue"))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining("unknown transport 'kqueue' (expected: auto, epoll, io_uring or nio)");
        assertThatThrownBy(() -> config("--user", U1, "--udp-receive-buffer", "100"))
                .isInstanceOf(UsageException.class).hasMessageContaining("--udp-receive-buffer");
    }

    @Test
    void udpMuxOptions() throws Exception {
        VlessServerConfig c = config("--user", U1, "--udp-mux", "off", "--max-mux-per-context", "3",
                "--mux-new-destinations-per-second", "0");
        assertThat(c.udpMux()).isFalse();
        assertThat(c.maxMuxPerContext()).isEqualTo(3);
        assertThat(c.muxNewDestinationsPerSecond()).isZero();
        assertThat(config("--user", U1, "--udp-mux", "ON").udpMux()).isTrue();
        assertThatThrownBy(() -> config("--user", U1, "--udp-mux", "maybe"))
                .isInstanceOf(UsageException.class).hasMessageContaining("--udp-mux 'maybe'");
        assertThatThrownBy(() -> config("--user", U1, "--max-mux-per-context", "0"))
                .isInstanceOf(UsageException.class).hasMessageContaining("--max-mux-per-context");
    }

    @Test
    void setsEveryOptionInTheConfig() throws Exception {
        VlessServerConfig c = config("--listen", "127.0.0.1:0", "--user", U1, "--user", U2,
                "--plaintext-for-testing", "--mapping", "per-destination", "--udp-lifetime", "5m",
                "--handshake-timeout", "2500ms", "--cool-down", "0", "--max-connections", "10",
                "--max-table-entries", "11", "--max-sockets-per-context", "12", "--max-udp-connections-per-context",
                "13", "--max-unsent-bytes", "70000", "--max-contexts-per-user", "2", "--max-datagram-size", "1400",
                "--fallback", "127.0.0.1:8080", "--allow-destination", "203.0.113.0/24", "--allow-destination",
                "2001:db8::/32", "--outbound-ipv4", "127.0.0.1", "--outbound-ipv6", "::1", "--stats-interval", "1m",
                "--io-threads", "3", "--no-native", "--log-level", "debug");

        assertThat(c.listenAddress()).isEqualTo(new InetSocketAddress("127.0.0.1", 0));
        assertThat(c.users()).containsExactlyInAnyOrder(UUID.fromString(U1), UUID.fromString(U2));
        assertThat(c.tls().mode()).isEqualTo(TlsConfig.Mode.PLAINTEXT);
        assertThat(c.mappingPolicy()).isEqualTo(MappingPolicy.PER_DESTINATION);
        assertThat(c.udpLifetime()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.handshakeTimeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(c.coolDown()).isEqualTo(Duration.ZERO);
        assertThat(c.maxConnections()).isEqualTo(10);
        assertThat(c.maxTableEntries()).isEqualTo(11);
        assertThat(c.maxSocketsPerContext()).isEqualTo(12);
        assertThat(c.maxUdpConnectionsPerContext()).isEqualTo(13);
        assertThat(c.maxUnsentBytes()).isEqualTo(70000);
        assertThat(c.maxContextsPerUser()).isEqualTo(2);
        assertThat(c.maxDatagramSize()).isEqualTo(1400);
        assertThat(c.fallback()).isEqualTo(new InetSocketAddress("127.0.0.1", 8080));
        assertThat(c.destinations().allowed()).containsExactly(Cidr.parse("203.0.113.0/24"),
                Cidr.parse("2001:db8::/32"));
        assertThat(c.outboundIpv4()).isEqualTo(InetAddress.getByName("127.0.0.1"));
        assertThat(c.outboundIpv6()).isEqualTo(InetAddress.getByName("::1"));
        assertThat(c.statsInterval()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.ioThreads()).isEqualTo(3);
        assertThat(c.transport()).isEqualTo(dev.vless.server.TransportChoice.NIO);
    }

    @Test
    void acceptsEqualsSignsAndBracketedIpv6() throws Exception {
        VlessServerConfig c = config("--user=" + U1, "--listen=[::1]:9443", "--mapping=eim");

        assertThat(c.listenAddress()).isEqualTo(new InetSocketAddress("::1", 9443));
        assertThat(c.mappingPolicy()).isEqualTo(MappingPolicy.ENDPOINT_INDEPENDENT);
    }

    @Test
    void tlsProviderChoosesTheEngine() throws Exception {
        assertThat(config("--user", U1).tls().provider()).isEqualTo(TlsConfig.Provider.OPENSSL);
        assertThat(config("--user", U1, "--tls-provider", "jdk").tls())
                .isEqualTo(TlsConfig.selfSigned("localhost").withProvider(TlsConfig.Provider.JDK));
    }

    @Test
    void selfSignedNameNamesTheCertificate() throws Exception {
        assertThat(config("--user", U1, "--self-signed-name", "vpn.example.com").tls())
                .isEqualTo(TlsConfig.selfSigned("vpn.example.com"));
    }

    @Test
    void allowLoopbackAndAllowPrivateOpenTheirRanges() throws Exception {
        VlessServerConfig loopback = config("--user", U1, "--allow-loopback");
        assertThat(loopback.destinations().refusal(InetAddress.getByName("127.0.0.1"))).isNull();
        assertThat(loopback.destinations().refusal(InetAddress.getByName("::1"))).isNull();
        assertThat(loopback.destinations().refusal(InetAddress.getByName("10.0.0.1"))).isNotNull();

        VlessServerConfig priv = config("--user", U1, "--allow-private");
        for (String ip : List.of("10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1",
                "169.254.1.1", "fd00::1", "fe80::1")) {
            assertThat(priv.destinations().refusal(InetAddress.getByName(ip))).as(ip).isNull();
        }
        assertThat(priv.destinations().refusal(InetAddress.getByName("127.0.0.1"))).isNotNull();
        assertThat(priv.destinations().refusal(InetAddress.getByName("224.0.0.1"))).isNotNull();
    }

    @Test
    void shortLifetimeNeedsTheTestingFlag() throws Exception {
        assertThat(error("--user", U1, "--udp-lifetime", "60s")).isEqualTo("--udp-lifetime 60s is below the 120 s "
                + "that RFC 4787 REQ-5 requires (spec LIF-2); give at least 120s, or add "
                + "--allow-short-udp-lifetime-for-testing in tests");

        assertThat(config("--user", U1, "--udp-lifetime", "2s", "--allow-short-udp-lifetime-for-testing")
                .udpLifetime()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config("--user", U1, "--udp-lifetime", "120s").udpLifetime()).isEqualTo(Duration.ofSeconds(120));
    }

    // ---- users ----

    @Test
    void combinesUsersAndUsersFileInOrderWithoutDuplicates() throws Exception {
        Path file = write("users.txt", U2 + "\n" + U1 + "\n");

        assertThat(ServerCommand.parse("--user", U1, "--users-file", file.toString()).users())
                .containsExactly(UUID.fromString(U1), UUID.fromString(U2));
    }

    @Test
    void usersFileIgnoresCommentsBlankLinesAndByteOrderMark() throws Exception {
        Path file = write("users.txt", "\uFEFF# the team\n\n" + U1 + "   # alice\n   \n\t" + U2.toUpperCase()
                + "\r\n# bob left\n");

        assertThat(OptionValues.usersFile(file)).containsExactly(UUID.fromString(U1), UUID.fromString(U2));
    }

    @Test
    void usersFileNamesTheBadLine() throws Exception {
        Path file = write("users.txt", "# ok\n" + U1 + "\nnot-a-uuid\n");

        assertThat(error("--users-file", file.toString())).isEqualTo("--users-file " + file + " line 3: "
                + "'not-a-uuid' is not a UUID (expected one UUID per line, # for comments; generate one with: "
                + "cat /proc/sys/kernel/random/uuid)");
    }

    @Test
    void usersFileWithoutUsersIsAnErrorWhenNoUserIsGiven() throws Exception {
        Path file = write("users.txt", "# nobody yet\n\n");

        assertThat(error("--users-file", file.toString())).isEqualTo("--users-file " + file + " holds no UUID "
                + "(expected: one UUID per line; generate one with: cat /proc/sys/kernel/random/uuid)");
        assertThat(config("--users-file", file.toString(), "--user", U1).users())
                .containsExactly(UUID.fromString(U1));
    }

    @Test
    void missingOrUnreadableUsersFileIsAnError() throws Exception {
        Path missing = dir.resolve("nope.txt");
        assertThat(error("--users-file", missing.toString())).isEqualTo("--users-file " + missing
                + ": no such file (expected: a text file with one UUID per line)");

        assertThat(error("--users-file", dir.toString())).startsWith("--users-file " + dir + ": cannot read it (")
                .endsWith("); give a readable text file with one UUID per line");
    }

    @Test
    void noUsersAtAllIsAnError() {
        assertThat(error()).isEqualTo("no users: give --user UUID (repeatable) or --users-file PATH (generate one "
                + "with: cat /proc/sys/kernel/random/uuid)");
    }

    @ParameterizedTest
    @CsvSource({"xyz", "1-2-3-4-5", "b831381d6324-4d53-ad4f-8cda48b30811", "b831381d-6324-4d53-ad4f-8cda48b3081"})
    void rejectsWhatIsNotACanonicalUuid(String text) {
        assertThat(error("--user", text)).isEqualTo("--user '" + text + "' is not a UUID (expected 36 characters "
                + "such as b831381d-6324-4d53-ad4f-8cda48b30811; generate one with: cat /proc/sys/kernel/random/uuid)");
    }

    // ---- durations ----

    @ParameterizedTest
    @CsvSource({"300s, 300000", "5m, 300000", "1h30m, 5400000", "500ms, 500", "300, 300000", "0, 0", "PT5M, 300000",
        "1d, 86400000", "2m30s, 150000", " 45S , 45000", "1.5s, 1500"})
    void parsesDurations(String text, long millis) throws Exception {
        assertThat(OptionValues.duration("--x", text)).isEqualTo(Duration.ofMillis(millis));
    }

    @ParameterizedTest
    @CsvSource({"5x", "''", "-1s", "m", "1.5x", "s30", "30s5", "P", "9999999999999h"})
    void rejectsWhatIsNotADuration(String text) {
        assertThatThrownBy(() -> OptionValues.duration("--cool-down", text))
                .isInstanceOf(UsageException.class)
                .hasMessage("--cool-down '" + text + "' is not a duration (expected: a number with a unit, such as "
                        + "300s, 5m, 1h30m or 500ms)");
    }

    // ---- every error is one actionable line ----

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "--listen 1.2.3.4|--listen '1.2.3.4' has no port (expected: HOST:PORT such as 0.0.0.0:8443 or [::]:8443)",
        "--listen ::1:8443|--listen '::1:8443': put an IPv6 address in brackets (expected: such as [::]:8443 or "
                + "[::1]:8443)",
        "--listen [zz]:1|--listen '[zz]:1': 'zz' in brackets is not an IPv6 address (expected: such as [::]:8443 or "
                + "[2001:db8::1]:443)",
        "--listen 127.0.0.1:99999|--listen '127.0.0.1:99999': '99999' is not a port (expected: 0-65535, 0 for any "
                + "free port)",
        "--listen :8443|--listen ':8443' has no host (expected: HOST:PORT such as 0.0.0.0:8443 or [::]:8443)",
        "--fallback 127.0.0.1:0|--fallback '127.0.0.1:0': '0' is not a port (expected: 1-65535)",
        "--fallback no-such-host.invalid:80|--fallback: cannot resolve host 'no-such-host.invalid' (give an IP "
                + "address or a name this machine can resolve)",
        "--mapping full-cone|--mapping 'full-cone' is not a mapping policy (expected: eim or per-destination)",
        "--tls-provider boringssl|--tls-provider boringssl is unknown (expected: jdk or openssl)",
        "--udp-lifetime 0s|--udp-lifetime must be longer than zero (expected: such as 300s or 5m)",
        "--handshake-timeout 0|--handshake-timeout must be longer than zero (expected: such as 4s; clients need time "
                + "for TLS and the request header)",
        "--allow-destination 10.0.0.0/40|--allow-destination '10.0.0.0/40': prefix /40 (expected: 0-32)",
        "--allow-destination intranet|--allow-destination 'intranet' is not an IP range (expected: CIDR such as "
                + "127.0.0.0/8 or ::1/128)",
        "--outbound-ipv4 ::1|--outbound-ipv4 '::1' is not an IPv4 address (expected: an IPv4 address such as "
                + "192.0.2.10 of this host)",
        "--outbound-ipv6 127.0.0.1|--outbound-ipv6 '127.0.0.1' is not an IPv6 address (expected: an IPv6 address "
                + "such as 2001:db8::10 of this host)",
        "--outbound-ipv4 192.0.2.1|--outbound-ipv4 192.0.2.1 is not an address of this host (give one that `ip addr`"
                + " lists, or leave the option out to send from the IPv4 wildcard)",
        "--max-connections 0|--max-connections 0 (expected: at least 1)",
        "--max-unsent-bytes 1000|--max-unsent-bytes 1000 (expected: at least 65536)",
        "--max-datagram-size 70000|--max-datagram-size 70000 (expected: 0-65535)",
        "--log-level loud|--log-level 'loud' is not a level (expected: error, warn, info or debug)",
        "--cert /x.pem|--cert needs --key: give the PEM private key (unencrypted PKCS#8) that matches /x.pem",
        "--key /k.pem|--key needs --cert: give the PEM certificate chain that matches /k.pem",
        "--plaintext-for-testing --cert /c --key /k|--plaintext-for-testing turns TLS off, so --cert and --key "
                + "cannot be used with it; drop one or the other",
        "--plaintext-for-testing --self-signed-name x|--plaintext-for-testing turns TLS off, so --self-signed-name "
                + "cannot be used with it; drop one or the other",
        "--cert /nonexistent/c.pem --key /nonexistent/k.pem|--cert /nonexistent/c.pem: no such file (expected: a "
                + "PEM certificate chain)",
    })
    void reportsWhatIsWrongAndWhatToDo(String args, String message) {
        List<String> argv = new ArrayList<>(List.of("--user", U1));
        argv.addAll(List.of(args.split(" ")));

        assertThat(error(argv.toArray(String[]::new))).isEqualTo(message);

        Run run = run(argv.toArray(String[]::new));
        assertThat(run.code).isEqualTo(2);
        assertThat(run.err).isEqualTo("vless-server: " + message + System.lineSeparator());
        assertThat(run.out).isEmpty();
    }

    @Test
    void picocliErrorsAreOneLineWithExitCodeTwo() {
        Run unknown = run("--user", U1, "--bogus");
        assertThat(unknown.code).isEqualTo(2);
        assertThat(unknown.err).isEqualTo("vless-server: Unknown option: '--bogus' (see vless-server --help)"
                + System.lineSeparator());

        Run notInt = run("--user", U1, "--max-connections", "many");
        assertThat(notInt.code).isEqualTo(2);
        assertThat(notInt.err).isEqualTo("vless-server: Invalid value for option '--max-connections': 'many' is not "
                + "an int (see vless-server --help)" + System.lineSeparator());
    }

    // ---- TLS files ----

    @Test
    void acceptsAMatchingCertificateAndKey() throws Exception {
        KeyPair pair = ecKeyPair();
        Path cert = writePem("cert.pem", certificate(pair));
        Path key = writePem("key.pem", pair.getPrivate());

        TlsConfig tls = config("--user", U1, "--cert", cert.toString(), "--key", key.toString()).tls();

        assertThat(tls.mode()).isEqualTo(TlsConfig.Mode.PEM);
        assertThat(tls.certificate()).isEqualTo(cert);
        assertThat(tls.privateKey()).isEqualTo(key);
    }

    @Test
    void rejectsAKeyThatDoesNotBelongToTheCertificate() throws Exception {
        Path cert = writePem("cert.pem", certificate(ecKeyPair()));
        Path key = writePem("other.pem", ecKeyPair().getPrivate());

        assertThat(error("--user", U1, "--cert", cert.toString(), "--key", key.toString())).isEqualTo("--key " + key
                + " does not belong to --cert " + cert + " (its EC key does not match the certificate's EC public "
                + "key); give the key the certificate was issued for");
    }

    @Test
    void rejectsFilesThatHoldTheWrongThing() throws Exception {
        KeyPair pair = ecKeyPair();
        Path cert = writePem("cert.pem", certificate(pair));
        Path key = writePem("key.pem", pair.getPrivate());

        assertThat(error("--user", U1, "--cert", key.toString(), "--key", key.toString())).isEqualTo("--cert " + key
                + " is not a PEM certificate (expected: a file starting with -----BEGIN CERTIFICATE-----, the "
                + "server's certificate first, then its chain)");
        assertThat(error("--user", U1, "--cert", cert.toString(), "--key", cert.toString())).isEqualTo("--key "
                + cert + " holds no PEM private key (expected: a file starting with -----BEGIN PRIVATE KEY-----)");
        assertThat(error("--user", U1, "--cert", cert.toString(), "--key", key.toString(), "--self-signed-name",
                "x")).isEqualTo("--self-signed-name applies only without --cert; drop it (the certificate names the "
                + "host)");
    }

    // ---- help, version, public host ----

    @Test
    void helpListsEveryOptionWithADescription() {
        Run help = run("--help");

        assertThat(help.code).isZero();
        CommandLine cl = ServerCommand.commandLine(new ServerCommand());
        for (OptionSpec option : cl.getCommandSpec().options()) {
            assertThat(help.out).contains(option.longestName());
            assertThat(String.join(" ", option.description())).as(option.longestName()).isNotBlank();
        }
        for (String name : List.of("--listen", "--user", "--users-file", "--cert", "--key", "--self-signed-name",
                "--plaintext-for-testing", "--tls-provider", "--mapping", "--udp-lifetime",
                "--allow-short-udp-lifetime-for-testing",
                "--handshake-timeout", "--cool-down", "--max-connections", "--max-table-entries",
                "--max-sockets-per-context", "--max-udp-connections-per-context", "--max-unsent-bytes",
                "--max-contexts-per-user", "--max-datagram-size", "--fallback", "--allow-destination",
                "--allow-loopback", "--allow-private", "--outbound-ipv4", "--outbound-ipv6", "--stats-interval",
                "--io-threads", "--no-native", "--log-level", "--public-host", "--version", "--help")) {
            assertThat(help.out).contains(name);
        }
        assertThat(help.out).contains("(default: 0.0.0.0:8443)", "(default: 300s)", "(default: localhost)",
                "(default: eim)", "(default: 4s)");
    }

    @Test
    void helpSaysTheDurationSyntaxOnceAndListsTheExitCodes() {
        Run help = run("--help");

        String flowed = help.out.replaceAll("\\s+", " ");
        assertThat(flowed.split(Pattern.quote(Durations.SYNTAX), -1)).as("the syntax sentence, once").hasSize(2);
        assertThat(help.out).contains("Exit codes:");
        assertThat(flowed).contains("0 stopped by SIGTERM or SIGINT, or --help/--version",
                "1 the server could not start (for example the port is in use)",
                "2 bad command line (the message says what to change)");
    }

    @Test
    void versionNamesTheProduct() {
        Run version = run("--version");

        assertThat(version.code).isZero();
        assertThat(version.out).startsWith("vless-server ").contains("Netty 4.");
    }

    @Test
    void publicHostIsTheListenHostUnlessListeningOnAWildcard() throws Exception {
        assertThat(ServerCommand.parse("--listen", "127.0.0.1:1").publicHost()).isEqualTo("127.0.0.1");
        assertThat(ServerCommand.parse("--listen", "[::1]:1").publicHost()).isEqualTo("::1");
        assertThat(ServerCommand.parse("--listen", "[::]:1", "--public-host", "vpn.example.com").publicHost())
                .isEqualTo("vpn.example.com");
        assertThat(ServerCommand.parse("--listen", "0.0.0.0:1").publicHost())
                .isEqualTo(InetAddress.getLocalHost().getHostName());
    }

    // ---- running ----

    @Test
    void startsPrintsAShareLinkAndStopsWithFinalStats() {
        AtomicReference<String> link = new AtomicReference<>();
        AtomicReference<Integer> port = new AtomicReference<>();
        AtomicReference<String> stopOutput = new AtomicReference<>();

        Run run = run(server -> {
            port.set(server.localAddress().getPort());
            link.set(server.shareLink(UUID.fromString(U1), "127.0.0.1", "127.0.0.1"));
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
            assertThat(ServerCommand.stop(server, out, out)).isZero();
            stopOutput.set(bytes.toString(StandardCharsets.UTF_8));
        }, "--user", U1, "--listen", "127.0.0.1:0", "--plaintext-for-testing", "--log-level", "warn");

        assertThat(run.code).isZero();
        assertThat(port.get()).isPositive();
        assertThat(run.out).contains("listening on 127.0.0.1:" + port.get() + " (transport ", "TLS: off");
        Matcher m = Pattern.compile("share link: (\\S+)").matcher(run.out);
        assertThat(m.find()).isTrue();
        assertThat(m.group(1)).isEqualTo(link.get())
                .isEqualTo("vless://" + U1 + "@127.0.0.1:" + port.get()
                        + "?encryption=none&type=tcp&security=none#127.0.0.1");
        assertThat(run.err).contains("WARNING: --plaintext-for-testing: TLS is OFF");
        assertThat(stopOutput.get()).contains("stopped; final stats: connections accepted=0");
    }

    @Test
    void aPortInUseExitsWithOne() throws Exception {
        try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Run run = run("--user", U1, "--listen", "127.0.0.1:" + busy.getLocalPort(), "--plaintext-for-testing");

            assertThat(run.code).isEqualTo(1);
            assertThat(run.err).contains("vless-server: cannot listen on 127.0.0.1:" + busy.getLocalPort() + ": ")
                    .contains("(choose another --listen port or address, or stop the program that holds it)")
                    .doesNotContain("\tat ");
        }
    }

    // ---- helpers ----

    private static VlessServerConfig config(String... args) throws UsageException {
        return ServerCommand.parse(args).toConfig();
    }

    private static String error(String... args) {
        try {
            config(args);
        } catch (UsageException e) {
            return e.getMessage();
        }
        throw new AssertionError("accepted: " + String.join(" ", args));
    }

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        return run(server -> {
            server.stop().join();
            throw new AssertionError("started with: " + String.join(" ", args));
        }, args);
    }

    private static Run run(Consumer<VlessServer> whileRunning, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = ServerCommand.run(args, o, e, whileRunning);
        }
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
    }

    private Path writePem(String name, Object object) throws IOException {
        Writer text = new StringWriter();
        try (JcaPEMWriter pem = new JcaPEMWriter(text)) {
            pem.writeObject(object instanceof java.security.PrivateKey k
                    ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null) : object);
        }
        return write(name, text.toString());
    }

    private static KeyPair ecKeyPair() throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(new ECGenParameterSpec("secp256r1"));
        return gen.generateKeyPair();
    }

    private static java.security.cert.X509Certificate certificate(KeyPair pair) throws Exception {
        X500Name name = new X500Name("CN=vpn.example.com");
        Instant now = Instant.now();
        return new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name, BigInteger.ONE,
                Date.from(now.minusSeconds(60)), Date.from(now.plusSeconds(3600)), name, pair.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
    }
}
