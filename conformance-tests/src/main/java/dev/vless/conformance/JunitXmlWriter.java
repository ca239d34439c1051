// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a {@link Report} as JUnit XML for CI systems, {@code junit/TEST-vless-conformance.xml}: one test suite, one
 * test case per conformance case, named after the case ({@code "NAT-2 · ..."}) and classed by its rule's area
 * ({@code NAT}), so CI shows rules rather than Java methods. The file is built from the report, not from the JUnit
 * run, so it carries the suite's verdicts: a BLOCKED case is skipped naming its blocker, a WARN passes with its
 * message.
 */
public final class JunitXmlWriter {

    /** The file's name inside {@code dir/junit}. */
    public static final String FILE_NAME = "TEST-vless-conformance.xml";

    private static final Pattern AREA = Pattern.compile("(.+?)-\\d+");

    private JunitXmlWriter() {
    }

    /** Writes {@code dir/junit/TEST-vless-conformance.xml}. */
    public static void write(Report report, Path dir) throws IOException {
        Path junit = dir.resolve("junit");
        Files.createDirectories(junit);
        Files.writeString(junit.resolve(FILE_NAME), xml(report), StandardCharsets.UTF_8);
    }

    /** The XML document. */
    public static String xml(Report r) {
        List<Report.CaseResult> cases = HtmlReportWriter.inRunOrder(r.cases());
        int failures = 0;
        int errors = 0;
        int skipped = 0;
        for (Report.CaseResult c : cases) {
            switch (c.verdict()) {
                case FAIL:
                    failures++;
                    break;
                case ERROR:
                    errors++;
                    break;
                case PASS:
                case WARN:
                case INFORMATIONAL:
                    break;
                default:
                    skipped++;
            }
        }
        // CI must not go green when the command exits non-zero: a target that could not be checked has no failing
        // case (often no case at all), and a run can fail without a failing case (a rule-level ERROR).
        boolean preflight = r.unchecked() != null;
        boolean runFailed = !preflight && !r.passed() && failures == 0 && errors == 0;
        int tests = cases.size() + (preflight || runFailed ? 1 : 0);
        errors += preflight ? 1 : 0;
        failures += runFailed ? 1 : 0;

        StringBuilder b = new StringBuilder(32 * 1024);
        b.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"vless-conformance\"")
                .append(attr("tests", Integer.toString(tests)))
                .append(attr("failures", Integer.toString(failures)))
                .append(attr("errors", Integer.toString(errors)))
                .append(attr("skipped", Integer.toString(skipped)))
                .append(attr("time", seconds(r.durationMs())));
        String timestamp = timestamp(r.startedAt());
        if (timestamp != null) {
            b.append(attr("timestamp", timestamp));
        }
        b.append(">\n  <properties>\n");
        property(b, "vless.target", r.target());
        property(b, "vless.profile", r.profile());
        property(b, "vless.policy", r.policy());
        property(b, "vless.suiteVersion", r.suiteVersion());
        property(b, "vless.startedAt", r.startedAt());
        property(b, "vless.passed", Boolean.toString(r.passed()));
        if (r.unchecked() != null) {
            property(b, "vless.unchecked", r.unchecked());
        }
        if (r.classification() != null) {
            r.classification().forEach((k, v) -> property(b, "nat." + k, v));
        }
        b.append("  </properties>\n");
        if (preflight) {
            b.append("  <testcase classname=\"suite\" name=\"pre-flight · the target can be checked\" time=\"0\">\n")
                    .append("    <error").append(attr("message", "target not checked: " + firstLine(r.unchecked())))
                    .append(" type=\"TARGET_UNCHECKED\">").append(text(r.unchecked())).append("</error>\n")
                    .append("  </testcase>\n");
        }
        for (Report.CaseResult c : cases) {
            testcase(b, c);
        }
        if (runFailed) {
            b.append("  <testcase classname=\"suite\" name=\"run result\" time=\"0\">\n    <failure")
                    .append(attr("message", "the run failed under policy " + r.policy()))
                    .append(" type=\"FAIL\">see report.html or report.md for the rules that failed</failure>\n")
                    .append("  </testcase>\n");
        }
        b.append("  <system-out>").append(text(summary(r))).append("</system-out>\n</testsuite>\n");
        return b.toString();
    }

    private static void testcase(StringBuilder b, Report.CaseResult c) {
        b.append("  <testcase").append(attr("name", c.displayName())).append(attr("classname", area(c.rules())))
                .append(attr("time", seconds(c.durationMs())));
        String message = c.message() == null ? "" : c.message();
        String first = firstLine(message);
        switch (c.verdict()) {
            case PASS:
            case INFORMATIONAL:
                b.append("/>\n");
                return;
            case WARN:
                b.append(">\n    <system-out>").append(text(message)).append("</system-out>\n  </testcase>\n");
                return;
            case FAIL:
                b.append(">\n    <failure").append(attr("message", first)).append(" type=\"FAIL\">")
                        .append(text(withEvidence(message, c.evidence()))).append("</failure>\n  </testcase>\n");
                return;
            case ERROR:
                b.append(">\n    <error").append(attr("message", first)).append(" type=\"ERROR\">")
                        .append(text(withEvidence(message, c.evidence()))).append("</error>\n  </testcase>\n");
                return;
            case BLOCKED:
                skipped(b, (c.blockedBy() != null ? "blocked by " + c.blockedBy() : "blocked")
                        + (first.isEmpty() ? "" : ": " + first));
                return;
            case TARGET_DOWN:
                skipped(b, "target down" + (first.isEmpty() ? "" : ": " + first));
                return;
            case NOT_APPLICABLE:
                skipped(b, "not applicable" + (first.isEmpty() ? "" : ": " + first));
                return;
            case NOT_OBSERVABLE:
                skipped(b, "not observable" + (first.isEmpty() ? "" : ": " + first));
                return;
            default:
                skipped(b, c.verdict().name() + (first.isEmpty() ? "" : ": " + first));
        }
    }

    private static void skipped(StringBuilder b, String message) {
        b.append(">\n    <skipped").append(attr("message", message)).append("/>\n  </testcase>\n");
    }

    private static void property(StringBuilder b, String name, String value) {
        b.append("    <property").append(attr("name", name)).append(attr("value", value == null ? "" : value))
                .append("/>\n");
    }

    /** The area of the case's first rule ("NAT" for NAT-2), the class CI tools group by. */
    static String area(List<String> rules) {
        if (rules == null || rules.isEmpty()) {
            return "suite";
        }
        Matcher m = AREA.matcher(rules.get(0));
        return m.matches() ? m.group(1) : rules.get(0);
    }

    private static String withEvidence(String message, List<String> evidence) {
        if (evidence == null || evidence.isEmpty()) {
            return message;
        }
        return message + "\n\nwire log:\n" + String.join("\n", evidence);
    }

    private static String summary(Report r) {
        StringBuilder s = new StringBuilder("VLESS conformance: ");
        s.append(r.unchecked() != null ? "NOT CHECKED" : r.passed() ? "PASSED" : "FAILED")
                .append(" (profile ").append(r.profile()).append(", policy ").append(r.policy()).append(")\nrules:");
        if (r.summary() != null) {
            for (Map.Entry<String, Integer> e : r.summary().entrySet()) {
                if (e.getValue() != null && e.getValue() > 0) {
                    s.append(' ').append(e.getKey()).append('=').append(e.getValue());
                }
            }
        }
        if (r.rootCauses() != null) {
            for (Report.RootCause c : r.rootCauses()) {
                s.append("\nroot cause: ").append(c.rule() != null ? c.rule() : "target").append(": ")
                        .append(c.summary());
            }
        }
        return s.toString();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static String seconds(long ms) {
        return String.format(Locale.ROOT, "%.3f", ms / 1000.0);
    }

    /** JUnit XML's timestamp is a local date-time without zone (Ant's schema); the report's start is UTC. */
    private static String timestamp(String startedAt) {
        if (startedAt == null) {
            return null;
        }
        try {
            return LocalDateTime.ofInstant(Instant.parse(startedAt).truncatedTo(ChronoUnit.SECONDS), ZoneOffset.UTC)
                    .toString();
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static String attr(String name, String value) {
        return " " + name + "=\"" + escape(value, true) + "\"";
    }

    private static String text(String value) {
        return escape(value, false);
    }

    /**
     * Escapes for XML 1.0 and drops the characters it cannot carry at all (most C0 controls, U+FFFE, U+FFFF, lone
     * surrogates). In attributes, line breaks and tabs become character references so parsers keep them.
     */
    static String escape(String s, boolean attribute) {
        if (s == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            boolean legal = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF)
                    || (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
            if (!legal) {
                continue;
            }
            switch (cp) {
                case '&':
                    out.append("&amp;");
                    break;
                case '<':
                    out.append("&lt;");
                    break;
                case '>':
                    out.append("&gt;");
                    break;
                case '"':
                    out.append(attribute ? "&quot;" : "\"");
                    break;
                case '\n':
                    out.append(attribute ? "&#10;" : "\n");
                    break;
                case '\r':
                    out.append("&#13;");
                    break;
                case '\t':
                    out.append(attribute ? "&#9;" : "\t");
                    break;
                default:
                    out.appendCodePoint(cp);
            }
        }
        return out.toString();
    }
}
