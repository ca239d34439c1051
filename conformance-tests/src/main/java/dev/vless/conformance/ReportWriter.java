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
        b.append("| result | **").append(r.passed() ? "PASSED" : "FAILED").append("** |\n");
        b.append("| suite | ").append(r.suiteVersion()).append(" |\n");
        b.append("| started | ").append(r.startedAt()).append(" (").append(r.durationMs() / 1000.0).append(" s) |\n\n");
        b.append("Rules by verdict: ");
        r.summary().forEach((k, v) -> {
            if (v > 0) {
                b.append(k).append(' ').append(v).append(" · ");
            }
        });
        b.append("\n\n## NAT classification\n\n");
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
            b.append("\n### ").append(c.displayName()).append(" — ").append(c.verdict()).append("\n\n");
            b.append("Rules: ").append(String.join(", ", c.rules())).append(" (").append(c.level()).append(")\n");
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

    /** The verdict table for the console. */
    public static void printTable(Report r, PrintStream out) {
        out.println();
        out.println("VLESS conformance — " + r.target() + " — profile " + r.profile());
        out.println(String.format("%-8s %-6s %-15s %s", "RULE", "LEVEL", "VERDICT", "NOTE"));
        for (Report.RuleResult rule : r.rules()) {
            out.println(String.format("%-8s %-6s %-15s %s", rule.id(), rule.level(), rule.verdict(),
                    truncate(firstLine(rule.note()), 90)));
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
        out.println("Result: " + (r.passed() ? "PASSED" : "FAILED") + " (policy " + r.policy() + ")");
    }

    private static String firstLine(String s) {
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
