// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static java.util.Objects.requireNonNull;

import dev.vless.codec.VlessVersion;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.UUID;

/**
 * Everything a {@link VlessClient} is configured with; built and checked by {@link VlessClientBuilder}.
 *
 * @param socksAddress    where the SOCKS5 front listens (port 0: an ephemeral port)
 * @param serverHost      the VLESS server's host name or IP address
 * @param serverPort      the VLESS server's port
 * @param user            the user ID sent in every request
 * @param tls             how the connection to the server is secured
 * @param version         v1 (CRUMFURS, full-cone UDP) or v0 (for v0-only servers: no CRUMFURS)
 * @param socksUser       the SOCKS5 user name applications must give (RFC 1929), or {@code null} for no auth
 * @param socksPassword   its password, or {@code null}
 * @param udpIdle         how long an unused command-2 connection stays open (CLI-3)
 * @param connectTimeout  how long connecting to the server (TCP and TLS) may take
 * @param ioThreads       event loop threads, 0 for Netty's default
 * @param nativeTransport whether to use epoll when it is available
 * @param udpMode         how UDP goes to the server: per remote address with CRUMFURS, or one UDP-MUX connection
 * @param muxAnswerTimeout how long to wait for the server's {@code 0x15} before falling back to per-remote (MUX-5)
 */
public record VlessClientConfig(
        InetSocketAddress socksAddress,
        String serverHost,
        int serverPort,
        UUID user,
        UpstreamTls tls,
        VlessVersion version,
        String socksUser,
        String socksPassword,
        Duration udpIdle,
        Duration connectTimeout,
        int ioThreads,
        boolean nativeTransport,
        UdpMode udpMode,
        Duration muxAnswerTimeout) {

    /** Checks that nothing required is missing; the builder checks ranges as each value is set. */
    public VlessClientConfig {
        requireNonNull(socksAddress, "socksAddress");
        requireNonNull(serverHost, "serverHost (expected: a server, from a share link or server(host, port))");
        requireNonNull(user, "user (expected: a user ID, from a share link or user(uuid))");
        requireNonNull(tls, "tls");
        requireNonNull(version, "version");
        requireNonNull(udpIdle, "udpIdle");
        requireNonNull(connectTimeout, "connectTimeout");
        requireNonNull(udpMode, "udpMode");
        requireNonNull(muxAnswerTimeout, "muxAnswerTimeout");
        if ((socksUser == null) != (socksPassword == null)) {
            throw new IllegalArgumentException("SOCKS5 credentials: a user name needs a password and the other way "
                    + "round (expected: both or neither)");
        }
    }

    /** Whether applications must authenticate to the SOCKS5 front. */
    public boolean socksAuthRequired() {
        return socksUser != null;
    }

    /** {@code host:port} of the server, IPv6 in brackets. */
    public String serverText() {
        return (serverHost.indexOf(':') >= 0 ? "[" + serverHost + "]" : serverHost) + ":" + serverPort;
    }
}
