// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command launcher against small shell commands. The stand-in "client" is a python3 listener (present wherever
 * the suite is built here; the tests that need it are skipped without it).
 */
class CommandClientLauncherTest {

    static final String PIN = "AB".repeat(32);
    static final String LINK = "vless://6e1f1f53-3a56-4f7e-9d0e-5c2f8a3b9a10@127.0.0.1:8443?encryption=none"
            + "&security=tls&sni=localhost&pcs=" + PIN + "#it's%20$HOME;`x`";

    // Listens on argv[1]; with argv[2] exits after that many seconds with status argv[3].
    static final String LISTENER = """
            import socket, sys, time
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(sys.argv[1])))
            s.listen(16)
            print("listening", flush=True)
            time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 600)
            sys.exit(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
            """;

    @TempDir
    static Path dir;
    static Path listener;

    @BeforeAll
    static void writeListener() throws IOException {
        listener = dir.resolve("listener.py");
        Files.writeString(listener, LISTENER);
    }

    static void needPython() {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")) || onPath("python3"),
                "skipped: python3 is not installed (the stand-in client is a python3 listener)");
    }

    static boolean onPath(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void substitutesEveryPlaceholderAndQuotesWhatTheShellWouldRead() throws Exception {
        Path ca = dir.resolve("my ca.pem");
        Files.writeString(ca, "not really PEM");
        CommandClientLauncher l = new CommandClientLauncher("x {link} {socks} {socks_host} {socks_port} {server_host} "
                + "{server_port} {uuid} {sni} {pcs} {ca} ${HOME} {}", ca, Duration.ofSeconds(1));
        String cmd = l.substitute(LINK, new InetSocketAddress(InetAddress.getByName("::1"), 1080));
        assertThat(cmd).isEqualTo("x 'vless://6e1f1f53-3a56-4f7e-9d0e-5c2f8a3b9a10@127.0.0.1:8443?encryption=none"
                + "&security=tls&sni=localhost&pcs=" + PIN + "#it'\\''s%20$HOME;`x`' [0:0:0:0:0:0:0:1]:1080 "
                + "0:0:0:0:0:0:0:1 1080 127.0.0.1 8443 6e1f1f53-3a56-4f7e-9d0e-5c2f8a3b9a10 localhost "
                + PIN.toLowerCase() + " '" + ca.toAbsolutePath() + "' ${HOME} {}");
    }

    @Test
    void theShellGetsEachValueAsOneWordUnchanged() throws Exception {
        needPython();
        Path ca = dir.resolve("a 'quoted' ca.pem");
        Files.writeString(ca, "x");
        InetSocketAddress socks = ClientRun.freeSocksAddress();
        CommandClientLauncher l = new CommandClientLauncher("printf '<%s>\\n' {link} {ca} {socks}; "
                + "exec python3 " + listener + " {socks_port}", ca, Duration.ofSeconds(15));
        try (RunningClient c = l.start(LINK, socks)) {
            assertThat(c.socks()).isEqualTo(socks);
            assertThat(c.exited()).isNull();
            assertThat(c.output()).startsWith("<" + LINK + ">\n<" + ca.toAbsolutePath() + ">\n<127.0.0.1:"
                    + socks.getPort() + ">");
        }
    }

    @Test
    void badTemplatesAreRejectedWithTheAllowedList() {
        assertThatThrownBy(() -> new CommandClientLauncher("c --socks {socks} --x {bogus} {Link}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown placeholders {Link}, {bogus}")
                .hasMessageContaining("allowed: {link}, {socks}, {socks_host}, {socks_port}, {server_host}, "
                        + "{server_port}, {uuid}, {sni}, {pcs}, {ca}");
        assertThatThrownBy(() -> new CommandClientLauncher("c --server {link} --socks 127.0.0.1:1080"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("neither {socks} nor {socks_port}");
        assertThatThrownBy(() -> new CommandClientLauncher("c --socks {socks} --ca {ca}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no CA file was given");
        assertThatThrownBy(() -> new CommandClientLauncher(" "))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aPinPlaceholderNeedsALinkThatPins() {
        CommandClientLauncher l = new CommandClientLauncher("c {socks} {pcs}");
        String plain = "vless://6e1f1f53-3a56-4f7e-9d0e-5c2f8a3b9a10@127.0.0.1:8443?encryption=none&security=none";
        assertThatThrownBy(() -> l.substitute(plain, new InetSocketAddress("127.0.0.1", 1080)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("{pcs}");
    }

    @Test
    void aClientThatExitsFirstIsReportedWithItsStatusAndOutput() throws Exception {
        CommandClientLauncher l = new CommandClientLauncher("echo cannot parse {socks}; echo bye >&2; exit 3");
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> l.start(LINK, ClientRun.freeSocksAddress()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("exited with status 3")
                .hasMessageContaining("cannot parse 127.0.0.1:")
                .hasMessageContaining("bye");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void aPortThatNeverOpensIsATimeoutAndTheProcessIsKilled() throws Exception {
        CommandClientLauncher l = new CommandClientLauncher("echo pid=$$ port={socks_port}; exec sleep 60",
                null, Duration.ofMillis(700));
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> l.start(LINK, ClientRun.freeSocksAddress()));
        assertThat(t).isInstanceOf(IOException.class).hasMessageContaining("did not open")
                .hasMessageContaining("within 700 ms").hasMessageContaining("killed it").hasMessageContaining("pid=");
        long pid = pid(t.getMessage(), "pid");
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("sleep %d", pid).isFalse();
    }

    @Test
    void closeKillsTheChildrenAndFreesThePort() throws Exception {
        needPython();
        InetSocketAddress socks = ClientRun.freeSocksAddress();
        // The listener is a child of the shell, not the shell itself: close() must find it.
        CommandClientLauncher l = new CommandClientLauncher(
                "python3 " + listener + " {socks_port} & echo child=$!; wait");
        RunningClient c = l.start(LINK, socks);
        long child = pid(c.output(), "child");
        assertThat(ProcessHandle.of(child)).isPresent();
        c.close();
        c.close();
        assertThat(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertThat(c.exited()).as("ended by close(), not by itself").isNull();
        try (ServerSocket again = new ServerSocket()) {
            again.bind(socks);
        }
    }

    @Test
    void exitedSaysHowAClientEndedByItself() throws Exception {
        needPython();
        CommandClientLauncher l = new CommandClientLauncher(
                "echo starting; python3 " + listener + " {socks_port} 0.5 7");
        try (RunningClient c = l.start(LINK, ClientRun.freeSocksAddress())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (c.exited() == null && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(c.exited()).startsWith("exited with status 7").contains("starting").contains("listening");
        }
    }

    @Test
    void outputKeepsOnlyTheLastLines() throws Exception {
        needPython();
        CommandClientLauncher l = new CommandClientLauncher(
                "i=0; while [ $i -lt 500 ]; do echo line$i; i=$((i+1)); done; exec python3 " + listener
                        + " {socks_port}");
        try (RunningClient c = l.start(LINK, ClientRun.freeSocksAddress())) {
            String out = c.output();
            assertThat(out.split("\n")).hasSize(CommandClientLauncher.OUTPUT_LINES);
            assertThat(out).doesNotContain("line300\n").contains("line301\n").endsWith("listening");
        }
    }

    static long pid(String text, String key) {
        Matcher m = Pattern.compile(key + "=(\\d+)").matcher(text);
        assertThat(m.find()).as("%s= in %s", key, text).isTrue();
        return Long.parseLong(m.group(1));
    }
}
