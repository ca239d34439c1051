// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import dev.vless.client.UdpMode;
import dev.vless.conformance.ConformanceMain;
import dev.vless.conformance.Selection;
import dev.vless.conformance.TargetOptions;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vless-conformance client}: checks a VLESS client. The harness is the server (scripted, on loopback, TLS with a
 * certificate it pins in the share link it prints) and the application (through the client's SOCKS5 front). Without
 * {@code --client-cmd} or {@code --socks} it checks the reference client in-process.
 */
@Command(name = "client", mixinStandardHelpOptions = true, sortOptions = false,
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:every MUST rule passed (and every SHOULD under --policy must+should)",
            "1:a rule failed: the report leads with the root causes",
            "2:usage error: a bad option or template",
            "3:the client could not be checked: it did not start, or relayed nothing in the pre-flight"},
        description = {"Checks a VLESS client through its SOCKS5 front against the client rules of the VLESS v1"
                + " specification (or the v0 profile).",
            "The harness runs the server the client talks to. It starts the client with --client-cmd (placeholders"
                    + " {link}, {socks}, {socks_host}, {socks_port}, {server_host}, {server_port}, {uuid}, {sni},"
                    + " {pcs}, {ca}), or uses one the user started (--socks, with the link it prints), or, with"
                    + " neither, the reference client.", dev.vless.cli.Durations.SYNTAX})
public final class ClientMain implements Callable<Integer> {

    @Option(names = "--client-cmd", paramLabel = "TEMPLATE",
            description = "A shell command that starts the client, run once per case, e.g. 'bin/vless-client --server"
                    + " {link} --socks {socks}'.")
    String clientCmd;

    @Option(names = "--socks", paramLabel = "HOST:PORT",
            description = "A client you started yourself (with the printed link and --listen so that the link stays"
                    + " the same): cases that need a fresh client are then not applicable.")
    String socks;

    @Option(names = "--udp-mode", paramLabel = "both|mux|per-remote", defaultValue = "both",
            description = "Without --client-cmd and --socks: which UDP mode of the reference client to check. both"
                    + " runs the suite twice, reports in DIR/mux and DIR/per-remote; mux also checks the per-remote"
                    + " path, where the harness's server refuses the mode and the client falls back."
                    + " Default: ${DEFAULT-VALUE}.")
    String udpMode;

    @Option(names = "--profile", paramLabel = "v1|v0", defaultValue = "v1",
            description = "The profile to hold the client to. Default: ${DEFAULT-VALUE}.")
    String profile;

    @Option(names = "--plaintext", description = "The harness's server speaks plaintext (for clients that cannot pin"
            + " a certificate or trust a CA file); the TLS cases are then not applicable.")
    boolean plaintext;

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:0",
            description = "Where the harness's server listens (port 0: a free one). Default: ${DEFAULT-VALUE}.")
    String listen;

    @Option(names = "--ca-out", paramLabel = "FILE",
            description = "Write the server's certificate there (PEM), for clients that trust a CA file ({ca}).")
    Path caOut;

    @Option(names = "--peers", paramLabel = "IP[,IP...]", defaultValue = "127.0.0.1,127.0.0.2,127.0.0.3",
            description = "Where the harness's UDP/TCP peers listen. Default: ${DEFAULT-VALUE}.")
    String peers;

    @Option(names = "--io-timeout", paramLabel = "DURATION", defaultValue = "3s",
            description = "How long to wait for an expected byte, datagram or connection. Default: ${DEFAULT-VALUE}.")
    String ioTimeout;

    @Option(names = "--udp-idle", paramLabel = "DURATION",
            description = "The client's idle time for command-2 connections; CLI-3 runs only with it.")
    String udpIdle;

    @Option(names = "--policy", paramLabel = "must|must+should", defaultValue = "must",
            description = "Which failed rules make the run fail. Default: ${DEFAULT-VALUE}.")
    String policy;

    @Option(names = "--select", paramLabel = "WHAT[,WHAT...]",
            description = "Run only these: rule IDs, areas or groups (header, relay, udp, crumfurs, delivery, tls,"
                    + " mux, full-cone).")
    String select;

    @Option(names = "--list", description = "List the selected cases without running them.")
    boolean list;

    @Option(names = "--report-dir", paramLabel = "DIR", defaultValue = "vless-conformance-report",
            description = "Where the reports go. Default: ${DEFAULT-VALUE}.")
    Path reportDir;

    @Option(names = "--show-secrets", description = "Keep user IDs in the console and the reports.")
    boolean showSecrets;

    /** The reference client's idle time when the harness starts it: CLI-3 then takes seconds, not a minute. */
    static final Duration REFERENCE_IDLE = Duration.ofSeconds(3);

    @Override
    public Integer call() throws Exception {
        Selection selection = Selection.parse(select);
        if (list) {
            ClientConformance.list(selection).forEach(System.out::println);
            return 0;
        }
        if (clientCmd != null && socks != null) {
            throw new IllegalArgumentException("--client-cmd starts the client and --socks names one you started;"
                    + " give one or the other");
        }
        Duration idle = udpIdle == null ? null : TargetOptions.parseDuration(udpIdle, "--udp-idle");
        dev.vless.conformance.ConformanceRunner.checkReportDir(reportDir);
        if (clientCmd != null) {
            return run(new CommandClientLauncher(clientCmd, caOut, CommandClientLauncher.DEFAULT_READY_TIMEOUT),
                    idle, reportDir, selection);
        }
        if (socks != null) {
            return run(new ExternalClientLauncher(address(socks, "--socks")), idle, reportDir, selection);
        }
        Duration referenceIdle = idle == null ? REFERENCE_IDLE : idle;
        switch (udpMode.toLowerCase(Locale.ROOT)) {
            case "mux":
                return run(new ReferenceClientLauncher(UdpMode.MUX, referenceIdle), referenceIdle, reportDir,
                        selection);
            case "per-remote":
                return run(new ReferenceClientLauncher(UdpMode.PER_REMOTE, referenceIdle), referenceIdle, reportDir,
                        selection);
            case "both":
                // The reference client in each of its modes, one report each; the worse exit status is the result.
                int mux = run(new ReferenceClientLauncher(UdpMode.MUX, referenceIdle), referenceIdle,
                        reportDir.resolve("mux"), selection);
                System.out.println();
                int perRemote = run(new ReferenceClientLauncher(UdpMode.PER_REMOTE, referenceIdle), referenceIdle,
                        reportDir.resolve("per-remote"), selection);
                System.out.println();
                System.out.println("Reference client: UDP mode mux " + (mux == 0 ? "PASSED" : "exit status " + mux)
                        + ", UDP mode per-remote " + (perRemote == 0 ? "PASSED" : "exit status " + perRemote));
                return mux == 0 ? perRemote : perRemote == 0 ? mux : Math.min(mux, perRemote);
            default:
                throw new IllegalArgumentException("--udp-mode " + udpMode + ": expected both, mux or per-remote");
        }
    }

    private int run(ClientLauncher launcher, Duration idle, Path dir, Selection selection) throws Exception {
        ClientOptions o = ClientOptions.defaults(launcher).withProfile(TargetOptions.parseProfile(profile))
                .withTls(!plaintext).withListen(address(listen, "--listen"))
                .withPeers(TargetOptions.parsePeers(peers))
                .withIoTimeout(TargetOptions.parseDuration(ioTimeout, "--io-timeout")).withUdpIdle(idle)
                .withPolicy(TargetOptions.parsePolicy(policy)).withReportDir(dir).withShowSecrets(showSecrets)
                .withCaOut(caOut);
        return ConformanceMain.exitStatus(ClientConformance.run(o, selection, System.out, true));
    }

    private static InetSocketAddress address(String text, String option) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException(option + " " + text + ": expected HOST:PORT, e.g. 127.0.0.1:1080");
        }
        String host = text.substring(0, colon).replace("[", "").replace("]", "");
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + text + ": the port is not a number");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(option + " " + text + ": port out of range (0-65535)");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(option + " " + text + ": unknown host " + host);
        }
    }
}
