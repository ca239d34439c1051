// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import dev.vless.link.ShareLink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs the cases against a target through the JUnit Platform, and writes the reports: the suite's JSON and Markdown,
 * and JUnit XML for CI systems. The command line, {@code mvn verify} and the v2ray check all run the suite this way.
 */
public final class ConformanceRunner {

    /** The package the cases live in. */
    public static final String CASES_PACKAGE = "dev.vless.conformance.cases";

    private ConformanceRunner() {
    }

    /** The suite's version. */
    public static String version() {
        String v = ConformanceRunner.class.getPackage().getImplementationVersion();
        return v != null ? v : "0.1.0-SNAPSHOT";
    }

    /**
     * Runs the selected cases against the target {@code options} name, writes the reports, and returns the report
     * (with user IDs redacted unless {@link TargetOptions#showSecrets()}). Before any case, a pre-flight checks that
     * the target serves what the cases build on; when it does not, no case runs and {@link Report#unchecked()} says
     * why. Interrupted (Ctrl-C), the run still writes what it has.
     *
     * @throws IllegalArgumentException when the options contradict each other or the report directory is unusable
     */
    public static Report run(TargetOptions options, Selection selection, PrintStream console) throws IOException {
        return run(options, selection, console, true);
    }

    /** {@link #run(TargetOptions, Selection, PrintStream)}, writing the report files only if {@code writeFiles}. */
    static Report run(TargetOptions options, Selection selection, PrintStream console, boolean writeFiles)
            throws IOException {
        if (writeFiles) {
            checkOptions(options);
        } else {
            checkTlsOptions(options);
        }
        ConformanceRun run = new ConformanceRun(options).register();
        RunEvents events = run.events();
        events.echoTo(console);
        try {
            String description;
            String unchecked = null;
            VlessTarget target = null;
            try {
                target = run.target();
                description = target.description();
            } catch (RuntimeException e) {
                description = (options.link() != null ? options.link() : "embedded reference server");
                unchecked = e.getMessage();
            }
            Redaction redaction = options.showSecrets() ? Redaction.NONE : target != null
                    ? Redaction.of(target.user(), target.user2())
                    : Redaction.of(options.link() == null ? null : ShareLink.parse(options.link()).user(),
                    options.user2());
            if (console != null) {
                console.println("VLESS conformance " + version() + " — " + redaction.apply(description) + " — profile "
                        + options.profile().name().toLowerCase(java.util.Locale.ROOT));
            }
            if (unchecked == null) {
                unchecked = Preflight.check(target, console, events);
                if (unchecked != null && !unchecked.startsWith("nothing accepts connections")) {
                    unchecked = run.liveness().afterFailedPreflight(unchecked);
                }
            }
            ReportCollector collector = new ReportCollector(console, redaction);
            boolean partial = !selection.tags().isEmpty();
            String finalDescription = description;
            if (unchecked == null) {
                if (console != null) {
                    console.println("Pre-flight passed.");
                }
                // Ctrl-C: the cases so far still make a report.
                Thread onInterrupt = new Thread(() -> {
                    events.add("interrupted (Ctrl-C): the report holds the cases finished so far");
                    try {
                        if (writeFiles) {
                            write(redaction.apply(collector.report(finalDescription, options.profile(),
                                    options.policy(), version(), true, events.all(), null)), options, null);
                        }
                    } catch (IOException | RuntimeException e) {
                        System.err.println("vless-conformance: could not write the partial report: " + e);
                    }
                }, "vless-conformance-interrupted");
                Runtime.getRuntime().addShutdownHook(onInterrupt);
                try {
                    // Side by side only when the lifetime cases wait lifetimes: a death among cases run side by side
                    // cannot be pinned on one of them.
                    boolean sideBySide = target.has(Capability.LOOPBACK_TARGET) && target.udpLifetime() != null;
                    LauncherFactory.create().execute(request(selection, run.id(), sideBySide), collector);
                } finally {
                    try {
                        Runtime.getRuntime().removeShutdownHook(onInterrupt);
                    } catch (IllegalStateException e) {
                        // already shutting down: the hook writes the report
                    }
                }
            } else if (console != null) {
                console.println("Not checked: " + redaction.apply(unchecked));
            }
            Report report = redaction.apply(collector.report(description, options.profile(), options.policy(),
                    version(), partial, events.all(), unchecked));
            if (writeFiles) {
                write(report, options, console);
            } else if (console != null) {
                ReportWriter.printTable(report, console);
            }
            return report;
        } finally {
            events.echoTo(null);
            run.close();
        }
    }

    /** Writes every report format, and with a console the summary that leads with the root causes. */
    private static void write(Report report, TargetOptions options, PrintStream console) throws IOException {
        writeReports(report, options.reportDir(), console);
    }

    /**
     * Writes {@code report} in every format into {@code dir} (HTML, Markdown, JSON, JUnit XML), and with a console the
     * verdict table and where the files are.
     */
    public static void writeReports(Report report, Path dir, PrintStream console) throws IOException {
        ReportWriter.write(report, dir);
        HtmlReportWriter.write(report, dir, specBase(dir));
        JunitXmlWriter.write(report, dir);
        if (console != null) {
            ReportWriter.printTable(report, console);
            console.println("Reports: " + dir.toAbsolutePath().resolve("report.html") + " (also report.md,"
                    + " report.json, and JUnit XML in " + dir.resolve("junit") + ")");
        }
    }

    /**
     * Where the HTML report links rule IDs to: spec/VLESS.md of the checkout the suite runs in, relative to the report,
     * found by walking up from the working directory; else the document's path in the repository.
     */
    static String specBase(Path reportDir) {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            Path spec = dir.resolve("spec").resolve("VLESS.md");
            if (Files.isRegularFile(spec)) {
                return reportDir.toAbsolutePath().normalize().relativize(spec).toString().replace('\\', '/');
            }
            dir = dir.getParent();
        }
        return "spec/VLESS.md";
    }

    /**
     * Checks what can be checked before the first case, so that a mistake costs seconds, not a whole run: conflicting
     * TLS options (the client's rules) and a report directory that cannot be written.
     */
    static void checkOptions(TargetOptions o) {
        checkTlsOptions(o);
        checkReportDir(o.reportDir());
    }

    /** Fails with what to do when {@code reportDir} cannot be created or written. */
    public static void checkReportDir(Path reportDir) {
        Path dir = reportDir.toAbsolutePath();
        try {
            Files.createDirectories(dir);
            Path probe = Files.createTempFile(dir, ".write-test", ".tmp");
            Files.delete(probe);
        } catch (IOException | SecurityException e) {
            throw new IllegalArgumentException("--report-dir " + reportDir + ": cannot write there ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + "); give a directory you can write");
        }
    }

    /** The client's rules for TLS options, and a CA file that can be read. */
    static void checkTlsOptions(TargetOptions o) {
        if (o.link() != null) {
            ShareLink link = ShareLink.parse(o.link());
            if (o.insecure() && o.caFile() != null) {
                throw new IllegalArgumentException("--insecure turns certificate checks off and --ca sets how to check"
                        + " them; give one or the other");
            }
            if (!link.tls() && (o.insecure() || o.caFile() != null)) {
                throw new IllegalArgumentException((o.insecure() ? "--insecure" : "--ca") + " applies to TLS, but the"
                        + " share link says security=none; drop the option or use a link with security=tls");
            }
            if (o.caFile() != null && !link.pinnedSha256().isEmpty()) {
                throw new IllegalArgumentException("--ca sets the CAs to trust, but the share link pins the"
                        + " certificate (pcs=); give one or the other");
            }
        }
        if (o.caFile() != null && !(Files.isRegularFile(o.caFile()) && Files.isReadable(o.caFile()))) {
            throw new IllegalArgumentException("--ca " + o.caFile() + ": " + (Files.exists(o.caFile())
                    ? "cannot read it" : "no such file") + " (expected: a readable PEM file of CA certificates)");
        }
    }

    /** The selected cases, without running them: display name and rules. */
    public static List<String> list(Selection selection) {
        return describe(LauncherFactory.create().discover(request(selection, "none", false)));
    }

    /** Each case of {@code plan}: its display name and tags, as {@code --list} prints them. */
    public static List<String> describe(TestPlan plan) {
        List<String> out = new ArrayList<>();
        for (TestIdentifier root : plan.getRoots()) {
            collect(plan, root, out);
        }
        return out;
    }

    private static void collect(TestPlan plan, TestIdentifier id, List<String> out) {
        if (id.isTest()) {
            List<String> tags = id.getTags().stream().map(t -> t.getName()).sorted().toList();
            out.add(id.getDisplayName() + "  " + tags);
        }
        for (TestIdentifier child : plan.getChildren(id)) {
            collect(plan, child, out);
        }
    }

    /**
     * The launch of the selected cases. With {@code ownContexts} (a target on loopback, so the harness can connect
     * from other client IPs), the case classes marked {@code @Execution(CONCURRENT)} — the lifetime and limit cases,
     * which wait lifetimes and each work in a NAT context of their own — run beside the others; every other class
     * still runs one case at a time, since those cases share the main context.
     */
    private static LauncherDiscoveryRequest request(Selection selection, String runId, boolean ownContexts) {
        LauncherDiscoveryRequestBuilder b = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage(CASES_PACKAGE))
                .configurationParameter(ConformanceRun.RUN_PARAMETER, runId)
                .filters(TagFilter.includeTags("conformance"))
                // The cases are not the build's unit tests: no auto-detected extensions from a test classpath.
                .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "false")
                .configurationParameter("junit.jupiter.execution.parallel.enabled", String.valueOf(ownContexts))
                .configurationParameter("junit.jupiter.execution.parallel.mode.default", "same_thread")
                .configurationParameter("junit.jupiter.execution.parallel.mode.classes.default", "same_thread")
                // The concurrent cases mostly sleep: a thread each, not a thread per core.
                .configurationParameter("junit.jupiter.execution.parallel.config.strategy", "fixed")
                .configurationParameter("junit.jupiter.execution.parallel.config.fixed.parallelism", "16");
        if (!selection.tags().isEmpty()) {
            b.filters(TagFilter.includeTags(new ArrayList<>(selection.tags())));
        }
        return b.build();
    }
}
