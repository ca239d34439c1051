// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static java.util.Objects.requireNonNull;

import dev.vless.codec.VlessVersion;
import dev.vless.link.ShareLink;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;

/**
 * Builds a {@link VlessClient}. Every setter checks its value at once and says what was expected. Defaults: SOCKS5 on
 * 127.0.0.1:1080 without authentication, VLESS v1, TLS verified by the system CAs, UDP per remote address
 * ({@link UdpMode#PER_REMOTE}) with command-2 connections closed after 60 s idle, 10 s to connect, 5 s for a MUX
 * answer.
 */
public final class VlessClientBuilder {

    /** The default SOCKS5 port. */
    public static final int DEFAULT_SOCKS_PORT = 1080;
    /** How long the client waits for a server's {@code 0x15} before it takes the MUX mode as unavailable (MUX-5). */
    public static final Duration DEFAULT_MUX_ANSWER_TIMEOUT = Duration.ofSeconds(5);

    private InetSocketAddress socksAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(),
            DEFAULT_SOCKS_PORT);
    private String serverHost;
    private int serverPort;
    private UUID user;
    private UpstreamTls tls;
    private VlessVersion version = VlessVersion.V1;
    private String socksUser;
    private String socksPassword;
    private Duration udpIdle = Duration.ofSeconds(60);
    private Duration connectTimeout = Duration.ofSeconds(10);
    private UdpMode udpMode = UdpMode.PER_REMOTE;
    private Duration muxAnswerTimeout = DEFAULT_MUX_ANSWER_TIMEOUT;
    private int ioThreads;
    private boolean nativeTransport = true;

    VlessClientBuilder() {
    }

    /**
     * Server, user and TLS from a share link: {@code security=none} is plaintext, {@code pcs=} pins the certificate,
     * {@code allowInsecure=1} turns verification off, and otherwise the system CAs verify it. A later {@link #tls}
     * overrides the TLS part.
     */
    public VlessClientBuilder shareLink(ShareLink link) {
        requireNonNull(link, "link");
        server(link.host(), link.port());
        user(link.user());
        if (link.security() == ShareLink.Security.NONE) {
            tls = UpstreamTls.plaintext();
        } else if (!link.pinnedSha256().isEmpty()) {
            tls = UpstreamTls.pinned(link.sni(), link.pinnedSha256());
        } else if (link.allowInsecure()) {
            tls = UpstreamTls.insecure(link.sni());
        } else {
            tls = UpstreamTls.systemTrust(link.sni());
        }
        return this;
    }

    /** The VLESS server; an IPv6 address may come with or without brackets. */
    public VlessClientBuilder server(String host, int port) {
        requireNonNull(host, "host");
        String h = host.strip();
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.isEmpty()) {
            throw new IllegalArgumentException("server host: empty (expected: a host name or IP address)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("server port: " + port + " (expected: 1-65535)");
        }
        this.serverHost = h;
        this.serverPort = port;
        return this;
    }

    /** The VLESS server at a socket address. */
    public VlessClientBuilder server(InetSocketAddress address) {
        requireNonNull(address, "address");
        return server(address.getHostString(), address.getPort());
    }

    /** The user ID. */
    public VlessClientBuilder user(UUID user) {
        this.user = requireNonNull(user, "user");
        return this;
    }

    /** How the connection to the server is secured. */
    public VlessClientBuilder tls(UpstreamTls tls) {
        this.tls = requireNonNull(tls, "tls");
        return this;
    }

    /** No TLS: for tests, or a server behind a TLS terminator. */
    public VlessClientBuilder plaintext() {
        return tls(UpstreamTls.plaintext());
    }

    /** The protocol version: v1 (default) or v0 for v0-only servers (then UDP goes without CRUMFURS). */
    public VlessClientBuilder version(VlessVersion version) {
        this.version = requireNonNull(version, "version");
        return this;
    }

    /** Where the SOCKS5 front listens; port 0 binds an ephemeral port, which {@link VlessClient#socksAddress()} reports. */
    public VlessClientBuilder socks(InetSocketAddress address) {
        this.socksAddress = requireNonNull(address, "address");
        return this;
    }

    /** Where the SOCKS5 front listens, by host and port. */
    public VlessClientBuilder socks(String host, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("SOCKS5 port: " + port + " (expected: 0-65535)");
        }
        return socks(new InetSocketAddress(requireNonNull(host, "host"), port));
    }

    /** Requires applications to log in with this user name and password (RFC 1929); each 1 to 255 bytes. */
    public VlessClientBuilder socksAuth(String user, String password) {
        checkCredential(user, "SOCKS5 user name");
        checkCredential(password, "SOCKS5 password");
        this.socksUser = user;
        this.socksPassword = password;
        return this;
    }

    /** How long a command-2 connection may carry nothing before the client closes it (CLI-3). */
    public VlessClientBuilder udpIdle(Duration idle) {
        this.udpIdle = positive(idle, "UDP idle time");
        return this;
    }

    /** How long connecting to the server, TCP and TLS together, may take. */
    public VlessClientBuilder connectTimeout(Duration timeout) {
        this.connectTimeout = positive(timeout, "connect timeout");
        return this;
    }

    /**
     * How UDP goes to the server: {@link UdpMode#PER_REMOTE} (default: one command-2 connection per remote address,
     * CRUMFURS beside them) or {@link UdpMode#MUX} (one UDP-MUX connection per client, shared by every SOCKS5
     * association, falling back to per-remote when the server does not answer {@code 0x15}). MUX needs VLESS v1.
     */
    public VlessClientBuilder udpMode(UdpMode mode) {
        this.udpMode = requireNonNull(mode, "mode");
        return this;
    }

    /**
     * How long the client waits for the server's {@code 0x15} on a UDP-MUX connection before it takes the mode as
     * unavailable and falls back to per-remote (MUX-5); default 5 s.
     */
    public VlessClientBuilder muxAnswerTimeout(Duration timeout) {
        this.muxAnswerTimeout = positive(timeout, "MUX answer timeout");
        return this;
    }

    /** Event loop threads; 0 for Netty's default. */
    public VlessClientBuilder ioThreads(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("I/O threads: " + n + " (expected: 0 or more)");
        }
        this.ioThreads = n;
        return this;
    }

    /** Whether to use epoll when available (default true). */
    public VlessClientBuilder nativeTransport(boolean enabled) {
        this.nativeTransport = enabled;
        return this;
    }

    /** The checked configuration. */
    public VlessClientConfig buildConfig() {
        if (serverHost == null) {
            throw new IllegalArgumentException("server: none (expected: a share link or server(host, port))");
        }
        if (user == null) {
            throw new IllegalArgumentException("user: none (expected: a share link or user(uuid))");
        }
        if (udpMode == UdpMode.MUX && version == VlessVersion.V0) {
            throw new IllegalArgumentException("UDP mode mux: needs VLESS v1 (command 5 does not exist in v0; "
                    + "expected: per-remote with v0)");
        }
        UpstreamTls t = tls != null ? tls : UpstreamTls.systemTrust(null);
        return new VlessClientConfig(socksAddress, serverHost, serverPort, user, t, version, socksUser,
                socksPassword, udpIdle, connectTimeout, ioThreads, nativeTransport, udpMode, muxAnswerTimeout);
    }

    /** A client with this configuration, not yet started. */
    public VlessClient build() {
        return new VlessClient(buildConfig());
    }

    private static void checkCredential(String value, String what) {
        requireNonNull(value, what);
        int bytes = value.getBytes(StandardCharsets.UTF_8).length;
        if (bytes < 1 || bytes > 255) {
            throw new IllegalArgumentException(what + ": " + bytes + " bytes (expected: 1-255, RFC 1929)");
        }
    }

    private static Duration positive(Duration d, String what) {
        requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + ": " + d + " (expected: positive)");
        }
        return d;
    }
}
