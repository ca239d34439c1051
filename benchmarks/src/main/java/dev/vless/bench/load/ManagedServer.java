// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.link.ShareLink;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A server the generator starts itself, as a child process on loopback, so that its CPU time and memory can be read
 * from {@code /proc} apart from the generator's: the reference server (its executable jar, or this class path) or
 * v2ray with a generated VLESS v0 configuration.
 */
final class ManagedServer implements AutoCloseable {

    private static final long START_TIMEOUT_SECONDS = 30;

    private final String name;
    private final Process process;
    private final ShareLink link;
    private final boolean java;
    private final Path log;
    private final String transport;

    private ManagedServer(String name, Process process, ShareLink link, boolean java, Path log, String transport) {
        this.name = name;
        this.process = process;
        this.link = link;
        this.java = java;
        this.log = log;
        this.transport = transport;
    }

    /** How to start the reference server: its jar if there is one, else the generator's own class path. */
    record ReferenceLauncher(Path jar, List<String> jvmOptions, List<String> serverOptions) {

        List<String> command() {
            List<String> cmd = new ArrayList<>();
            cmd.add(javaBinary());
            cmd.addAll(jvmOptions);
            if (jar != null && Files.isRegularFile(jar)) {
                cmd.add("-jar");
                cmd.add(jar.toString());
            } else {
                // The benchmarks' class path holds the server and all it needs.
                cmd.add("-cp");
                cmd.add(System.getProperty("java.class.path"));
                cmd.add("dev.vless.server.cli.ServerCommand");
            }
            return cmd;
        }

        /** The same launcher with {@code more} server options after its own. */
        ReferenceLauncher withServerOptions(List<String> more) {
            List<String> all = new ArrayList<>(serverOptions);
            all.addAll(more);
            return new ReferenceLauncher(jar, jvmOptions, all);
        }

        String describe() {
            return jar != null && Files.isRegularFile(jar) ? "java -jar " + jar : "java -cp <generator class path> "
                    + "dev.vless.server.cli.ServerCommand";
        }
    }

    /**
     * Starts the reference server on 127.0.0.1 with an ephemeral port, loopback destinations allowed, and TLS with
     * {@code tls}'s certificate or plaintext; {@code extra} options go last.
     */
    static ManagedServer reference(String name, ReferenceLauncher launcher, UUID user, TlsMaterial tls,
            List<String> extra, Path logDir) throws IOException, InterruptedException {
        return reference(name, launcher, List.of(user), tls, extra, logDir);
    }

    /**
     * The same with several users; the link is the first one's. More than one go in a users file, so that any number
     * fits on the command line.
     */
    static ManagedServer reference(String name, ReferenceLauncher launcher, List<UUID> users, TlsMaterial tls,
            List<String> extra, Path logDir) throws IOException, InterruptedException {
        List<String> cmd = launcher.command();
        Files.createDirectories(logDir);
        cmd.addAll(List.of("--listen", "127.0.0.1:0", "--user", users.get(0).toString(), "--allow-loopback",
                "--log-level", "warn"));
        if (users.size() > 1) {
            Path file = logDir.resolve(fileName(name) + ".users");
            StringBuilder text = new StringBuilder();
            for (UUID u : users.subList(1, users.size())) {
                text.append(u).append('\n');
            }
            Files.writeString(file, text, StandardCharsets.UTF_8);
            cmd.addAll(List.of("--users-file", file.toString()));
        }
        if (tls == null) {
            cmd.add("--plaintext-for-testing");
        } else {
            cmd.addAll(List.of("--cert", tls.certificateFile().toString(), "--key", tls.keyFile().toString()));
        }
        cmd.addAll(launcher.serverOptions());
        cmd.addAll(extra);
        Path log = logDir.resolve(fileName(name) + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        CompletableFuture<String> linkLine = new CompletableFuture<>();
        CompletableFuture<String> transport = new CompletableFuture<>();
        Thread reader = new Thread(() -> copyOutput(p, log, linkLine, transport),
                "vless-bench-" + fileName(name) + "-output");
        reader.setDaemon(true);
        reader.start();
        String line;
        try {
            line = linkLine.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            throw new IOException(name + " did not start (" + String.join(" ", cmd) + "); its output:\n"
                    + readQuietly(log));
        }
        ShareLink link = ShareLink.parse(line.substring(line.indexOf("vless://")));
        // Kept: user, address and security; with TLS, the run's certificate pinned, so that only it is trusted.
        return new ManagedServer(name, p, new ShareLink(link.user(), link.host(), link.port(), link.security(), null,
                tls == null ? List.of() : List.of(tls.fingerprint()), false, name), true, log, transport.getNow(null));
    }

    /** Starts v2ray with a VLESS inbound on 127.0.0.1 ({@code decryption: none}), TLS if {@code tls} is given. */
    static ManagedServer v2ray(String name, Path binary, UUID user, TlsMaterial tls, Path logDir)
            throws IOException, InterruptedException {
        return v2ray(name, binary, List.of(user), tls, logDir);
    }

    /** The same with several users (clients of the one inbound); the link is the first one's. */
    static ManagedServer v2ray(String name, Path binary, List<UUID> users, TlsMaterial tls, Path logDir)
            throws IOException, InterruptedException {
        UUID user = users.get(0);
        int port = freePort();
        Files.createDirectories(logDir);
        Path config = logDir.resolve(fileName(name) + ".json");
        Files.writeString(config, v2rayConfig(port, users, tls), StandardCharsets.UTF_8);
        Path log = logDir.resolve(fileName(name) + ".log");
        Process p = new ProcessBuilder(binary.toString(), "-config", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_TIMEOUT_SECONDS);
        while (true) {
            if (!p.isAlive()) {
                throw new IOException(name + " exited with " + p.exitValue() + ":\n" + readQuietly(log));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                break;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IOException(name + " did not listen on port " + port + ":\n" + readQuietly(log));
                }
                Thread.sleep(50);
            }
        }
        return new ManagedServer(name, p, new ShareLink(user, "127.0.0.1", port,
                tls != null ? ShareLink.Security.TLS : ShareLink.Security.NONE, null,
                tls == null ? List.of() : List.of(tls.fingerprint()), false, name), false, log, null);
    }

    /** The v2ray configuration: one VLESS inbound, a freedom outbound, the same timeouts for every run. */
    static String v2rayConfig(int port, List<UUID> users, TlsMaterial tls) {
        StringBuilder clients = new StringBuilder();
        for (UUID u : users) {
            clients.append(clients.length() == 0 ? "" : ", ").append("{\"id\": \"").append(u).append("\"}");
        }
        String stream = tls == null ? "{\"network\": \"tcp\", \"security\": \"none\"}"
                : ("{\"network\": \"tcp\", \"security\": \"tls\", \"tlsSettings\": {\"certificates\": "
                        + "[{\"certificateFile\": \"%s\", \"keyFile\": \"%s\"}]}}").formatted(
                                tls.certificateFile(), tls.keyFile());
        return """
                {
                  "log": {"loglevel": "warning"},
                  "policy": {"levels": {"0": {"handshake": 4, "connIdle": 300}}},
                  "inbounds": [{
                    "listen": "127.0.0.1",
                    "port": %d,
                    "protocol": "vless",
                    "settings": {"decryption": "none", "clients": [%s]},
                    "streamSettings": %s
                  }],
                  "outbounds": [{"protocol": "freedom"}]
                }
                """.formatted(port, clients, stream);
    }

    String name() {
        return name;
    }

    ShareLink link() {
        return link;
    }

    long pid() {
        return process.pid();
    }

    boolean isJava() {
        return java;
    }

    Path log() {
        return log;
    }

    /** The event loop transport the reference server's banner names ({@code epoll}, ...), or {@code null}. */
    String transport() {
        return transport;
    }

    /**
     * Live heap bytes after a full collection: {@code jcmd <pid> GC.class_histogram} collects first (without
     * {@code -all}) and its total counts every live object.
     */
    long liveHeapBytes() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(jcmd(), Long.toString(pid()), "GC.class_histogram")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        for (String line : out.split("\n")) {
            String t = line.trim();
            if (t.startsWith("Total")) {
                String[] f = t.split("\\s+");
                return Long.parseLong(f[2]);
            }
        }
        throw new IOException("jcmd GC.class_histogram printed no total:\n" + out);
    }

    /** Stops the process (SIGTERM, then SIGKILL after five seconds). */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    static String javaBinary() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    private static String jcmd() {
        Path java = Path.of(javaBinary());
        Path jcmd = java.resolveSibling("jcmd");
        return Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd";
    }

    private static void copyOutput(Process p, Path log, CompletableFuture<String> linkLine,
            CompletableFuture<String> transport) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8), true)) {
            String line;
            while ((line = in.readLine()) != null) {
                out.println(line);
                // The banner: "... listening on 127.0.0.1:PORT (transport epoll, ...)", before the share links.
                int at = line.indexOf(" listening on ");
                int t = at < 0 ? -1 : line.indexOf("(transport ", at);
                if (t >= 0) {
                    transport.complete(line.substring(t + 11).split("[,)]", 2)[0].trim());
                }
                if (line.contains("share link: vless://")) {
                    linkLine.complete(line);
                }
            }
        } catch (IOException e) {
            linkLine.completeExceptionally(e);
        }
        linkLine.completeExceptionally(new IOException("the server's output ended"));
    }

    private static String readQuietly(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    private static String fileName(String name) {
        return name.replaceAll("[^A-Za-z0-9.-]+", "-");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
