// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import static java.util.Objects.requireNonNull;

import dev.vless.link.ShareLink;
import dev.vless.spec.Profile;
import dev.vless.spec.SpecRule;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/**
 * The conformance suite as a library: run it against any VLESS server from another project's code or tests.
 *
 * <pre>{@code
 * Report report = VlessConformance.builder()
 *         .target("vless://" + user + "@127.0.0.1:" + port + "?security=none")
 *         .user2(secondUser)
 *         .select("HDR,UDP,crumfurs")
 *         .build()
 *         .run();
 * assertThat(report.passed()).isTrue();
 * }</pre>
 *
 * or, in JUnit 5, one test per rule:
 *
 * <pre>{@code
 * @TestFactory
 * Stream<DynamicTest> vlessConformance() {
 *     return VlessConformance.builder().target(link).user2(secondUser).build().ruleTests();
 * }
 * }</pre>
 *
 * Runs share no state: several may go on at once in one JVM, each with its own target, report and console. Without
 * {@link Builder#target} the suite starts the embedded reference server. Nothing is written to disk unless a report
 * directory is given; nothing is printed unless a console is given.
 */
public final class VlessConformance {

    private final TargetOptions options;
    private final Selection selection;
    private final PrintStream console;
    private final boolean writeFiles;
    private final List<Consumer<Report>> sinks;

    private VlessConformance(Builder b) {
        TargetOptions d = TargetOptions.defaults();
        this.options = new TargetOptions(b.link, b.user2, b.profile, b.insecure, b.caFile,
                b.peers != null ? b.peers : d.peerAddresses(),
                b.handshakeTimeout != null ? b.handshakeTimeout : d.handshakeTimeout(),
                b.lifetimeProbe != null ? b.lifetimeProbe : d.lifetimeProbe(),
                b.ioTimeout != null ? b.ioTimeout : d.ioTimeout(), b.policy,
                b.reportDir != null ? b.reportDir : d.reportDir(), b.restartCommand, b.fallback, b.showSecrets,
                b.udpLifetime, b.muxRequired);
        this.selection = b.selection;
        this.console = b.console;
        this.writeFiles = b.reportDir != null;
        this.sinks = List.copyOf(b.sinks);
    }

    /** A builder with the suite's defaults: the embedded reference server, profile v1, every case. */
    public static Builder builder() {
        return new Builder();
    }

    /** The options this run uses, as the command line would spell them. */
    public TargetOptions options() {
        return options;
    }

    /**
     * Runs the selected cases (after the pre-flight) and returns the report, with user IDs redacted unless
     * {@link Builder#showSecrets}. Never throws for what the target does: a target that cannot be checked gives a
     * report whose {@link Report#unchecked()} says why.
     *
     * @throws UncheckedIOException when a report file cannot be written
     */
    public Report run() {
        Report report;
        try {
            report = ConformanceRunner.run(options, selection, console, writeFiles);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        sinks.forEach(s -> s.accept(report));
        return report;
    }

    /**
     * One JUnit 5 dynamic test per rule of the specification: the suite runs once, when the first of them executes,
     * and each test then stands for its rule's verdict. FAIL, ERROR, BLOCKED and TARGET_DOWN fail the test (with the
     * rule's note); NOT_APPLICABLE, NOT_OBSERVABLE and UNCOVERED abort it (skipped, with the reason); PASS, WARN (under
     * the {@code must} policy) and INFORMATIONAL pass. Return it from a {@code @TestFactory} method.
     */
    public Stream<DynamicTest> ruleTests() {
        Report[] once = new Report[1];
        List<DynamicTest> tests = new ArrayList<>();
        for (SpecRule rule : SpecRule.values()) {
            String name = rule.id() + " (" + rule.level().name() + ") · " + rule.requirement();
            tests.add(DynamicTest.dynamicTest(name, () -> {
                synchronized (once) {
                    if (once[0] == null) {
                        once[0] = run();
                    }
                }
                judge(once[0], rule.id());
            }));
        }
        return tests.stream();
    }

    private static void judge(Report report, String rule) {
        if (report.unchecked() != null) {
            throw new AssertionFailedError(rule + ": the target could not be checked: " + report.unchecked());
        }
        Report.RuleResult r = report.rules().stream().filter(x -> x.id().equals(rule)).findFirst().orElseThrow();
        String note = r.note() == null ? "" : ": " + r.note();
        switch (r.verdict()) {
            case FAIL, ERROR, BLOCKED, TARGET_DOWN -> throw new AssertionFailedError(rule + " " + r.verdict() + note);
            case NOT_APPLICABLE, NOT_OBSERVABLE, UNCOVERED ->
                    throw new TestAbortedException(rule + " " + r.verdict() + note);
            default -> {
                // PASS, WARN (an unmet SHOULD does not fail under the must policy), INFORMATIONAL
            }
        }
    }

    /** Settings of a run; each setter checks its value at once. */
    public static final class Builder {
        private String link;
        private UUID user2;
        private Profile profile = Profile.V1;
        private boolean insecure;
        private Path caFile;
        private List<InetAddress> peers;
        private Duration handshakeTimeout;
        private Duration lifetimeProbe;
        private Duration udpLifetime;
        private Duration ioTimeout;
        private Policy policy = Policy.MUST;
        private Selection selection = Selection.all();
        private Path reportDir;
        private PrintStream console;
        private String restartCommand;
        private boolean fallback;
        private boolean muxRequired;
        private boolean showSecrets;
        private final List<Consumer<Report>> sinks = new ArrayList<>();

        private Builder() {
        }

        /** The server's share link ({@code vless://UUID@host:port?security=tls&sni=...} or {@code security=none}). */
        public Builder target(String shareLink) {
            ShareLink.parse(requireNonNull(shareLink, "shareLink")); // fails now, saying what is wrong with it
            this.link = shareLink;
            return this;
        }

        /** A second user of the same server, for the isolation cases. */
        public Builder user2(UUID user) {
            this.user2 = requireNonNull(user, "user");
            return this;
        }

        /** The profile to hold the server to (default v1). */
        public Builder profile(Profile profile) {
            this.profile = requireNonNull(profile, "profile");
            return this;
        }

        /** Accept any TLS certificate. */
        public Builder insecure() {
            this.insecure = true;
            return this;
        }

        /** Trust the CA certificates in this PEM file. */
        public Builder caFile(Path pem) {
            this.caFile = requireNonNull(pem, "pem");
            return this;
        }

        /** Addresses of this machine where the harness's peers listen (default 127.0.0.1, .2 and .3). */
        public Builder peers(List<InetAddress> addresses) {
            if (addresses.isEmpty()) {
                throw new IllegalArgumentException("peers: none (expected: at least one IP the server can reach)");
            }
            this.peers = List.copyOf(addresses);
            return this;
        }

        /** The target's handshake deadline; bad-input cases allow it plus 1 s (default 4 s). */
        public Builder handshakeTimeout(Duration d) {
            this.handshakeTimeout = positive(d, "handshakeTimeout");
            return this;
        }

        /** How long mapping-lifetime cases stay idle (default 3 s). */
        public Builder lifetimeProbe(Duration d) {
            this.lifetimeProbe = positive(d, "lifetimeProbe");
            return this;
        }

        /**
         * The UDP lifetime the target is configured with (§13). The lifetime cases run only when it is given, in NAT
         * contexts of their own beside the other cases, and take about one and a half lifetimes of wall time.
         */
        public Builder udpLifetime(Duration d) {
            this.udpLifetime = positive(d, "udpLifetime");
            return this;
        }

        /** How long to wait for an expected byte or datagram (default 3 s). */
        public Builder ioTimeout(Duration d) {
            this.ioTimeout = positive(d, "ioTimeout");
            return this;
        }

        /** Which failed rules fail the run (default MUST). */
        public Builder policy(Policy policy) {
            this.policy = requireNonNull(policy, "policy");
            return this;
        }

        /** Rule IDs, areas and groups, as {@code --select} takes them ({@code "HDR-3,NAT,crumfurs"}). */
        public Builder select(String selection) {
            this.selection = Selection.parse(selection);
            return this;
        }

        /** Writes report.html, .md, .json and JUnit XML into {@code dir} (checked to be writable when the run starts). */
        public Builder reportDir(Path dir) {
            this.reportDir = requireNonNull(dir, "dir");
            return this;
        }

        /** Prints the progress and the summary on {@code out}, as the command line does. */
        public Builder console(PrintStream out) {
            this.console = requireNonNull(out, "out");
            return this;
        }

        /** Hands every finished report to {@code sink} too. */
        public Builder onReport(Consumer<Report> sink) {
            this.sinks.add(requireNonNull(sink, "sink"));
            return this;
        }

        /** A shell command that restarts the target when it stops serving (see {@code --restart-cmd}). */
        public Builder restartCommand(String command) {
            if (command == null || command.isBlank()) {
                throw new IllegalArgumentException("restartCommand: empty (expected: a shell command)");
            }
            this.restartCommand = command;
            return this;
        }

        /**
         * Whether the target must offer UDP-MUX (command 5; see {@code --mux}): {@code "auto"} (the default: without
         * its 0x15 answer the mode's rules are NOT_APPLICABLE) or {@code "required"} (MUX-3 then FAILs).
         */
        public Builder mux(String mode) {
            this.muxRequired = TargetOptions.parseMuxRequired(mode, "mux");
            return this;
        }

        /** The target hands bad input to a fallback server (see {@code --fallback}). */
        public Builder fallback() {
            this.fallback = true;
            return this;
        }

        /** Keeps user IDs in the report and console (redacted by default). */
        public Builder showSecrets() {
            this.showSecrets = true;
            return this;
        }

        /** The run, its options checked against each other. */
        public VlessConformance build() {
            if (restartCommand != null && link == null) {
                throw new IllegalArgumentException("restartCommand needs a target: the embedded server is restarted"
                        + " by nobody but the suite");
            }
            VlessConformance c = new VlessConformance(this);
            ConformanceRunner.checkTlsOptions(c.options);
            return c;
        }

        private static Duration positive(Duration d, String what) {
            requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + ": " + d.toString().toLowerCase(Locale.ROOT)
                        + " (expected: positive)");
            }
            return d;
        }
    }
}
