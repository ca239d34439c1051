package dev.vless.conformance;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.reporting.legacy.xml.LegacyXmlReportGeneratingListener;

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

    /** Runs the selected cases against the target {@code options} name, writes the reports, and returns the report. */
    public static Report run(TargetOptions options, Selection selection, PrintStream console) throws IOException {
        Targets.configure(options);
        try {
            Launcher launcher = LauncherFactory.create();
            ReportCollector collector = new ReportCollector();
            PrintWriter xmlErrors = new PrintWriter(System.err, true);
            LegacyXmlReportGeneratingListener xml = new LegacyXmlReportGeneratingListener(
                    options.reportDir().resolve("junit"), xmlErrors);
            launcher.execute(request(selection), collector, xml);
            String description;
            try {
                description = Targets.current().description();
            } catch (RuntimeException e) {
                description = (options.link() != null ? options.link() : "embedded reference server")
                        + " (unreachable: " + e.getMessage() + ")";
            }
            Report report = collector.report(description, options.profile(), options.policy(), version(),
                    !selection.tags().isEmpty());
            ReportWriter.write(report, options.reportDir());
            if (console != null) {
                ReportWriter.printTable(report, console);
                console.println("Reports: " + options.reportDir().toAbsolutePath().resolve("report.md") + " and "
                        + "report.json, JUnit XML in " + options.reportDir().resolve("junit"));
            }
            return report;
        } finally {
            Targets.close();
        }
    }

    /** The selected cases, without running them: display name and rules. */
    public static List<String> list(Selection selection) {
        TestPlan plan = LauncherFactory.create().discover(request(selection));
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

    private static LauncherDiscoveryRequest request(Selection selection) {
        LauncherDiscoveryRequestBuilder b = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage(CASES_PACKAGE))
                .filters(TagFilter.includeTags("conformance"))
                // The cases are not the build's unit tests: no auto-detected extensions from a test classpath.
                .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "false");
        if (!selection.tags().isEmpty()) {
            b.filters(TagFilter.includeTags(new ArrayList<>(selection.tags())));
        }
        return b.build();
    }
}
