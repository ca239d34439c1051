// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vless.link.ShareLink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Starts v2ray (Debian's 4.34 is what this was written against) as a VLESS <b>v0</b> client: a {@code socks} inbound
 * (no authentication, UDP on) where the harness says, and a {@code vless} outbound to the link's server. Each start
 * writes its own JSON config to a temporary directory, deleted again on close.
 *
 * <p>Trust: v2ray 4.34 has no certificate pinning, so a TLS link is served by trusting the harness's certificate as
 * a CA ({@code tlsSettings.certificates} with {@code "usage": "verify"}); a TLS link that pins a certificate needs
 * that PEM file. A TLS link without pins uses the system's CAs.
 */
public final class V2rayClientLauncher implements ClientLauncher {

    /** Where Debian installs it. */
    public static final Path DEFAULT_EXECUTABLE = Path.of("/usr/bin/v2ray");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path executable;
    private final Path caPem;
    private final Duration readyTimeout;
    private volatile String version;

    /** {@code /usr/bin/v2ray}, no CA file (plaintext links, or TLS links without pins), 15 s to open the port. */
    public V2rayClientLauncher() {
        this(DEFAULT_EXECUTABLE, null, CommandClientLauncher.DEFAULT_READY_TIMEOUT);
    }

    /**
     * A launcher for the v2ray at {@code executable}.
     *
     * @param caPem        the harness server's certificate as PEM, trusted as a CA for TLS links; {@code null} for
     *                     none
     * @param readyTimeout how long v2ray gets to open its SOCKS port
     */
    public V2rayClientLauncher(Path executable, Path caPem, Duration readyTimeout) {
        this.executable = requireNonNull(executable, "executable");
        this.caPem = caPem;
        this.readyTimeout = requireNonNull(readyTimeout, "readyTimeout");
    }

    @Override
    public String description() {
        return version() + " as a VLESS v0 client (" + executable + ", SOCKS5 inbound, vless outbound"
                + (caPem != null ? ", CA " + caPem : "") + ")";
    }

    /** The first line of {@code v2ray -version}, asked once; the path when it cannot be run. */
    public String version() {
        String v = version;
        if (v == null) {
            v = executable.toString();
            try {
                Process p = new ProcessBuilder(executable.toString(), "-version").redirectErrorStream(true).start();
                String first = new String(p.getInputStream().readNBytes(4096), StandardCharsets.UTF_8).lines()
                        .findFirst().orElse("").strip();
                if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0 && !first.isEmpty()) {
                    v = first;
                }
                p.destroyForcibly();
            } catch (IOException e) {
                // Not runnable here: start() will say so with the shell's message.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            version = v;
        }
        return v;
    }

    @Override
    public RunningClient start(String link, InetSocketAddress socks) throws IOException {
        ShareLink l;
        try {
            l = ShareLink.parse(link);
        } catch (IllegalArgumentException e) {
            throw new IOException("cannot start v2ray: " + e.getMessage(), e);
        }
        if (l.tls() && !l.pinnedSha256().isEmpty() && caPem == null) {
            throw new IOException("cannot start v2ray: the link pins the server certificate, which v2ray 4.34 cannot "
                    + "check; give the certificate as a PEM file (the harness's --ca-out) to trust it as a CA");
        }
        Path dir = Files.createTempDirectory("vless-v2ray-client");
        Path config = dir.resolve("client.json");
        Files.writeString(config, config(l, socks, caPem), StandardCharsets.UTF_8);
        String command = "exec " + CommandClientLauncher.shellQuote(executable.toString()) + " -config "
                + CommandClientLauncher.shellQuote(config.toString());
        return CommandClientLauncher.launch(command, socks, readyTimeout, () -> deleteTree(dir));
    }

    /** The client config for one start: what {@link #start} writes, public so that reports can show it. */
    public static String config(ShareLink link, InetSocketAddress socks, Path caPem) {
        String socksHost = socks.getAddress() != null ? socks.getAddress().getHostAddress() : socks.getHostString();
        ObjectNode root = JSON.createObjectNode();
        // Access log off: one line per connection would push v2ray's errors out of the bounded output.
        root.putObject("log").put("loglevel", "warning").put("access", "none");

        ObjectNode in = root.putArray("inbounds").addObject();
        in.put("tag", "socks-front").put("listen", socksHost).put("port", socks.getPort()).put("protocol", "socks");
        // "ip" is the address v2ray puts in its UDP ASSOCIATE reply: the loopback address the front listens on.
        in.putObject("settings").put("auth", "noauth").put("udp", true).put("ip", socksHost);

        ObjectNode out = root.putArray("outbounds").addObject();
        out.put("tag", "vless-out").put("protocol", "vless");
        ObjectNode server = out.putObject("settings").putArray("vnext").addObject();
        server.put("address", link.host()).put("port", link.port());
        server.putArray("users").addObject().put("id", link.user().toString()).put("encryption", "none");
        ObjectNode stream = out.putObject("streamSettings");
        stream.put("network", "tcp");
        if (link.tls()) {
            stream.put("security", "tls");
            ObjectNode tls = stream.putObject("tlsSettings");
            tls.put("serverName", link.serverName()).put("allowInsecure", false);
            if (caPem != null) {
                ArrayNode certs = tls.putArray("certificates");
                certs.addObject().put("usage", "verify").put("certificateFile", caPem.toAbsolutePath().toString());
            }
        } else {
            stream.put("security", "none");
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // A temporary directory left behind is not worth failing a close over.
        }
    }
}
