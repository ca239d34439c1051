// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.link.ShareLink;
import dev.vless.spec.Profile;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The suite's command line: {@code vless-conformance [--target vless://...] ...}. Without a target it checks the
 * embedded reference server. Exit status: 0 when every MUST rule passes (and SHOULD under {@code --policy
 * must+should}), 1 when one fails, 3 when the target could not be checked (pre-flight, target down, no verdict), 2 for
 * a usage error.
 */
@Command(name = "vless-conformance", mixinStandardHelpOptions = true, versionProvider = ConformanceMain.Version.class,
        sortOptions = false,
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:every MUST rule passed (and every SHOULD under --policy must+should)",
            "1:a rule failed: the report leads with the root causes",
            "2:usage error: a bad option, link or report directory",
            "3:the target could not be checked: the pre-flight failed (the one-line cause says why), the target"
                    + " died and could not be restarted, or cases could not reach a verdict"},
        description = {"Checks a VLESS server against the VLESS v1 specification (or the v0 profile) and classifies "
                + "its UDP NAT behaviour (RFC 4787).", "Without --target it checks the embedded reference server.",
            dev.vless.cli.Durations.SYNTAX},
        subcommands = dev.vless.conformance.client.ClientMain.class)
public final class ConformanceMain implements Callable<Integer> {

    @Option(names = "--target", paramLabel = "LINK",
            description = "The server's share link: vless://UUID@host:port?security=tls&sni=NAME (security=none for "
                    + "plaintext; pcs=SHA256 pins the certificate).")
    String target;

    @Option(names = "--user2", paramLabel = "UUID", description = "A second user's UUID, for the isolation cases.")
    String user2;

    @Option(names = "--profile", paramLabel = "v1|v0", defaultValue = "v1",
            description = "The profile to check: v1 (this spec) or v0 (plain VLESS). Default: ${DEFAULT-VALUE}.")
    String profile;

    @Option(names = "--insecure", description = "Accept any TLS certificate.")
    boolean insecure;

    @Option(names = "--ca", paramLabel = "PEM", description = "Trust the CA certificates in this PEM file.")
    Path ca;

    @Option(names = "--peers", paramLabel = "IP[,IP...]", defaultValue = "127.0.0.1,127.0.0.2,127.0.0.3",
            description = "Addresses of this machine where the harness's UDP/TCP peers listen and the server sends to."
                    + " Three distinct ones tell address- from port-dependent behaviour. Default: ${DEFAULT-VALUE}.")
    String peers;

    @Option(names = "--handshake-timeout", paramLabel = "DURATION", defaultValue = "4s",
            description = "The target's handshake deadline; bad-input cases allow it plus 1 s. Default: "
                    + "${DEFAULT-VALUE}.")
    String handshakeTimeout;

    @Option(names = "--udp-lifetime", paramLabel = "DURATION",
            description = "The UDP lifetime the target is configured with (the reference server's --udp-lifetime,"
                    + " 300s by default). The lifetime cases (LIF-1, LIF-2, LIF-4 to LIF-7) run only with it, each in"
                    + " a NAT context of its own beside the other cases: about 1.5 lifetimes of wall time.")
    String udpLifetime;

    @Option(names = "--lifetime-probe", paramLabel = "DURATION", defaultValue = "3s",
            description = "Without --udp-lifetime: how long LIF-2's quick check leaves a mapping idle (losing it this"
                    + " soon FAILs LIF-2; keeping it proves nothing, so LIF-2 is then reported as not run)."
                    + " Default: ${DEFAULT-VALUE}; --full uses 120s.")
    String lifetimeProbe;

    @Option(names = "--full", description = "Without --udp-lifetime: LIF-2 checked at RFC 4787's 120 s.")
    boolean full;

    @Option(names = "--io-timeout", paramLabel = "DURATION", defaultValue = "3s",
            description = "How long to wait for an expected byte or datagram. Default: ${DEFAULT-VALUE}.")
    String ioTimeout;

    @Option(names = "--policy", paramLabel = "must|must+should", defaultValue = "must",
            description = "Which failed rules make the run fail. Default: ${DEFAULT-VALUE}.")
    String policy;

    @Option(names = "--select", paramLabel = "WHAT[,WHAT...]",
            description = "Run only these: rule IDs (HDR-3), rule areas (NAT) or groups (" + "header, relay, udp, "
                    + "crumfurs, nat, full-cone, bad-input, lifetime, limits, mux).")
    String select;

    @Option(names = "--list", description = "List the selected cases and the rules they check, without running.")
    boolean list;

    @Option(names = "--report-dir", paramLabel = "DIR", defaultValue = "vless-conformance-report",
            description = "Where report.html, report.json, report.md and JUnit XML go. Default: ${DEFAULT-VALUE}.")
    Path reportDir;

    @Option(names = "--restart-cmd", paramLabel = "COMMAND",
            description = "A shell command that restarts the target. When the target stops serving, the suite names"
                    + " the case it died in, runs this, waits for the port and goes on; without it, later cases are"
                    + " TARGET_DOWN.")
    String restartCmd;

    @Option(names = "--fallback",
            description = "The target hands bad input to a fallback server (ERR-2): bad-input cases check that no"
                    + " VLESS byte comes back and that the server keeps serving, instead of the close.")
    boolean fallback;

    @Option(names = "--mux", paramLabel = "auto|required", defaultValue = "auto",
            description = "UDP-MUX (command 5) is optional for a server: with auto, a target that does not answer it"
                    + " with 0x15 gets its rules NOT_APPLICABLE with that reason; with required, MUX-3 FAILs then."
                    + " Default: ${DEFAULT-VALUE}.")
    String mux;

    @Option(names = "--show-secrets",
            description = "Keep user IDs in the console and the reports (by default they read <user-1>, <user-2>:"
                    + " a VLESS user ID is a password, and reports get attached to public bug reports).")
    boolean showSecrets;

    /** Runs the command line and exits with its status. */
    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit status. */
    public static int execute(String... args) {
        CommandLine cmd = new CommandLine(new ConformanceMain());
        cmd.setParameterExceptionHandler((e, a) -> {
            cmd.getErr().println("vless-conformance: " + e.getMessage());
            cmd.getErr().println("Try --help.");
            return 2;
        });
        cmd.setExecutionExceptionHandler((e, c, p) -> {
            if (e instanceof IllegalArgumentException) {
                c.getErr().println("vless-conformance: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cmd.execute(args);
    }

    /** The options these flags describe. */
    TargetOptions options() {
        if (target != null) {
            ShareLink.parse(target); // fail early, with the link's problem
        }
        UUID second = user2 == null ? null : TargetOptions.parseUuid(user2, "--user2");
        Profile p = TargetOptions.parseProfile(profile);
        List<InetAddress> peerList = TargetOptions.parsePeers(peers);
        Duration lifetime = full ? Duration.ofSeconds(120) : TargetOptions.parseDuration(lifetimeProbe,
                "--lifetime-probe");
        if (restartCmd != null && restartCmd.isBlank()) {
            throw new IllegalArgumentException("--restart-cmd: empty (expected: a shell command that restarts the"
                    + " target, such as 'systemctl restart my-vless')");
        }
        if (restartCmd != null && target == null) {
            throw new IllegalArgumentException("--restart-cmd needs --target: the embedded server is restarted by"
                    + " nobody but the suite");
        }
        return new TargetOptions(target, second, p, insecure, ca, peerList,
                TargetOptions.parseDuration(handshakeTimeout, "--handshake-timeout"), lifetime,
                TargetOptions.parseDuration(ioTimeout, "--io-timeout"), TargetOptions.parsePolicy(policy), reportDir,
                restartCmd, fallback, showSecrets,
                udpLifetime == null ? null : TargetOptions.parseDuration(udpLifetime, "--udp-lifetime"),
                TargetOptions.parseMuxRequired(mux, "--mux"));
    }

    @Override
    public Integer call() throws Exception {
        Selection selection = Selection.parse(select);
        TargetOptions o = options();
        if (list) {
            ConformanceRunner.list(selection).forEach(System.out::println);
            return 0;
        }
        return exitStatus(ConformanceRunner.run(o, selection, System.out));
    }

    /** The exit status a report stands for (see {@code --help}). */
    public static int exitStatus(Report report) {
        if (report.unchecked() != null) {
            return 3;
        }
        if (report.rules().stream().anyMatch(r -> r.verdict() == Verdict.FAIL)) {
            return 1;
        }
        if (report.rules().stream().anyMatch(r -> r.verdict() == Verdict.ERROR || r.verdict() == Verdict.BLOCKED
                || r.verdict() == Verdict.TARGET_DOWN)) {
            return 3;
        }
        return report.passed() ? 0 : 1;
    }

    /** The version line. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"vless-conformance " + ConformanceRunner.version()};
        }
    }
}
