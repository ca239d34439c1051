// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Writes a {@link Report} as JSON, as Markdown, and as the verdict table on the console. */
public final class ReportWriter {

    private ReportWriter() {
    }

    /** Writes {@code report.json} and {@code report.md} into {@code dir}. */
    public static void write(Report report, Path dir) throws IOException {
        Files.createDirectories(dir);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("report.json").toFile(),
                report);
        Files.writeString(dir.resolve("report.md"), markdown(report), StandardCharsets.UTF_8);
    }

    /** The human-readable report. */
    public static String markdown(Report r) {
        StringBuilder b = new StringBuilder();
        b.append("# VLESS conformance report\n\n");
        b.append("| | |\n|---|---|\n");
        b.append("| target | ").append(cell(r.target())).append(" |\n");
        b.append("| profile | ").append(r.profile()).append(" |\n");
        b.append("| policy | ").append(r.policy()).append(" |\n");
        b.append("| result | **").append(result(r)).append("** |\n");
        b.append("| suite | ").append(r.suiteVersion()).append(" |\n");
        b.append("| started | ").append(r.startedAt()).append(" (").append(r.durationMs() / 1000.0).append(" s) |\n\n");
        b.append("Rules by verdict: ");
        r.summary().forEach((k, v) -> {
            if (v > 0) {
                b.append(k).append(' ').append(v).append(" · ");
            }
        });
        b.append("\n\n");
        if (r.unchecked() != null) {
            b.append("## Not checked\n\n").append(r.unchecked()).append("\n\n");
        }
        if (!r.rootCauses().isEmpty()) {
            b.append("## Root causes\n\n");
            int n = 0;
            for (Report.RootCause c : r.rootCauses()) {
                b.append(++n).append(". **").append(c.rule() == null ? "target died" : c.rule()).append("** — ")
                        .append(cell(c.summary())).append('\n');
                if (!c.failedCases().isEmpty()) {
                    b.append("   - failed: ").append(cell(String.join("; ", c.failedCases()))).append('\n');
                }
                if (!c.blockedCases().isEmpty()) {
                    b.append("   - ").append(c.rule() == null ? "not run after it: " : "blocked: ")
                            .append(c.blockedCases().size()).append(" case(s)")
                            .append(c.blockedRules().isEmpty() ? "" : ", leaving " + String.join(", ", c.blockedRules())
                                    + " without a verdict").append('\n');
                }
                if (!c.reproduce().isEmpty()) {
                    b.append("   - reproduce: `").append(c.reproduce()).append("`\n");
                }
            }
            b.append('\n');
        }
        if (!r.events().isEmpty()) {
            b.append("## Run events\n\n");
            r.events().forEach(e -> b.append("- ").append(cell(e)).append('\n'));
            b.append('\n');
        }
        b.append("## NAT classification\n\n");
        if (r.classification().isEmpty()) {
            b.append("No classification (no NAT case ran).\n");
        } else {
            b.append("| finding | value |\n|---|---|\n");
            for (Map.Entry<String, String> e : r.classification().entrySet()) {
                b.append("| ").append(e.getKey()).append(" | ").append(cell(e.getValue())).append(" |\n");
            }
        }
        b.append("\n## Rules\n\n| rule | level | verdict | note |\n|---|---|---|---|\n");
        for (Report.RuleResult rule : r.rules()) {
            b.append("| ").append(rule.id()).append(" | ").append(rule.level()).append(" | ")
                    .append(rule.verdict()).append(" | ").append(cell(firstLine(rule.note()))).append(" |\n");
        }
        b.append("\n## Cases\n");
        for (Report.CaseResult c : r.cases()) {
            b.append("\n### ").append(c.order() == 0 ? "" : "#" + c.order() + " ").append(c.displayName())
                    .append(" — ").append(c.verdict()).append("\n\n");
            b.append("Rules: ").append(String.join(", ", c.rules())).append(" (").append(c.level()).append(")");
            if (c.order() > 0) {
                b.append(String.format(java.util.Locale.ROOT, " · started %.1f s into the run, took %.1f s",
                        c.startMs() / 1000.0, c.durationMs() / 1000.0));
            }
            if (c.blockedBy() != null) {
                b.append(" · blocked by ").append(c.blockedBy());
            }
            b.append('\n');
            if (c.verdict() == Verdict.FAIL || c.verdict() == Verdict.ERROR || c.verdict() == Verdict.BLOCKED) {
                b.append("\nReproduce: `--select ").append(c.rules().isEmpty() ? "" : c.rules().get(0)).append("`\n");
            }
            if (c.message() != null) {
                b.append("\n```\n").append(c.message()).append("\n```\n");
            }
            if (!c.facts().isEmpty()) {
                b.append('\n');
                c.facts().forEach((k, v) -> b.append("- ").append(k).append(": ").append(v).append('\n'));
            }
            if (!c.evidence().isEmpty() && c.verdict() != Verdict.PASS) {
                b.append("\n<details><summary>wire log</summary>\n\n```\n");
                c.evidence().forEach(line -> b.append(line).append('\n'));
                b.append("```\n</details>\n");
            }
        }
        return b.toString();
    }

    /** PASSED, FAILED, or NOT CHECKED when the pre-flight failed. */
    static String result(Report r) {
        return r.unchecked() != null ? "NOT CHECKED" : r.passed() ? "PASSED" : "FAILED";
    }

    /** The verdict table for the console, led by what the user must read first: why not checked, root causes. */
    public static void printTable(Report r, PrintStream out) {
        out.println();
        out.println("VLESS conformance — " + r.target() + " — profile " + r.profile());
        if (r.unchecked() != null) {
            out.println("NOT CHECKED: " + r.unchecked());
        }
        if (!r.rootCauses().isEmpty()) {
            out.println("Root causes (first failing first):");
            int n = 0;
            for (Report.RootCause c : r.rootCauses()) {
                out.println(String.format("  %d. %s — %s", ++n, c.rule() == null ? "target died" : c.rule(),
                        c.summary()));
                if (!c.blockedCases().isEmpty()) {
                    out.println("     " + (c.rule() == null ? "not run after it: " : "blocked: ")
                            + c.blockedCases().size() + " case(s)" + (c.blockedRules().isEmpty() ? ""
                            : ", leaving " + String.join(", ", c.blockedRules()) + " without a verdict"));
                }
                if (!c.reproduce().isEmpty()) {
                    out.println("     reproduce: " + c.reproduce());
                }
            }
        }
        if (!r.events().isEmpty()) {
            out.println("Run events:");
            r.events().forEach(e -> out.println("  " + e));
        }
        out.println();
        out.println(String.format("%-8s %-6s %-15s %s", "RULE", "LEVEL", "VERDICT", "NOTE"));
        for (Report.RuleResult rule : r.rules()) {
            out.println(String.format("%-8s %-6s %-15s %s", rule.id(), rule.level(), rule.verdict(),
                    truncate(firstLine(rule.note()), 110)));
        }
        if (!r.classification().isEmpty()) {
            out.println();
            out.println("NAT classification:");
            r.classification().forEach((k, v) -> out.println("  " + k + ": " + v));
        }
        out.println();
        StringBuilder s = new StringBuilder();
        r.summary().forEach((k, v) -> {
            if (v > 0) {
                s.append(k).append('=').append(v).append(' ');
            }
        });
        out.println("Rules: " + s.toString().trim());
        out.println("Result: " + result(r) + " (policy " + r.policy() + ")");
    }

    static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static String truncate(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "…";
    }

    private static String cell(String s) {
        return s == null ? "" : s.replace("|", "\\|").replace("\n", " ");
    }
}
