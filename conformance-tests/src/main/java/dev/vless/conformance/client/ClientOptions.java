// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import dev.vless.conformance.Policy;
import dev.vless.spec.Profile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What a client conformance run checks and how.
 *
 * @param launcher    starts the client under test
 * @param profile     v1, or v0 for a v0 client (then CRUMFURS, UMFURS and UDP-MUX are not applicable)
 * @param tls         whether the scripted server speaks TLS (pinned in the share link) or plaintext
 * @param listen      where the scripted server listens (port 0: any free one)
 * @param peers       addresses of this machine where the harness's UDP/TCP peers listen
 * @param ioTimeout   how long to wait for an expected byte, datagram or connection
 * @param udpIdle     the client's configured idle time for command-2 connections (CLI-3), or {@code null}
 * @param policy      which failed rules fail the run
 * @param reportDir   where the reports go
 * @param showSecrets keep user IDs in console and reports
 * @param caOut       where to write the scripted server's certificate as PEM, or {@code null}
 */
public record ClientOptions(ClientLauncher launcher, Profile profile, boolean tls, InetSocketAddress listen,
        List<InetAddress> peers, Duration ioTimeout, Duration udpIdle, Policy policy, Path reportDir,
        boolean showSecrets, Path caOut) {

    /** The defaults: v1 over TLS on a free loopback port, peers on 127.0.0.1-3, 3 s I/O timeout, policy must. */
    public static ClientOptions defaults(ClientLauncher launcher) {
        return new ClientOptions(launcher, Profile.V1, true,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                dev.vless.conformance.TargetOptions.loopbackPeers(), Duration.ofSeconds(3), null, Policy.MUST,
                Path.of("vless-conformance-report"), false, null);
    }

    public ClientOptions withLauncher(ClientLauncher l) {
        return new ClientOptions(l, profile, tls, listen, peers, ioTimeout, udpIdle, policy, reportDir, showSecrets,
                caOut);
    }

    public ClientOptions withProfile(Profile p) {
        return new ClientOptions(launcher, p, tls, listen, peers, ioTimeout, udpIdle, policy, reportDir, showSecrets,
                caOut);
    }

    public ClientOptions withTls(boolean on) {
        return new ClientOptions(launcher, profile, on, listen, peers, ioTimeout, udpIdle, policy, reportDir,
                showSecrets, caOut);
    }

    public ClientOptions withListen(InetSocketAddress a) {
        return new ClientOptions(launcher, profile, tls, a, peers, ioTimeout, udpIdle, policy, reportDir, showSecrets,
                caOut);
    }

    public ClientOptions withIoTimeout(Duration d) {
        return new ClientOptions(launcher, profile, tls, listen, peers, d, udpIdle, policy, reportDir, showSecrets,
                caOut);
    }

    public ClientOptions withUdpIdle(Duration d) {
        return new ClientOptions(launcher, profile, tls, listen, peers, ioTimeout, d, policy, reportDir, showSecrets,
                caOut);
    }

    public ClientOptions withPolicy(Policy p) {
        return new ClientOptions(launcher, profile, tls, listen, peers, ioTimeout, udpIdle, p, reportDir, showSecrets,
                caOut);
    }

    public ClientOptions withReportDir(Path d) {
        return new ClientOptions(launcher, profile, tls, listen, peers, ioTimeout, udpIdle, policy, d, showSecrets,
                caOut);
    }

    public ClientOptions withShowSecrets(boolean on) {
        return new ClientOptions(launcher, profile, tls, listen, peers, ioTimeout, udpIdle, policy, reportDir, on,
                caOut);
    }

    public ClientOptions withCaOut(Path p) {
        return new ClientOptions(launcher, profile, tls, listen, peers, ioTimeout, udpIdle, policy, reportDir,
                showSecrets, p);
    }

    public ClientOptions withPeers(List<InetAddress> p) {
        return new ClientOptions(launcher, profile, tls, listen, List.copyOf(p), ioTimeout, udpIdle, policy, reportDir,
                showSecrets, caOut);
    }
}
