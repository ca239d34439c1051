// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vless.cli.Durations;
import dev.vless.cli.UsageException;
import dev.vless.client.UdpMode;
import dev.vless.client.UpstreamTls;
import dev.vless.client.VlessClient;
import dev.vless.client.VlessClientConfig;
import dev.vless.client.testing.Socks5;
import dev.vless.client.testing.TcpEchoServer;
import dev.vless.codec.VlessVersion;
import dev.vless.server.DestinationFilter;
import dev.vless.server.VlessServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientCommandTest {

    private static final String ID = "b831381d-6324-4d53-ad4f-8cda48b30811";
    private static final String PIN = "09E288D5A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293ACC83";
    private static final String LINK = "vless://" + ID + "@127.0.0.1:8443?security=tls&sni=localhost&pcs=" + PIN;

    @Test
    void turnsOptionsIntoAConfiguration() throws Exception {
        VlessClientConfig c = ClientCommand.parse("--server", LINK, "--socks", "[::1]:1081", "--socks-user", "u",
                "--socks-pass", "p", "--v0", "--udp-idle", "2m30s").toConfig();
        assertThat(c.serverHost()).isEqualTo("127.0.0.1");
        assertThat(c.serverPort()).isEqualTo(8443);
        assertThat(c.user()).isEqualTo(UUID.fromString(ID));
        assertThat(c.tls()).isEqualTo(UpstreamTls.pinned("localhost", java.util.List.of(PIN)));
        assertThat(c.socksAddress()).isEqualTo(new InetSocketAddress("::1", 1081));
        assertThat(c.socksUser()).isEqualTo("u");
        assertThat(c.socksPassword()).isEqualTo("p");
        assertThat(c.version()).isEqualTo(VlessVersion.V0);
        assertThat(c.udpIdle()).isEqualTo(Duration.ofSeconds(150));
    }

    @Test
    void hasTheDocumentedDefaults() throws Exception {
        VlessClientConfig c = ClientCommand.parse("--server", LINK).toConfig();
        assertThat(c.socksAddress()).isEqualTo(new InetSocketAddress("127.0.0.1", 1080));
        assertThat(c.socksAuthRequired()).isFalse();
        assertThat(c.version()).isEqualTo(VlessVersion.V1);
        assertThat(c.udpIdle()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.udpMode()).isEqualTo(UdpMode.PER_REMOTE);
        assertThat(c.muxAnswerTimeout()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void choosesTheUdpMode() throws Exception {
        VlessClientConfig c = ClientCommand.parse("--server", LINK, "--udp-mode", "mux", "--mux-answer-timeout",
                "1.5s").toConfig();
        assertThat(c.udpMode()).isEqualTo(UdpMode.MUX);
        assertThat(c.muxAnswerTimeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(ClientCommand.parse("--server", LINK, "--udp-mode", "PER-REMOTE").toConfig().udpMode())
                .isEqualTo(UdpMode.PER_REMOTE);
        assertUsage(new String[] {"--server", LINK, "--udp-mode", "xudp"},
                "--udp-mode 'xudp' (expected: per-remote or mux)");
        assertUsage(new String[] {"--server", LINK, "--udp-mode", "mux", "--v0"}, "--udp-mode mux needs VLESS v1");
        assertUsage(new String[] {"--server", LINK, "--mux-answer-timeout", "0"},
                "--mux-answer-timeout must be longer than zero");
        assertUsage(new String[] {"--server", LINK, "--mux-answer-timeout", "soon"},
                "--mux-answer-timeout 'soon' is not a duration");
    }

    @Test
    void readsDurationsInTheSharedSyntax() throws Exception {
        assertThat(ClientCommand.parse("--server", LINK, "--udp-idle", "1.5s").toConfig().udpIdle())
                .isEqualTo(Duration.ofMillis(1500));
        assertThat(ClientCommand.parse("--server", LINK, "--udp-idle", "1h30m").toConfig().udpIdle())
                .isEqualTo(Duration.ofMinutes(90));
        assertUsage(new String[] {"--server", LINK, "--udp-idle", "30m1h"}, Durations.complaint("--udp-idle", "30m1h"));
    }

    @Test
    void overridesTheLinksVerification(@TempDir Path dir) throws Exception {
        assertThat(ClientCommand.parse("--server", LINK, "--insecure").toConfig().tls().mode())
                .isEqualTo(UpstreamTls.Mode.INSECURE);
        Path ca = dir.resolve("ca.pem");
        Files.writeString(ca, "not a certificate");
        assertUsage(new String[] {"--server", LINK, "--ca", ca.toString()}, "--ca " + ca + ": cannot use it as CA");
        assertUsage(new String[] {"--server", LINK, "--ca", dir.resolve("missing.pem").toString()}, "no such file");
        assertUsage(new String[] {"--server", LINK, "--ca", ca.toString(), "--insecure"}, "give one or the other");
    }

    @Test
    void reportsEveryMistakeAsOneLine() {
        assertUsage(new String[] {"--server", "vless://nope"}, "--server: share link: it has no user ID");
        assertUsage(new String[] {"--server", LINK, "--socks", "1080"}, "--socks '1080' has no port");
        assertUsage(new String[] {"--server", LINK, "--socks", "::1:1080"}, "put an IPv6 address in brackets");
        assertUsage(new String[] {"--server", LINK, "--socks", "127.0.0.1:70000"}, "'70000' is not a port");
        assertUsage(new String[] {"--server", LINK, "--socks-user", "u"}, "--socks-user needs --socks-pass");
        assertUsage(new String[] {"--server", LINK, "--udp-idle", "soon"}, "--udp-idle 'soon' is not a duration");
        assertUsage(new String[] {"--server", LINK, "--udp-idle", "0"}, "--udp-idle must be longer than zero");
        assertUsage(new String[] {"--server", LINK, "--log-level", "loud"}, "--log-level 'loud' is not a level");
        assertUsage(new String[] {"--server", "vless://" + ID + "@127.0.0.1:1?security=none", "--insecure"},
                "security=none");
    }

    @Test
    void exitsWithUsageCodeAndOneLine() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ClientCommand.run(new String[] {"--server", "vmess://x"}, print(out), print(err), c -> { });
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("vless-client: --server: share link: its scheme")
                .hasLineCount(1);
        code = ClientCommand.run(new String[] {}, print(out), print(err), c -> { });
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("Missing required option: '--server=LINK'");
    }

    @Test
    void printsHelp() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = ClientCommand.run(new String[] {"--help"}, print(out), print(new ByteArrayOutputStream()),
                c -> { });
        assertThat(code).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("--server=LINK", "--socks=HOST:PORT",
                "--socks-user", "--socks-pass", "--insecure", "--ca=FILE", "--v0", "--udp-idle=DURATION", "--udp-mode=MODE", "--mux-answer-timeout=DURATION",
                "--log-level", "--help", "Exit codes");
        String flowed = out.toString(StandardCharsets.UTF_8).replaceAll("\\s+", " ");
        assertThat(flowed.split(Pattern.quote(Durations.SYNTAX), -1)).as("the syntax sentence, once").hasSize(2);
        assertThat(flowed).contains("0 stopped by SIGTERM or SIGINT, or --help/--version",
                "1 the client could not start (for example the SOCKS5 port is in use)",
                "2 bad command line or share link (the message says what to change)");
    }

    @Test
    void runsAgainstTheReferenceServer() throws Exception {
        UUID user = UUID.randomUUID();
        try (VlessServer server = VlessServer.builder().user(user).destinations(DestinationFilter.allowingLoopback())
                .build(); TcpEchoServer echo = TcpEchoServer.bind("127.0.0.2")) {
            server.start().join();
            String link = server.shareLink(user, "127.0.0.1", "test");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            AtomicReference<String> echoed = new AtomicReference<>();
            int code = ClientCommand.run(new String[] {"--server", link, "--socks", "127.0.0.1:0"}, print(out),
                    print(err), client -> {
                        try (Socket s = Socks5.connect(client.socksAddress(), "127.0.0.2", echo.address().getPort())) {
                            s.getOutputStream().write("cli".getBytes(StandardCharsets.US_ASCII));
                            echoed.set(new String(Socks5.readExactly(s.getInputStream(), 3),
                                    StandardCharsets.US_ASCII));
                        } catch (Exception e) {
                            echoed.set(e.toString());
                        } finally {
                            ClientCommand.stop(client, print(out), print(err));
                        }
                    });
            assertThat(code).isZero();
            assertThat(echoed.get()).isEqualTo("cli");
            String banner = out.toString(StandardCharsets.UTF_8);
            assertThat(banner).contains("SOCKS5 on 127.0.0.1:", "-> VLESS v1 server 127.0.0.1:",
                    "upstream: TLS, pinned certificate SHA-256", "full cone", "curl --socks5-hostname 127.0.0.1:",
                    "stopped; final stats: tcp tunnels=1");
            assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
        }
    }

    @Test
    void printsTheUdpModeInTheBanner() throws Exception {
        UUID user = UUID.randomUUID();
        try (VlessServer server = VlessServer.builder().user(user).build()) {
            server.start().join();
            String link = server.shareLink(user, "127.0.0.1", "test");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int code = ClientCommand.run(new String[] {"--server", link, "--socks", "127.0.0.1:0", "--udp-mode", "mux",
                "--mux-answer-timeout", "2s"}, print(out), print(new ByteArrayOutputStream()),
                    client -> ClientCommand.stop(client, print(out), print(new ByteArrayOutputStream())));
            assertThat(code).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8)).contains(
                    "UDP: full cone over one UDP-MUX connection for all associations",
                    "if the server gives no answer within 2.0 s", "| mux mode=mux established=0 (down)");
        }
    }

    @Test
    void warnsAboutPlaintextAndReportsABusyPort() throws Exception {
        try (VlessClient other = VlessClient.builder().server("127.0.0.1", 1).user(UUID.randomUUID()).plaintext()
                .socks("127.0.0.1", 0).build().start().join()) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = ClientCommand.run(new String[] {"--server", "vless://" + ID + "@127.0.0.1:1?security=none",
                "--socks", "127.0.0.1:" + other.socksAddress().getPort()}, print(new ByteArrayOutputStream()),
                    print(err), c -> { });
            assertThat(code).isEqualTo(1);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("WARNING: the share link says security=none",
                    "cannot listen for SOCKS5 on 127.0.0.1:" + other.socksAddress().getPort());
        }
    }

    private static void assertUsage(String[] args, String message) {
        assertThatThrownBy(() -> ClientCommand.parse(args).toConfig())
                .isInstanceOf(UsageException.class)
                .hasMessageContaining(message);
    }

    private static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }
}
