// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a {@link Report} as one self-contained HTML page, {@code report.html}: inline CSS, no script, nothing fetched
 * from anywhere (a Content-Security-Policy of {@code default-src 'none'} makes sure), so it can be attached to a bug,
 * archived by CI or opened offline and still look the same. Order: verdict and header, root causes and run events,
 * the NAT classification, every rule, then every case in run order with its wire log.
 */
public final class HtmlReportWriter {

    /** Where the rule links point by default: the spec, relative to the report. */
    public static final String DEFAULT_SPEC_BASE = "spec/VLESS.md";

    private HtmlReportWriter() {
    }

    /** Writes {@code dir/report.html}, linking rules to {@value #DEFAULT_SPEC_BASE}. */
    public static void write(Report report, Path dir) throws IOException {
        write(report, dir, DEFAULT_SPEC_BASE);
    }

    /**
     * Writes {@code dir/report.html}.
     *
     * @param specBase where the spec document is, as seen from {@code dir}: a relative path (for example
     *                 {@code dir.relativize(specFile)}) or an absolute URL; rule links are {@code specBase#rule-id}
     */
    public static void write(Report report, Path dir, String specBase) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("report.html"), html(report, specBase), StandardCharsets.UTF_8);
    }

    /** The page, linking rules to {@value #DEFAULT_SPEC_BASE}. */
    public static String html(Report report) {
        return html(report, DEFAULT_SPEC_BASE);
    }

    /** The page, linking each rule to {@code specBase + "#" + id.toLowerCase()}. */
    public static String html(Report r, String specBase) {
        String base = specBase == null ? DEFAULT_SPEC_BASE : specBase;
        List<Report.CaseResult> cases = inRunOrder(r.cases());
        // Anchors for cross-links: root causes, rules and blocked cases point at cases by display name.
        // A report without run order (written before it was recorded) must not call every case "not run".
        boolean ordered = cases.stream().anyMatch(c -> c.order() > 0);
        Map<String, String> caseAnchor = new HashMap<>();
        Map<String, String> caseLabel = new HashMap<>();
        for (int i = 0; i < cases.size(); i++) {
            Report.CaseResult c = cases.get(i);
            if (caseAnchor.putIfAbsent(c.displayName(), "case-" + (i + 1)) == null) {
                caseLabel.put(c.displayName(), !ordered ? "case " + (i + 1) : c.order() > 0 ? "#" + c.order()
                        : "not run");
            }
        }
        StringBuilder b = new StringBuilder(64 * 1024);
        head(b, r);
        header(b, r, cases);
        rootCauses(b, r, caseAnchor);
        events(b, r);
        classification(b, r);
        rules(b, r, base, caseAnchor, caseLabel);
        cases(b, r, cases, ordered);
        b.append("<footer>VLESS conformance suite ").append(esc(r.suiteVersion())).append(" · report schema ")
                .append(r.schema()).append("</footer>\n</body>\n</html>\n");
        return b.toString();
    }

    private static void head(StringBuilder b, Report r) {
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                // Belt and braces for "self-contained": even a stray reference could not load anything.
                .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; ")
                .append("style-src 'unsafe-inline'\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>VLESS conformance: ").append(resultWord(r)).append(" · ").append(esc(r.target()))
                .append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
    }

    private static void header(StringBuilder b, Report r, List<Report.CaseResult> cases) {
        String word = resultWord(r);
        String cls = r.unchecked() != null ? "unchecked" : r.passed() ? "passed" : "failed";
        b.append("<header>\n<div class=\"result ").append(cls).append("\">").append(word).append("</div>\n")
                .append("<h1>VLESS conformance report</h1>\n<table class=\"meta\">\n");
        metaRow(b, "target", "<code>" + esc(r.target()) + "</code>");
        metaRow(b, "profile", esc(r.profile()));
        metaRow(b, "policy", esc(r.policy()));
        metaRow(b, "suite", esc(r.suiteVersion()));
        metaRow(b, "started", esc(r.startedAt()) + " · took " + esc(duration(r.durationMs())));
        b.append("</table>\n");
        if (r.unchecked() != null) {
            b.append("<div class=\"unchecked-reason\"><strong>The target could not be checked.</strong>\n<pre>")
                    .append(esc(r.unchecked())).append("</pre></div>\n");
        }
        b.append("<p class=\"counts\">Rules: ");
        int shown = 0;
        for (Map.Entry<String, Integer> e : (r.summary() == null ? Map.<String, Integer>of() : r.summary())
                .entrySet()) {
            if (e.getValue() != null && e.getValue() > 0) {
                b.append(badge(e.getKey())).append("&nbsp;").append(e.getValue()).append(' ');
                shown++;
            }
        }
        if (shown == 0) {
            b.append("none");
        }
        b.append("<br>Cases: ").append(cases.size());
        Map<Verdict, Integer> byVerdict = new EnumMap<>(Verdict.class);
        cases.forEach(c -> byVerdict.merge(c.verdict(), 1, Integer::sum));
        byVerdict.forEach((v, n) -> b.append(" · ").append(esc(v.name())).append(' ').append(n));
        b.append("</p>\n<nav><a href=\"#root-causes\">Root causes</a> · <a href=\"#events\">Run events</a> · ")
                .append("<a href=\"#classification\">NAT classification</a> · <a href=\"#rules\">Rules</a> · ")
                .append("<a href=\"#cases\">Cases</a></nav>\n</header>\n");
    }

    private static void metaRow(StringBuilder b, String name, String html) {
        b.append("<tr><th>").append(name).append("</th><td>").append(html).append("</td></tr>\n");
    }

    private static void rootCauses(StringBuilder b, Report r, Map<String, String> caseAnchor) {
        b.append("<section id=\"root-causes\">\n<h2>Root causes</h2>\n");
        if (r.rootCauses() == null || r.rootCauses().isEmpty()) {
            // An empty list beside failing rules means nobody worked out the causes; do not claim there are none.
            List<String> failing = rules(r).stream().filter(x -> x.verdict() == Verdict.FAIL
                    || x.verdict() == Verdict.ERROR).map(Report.RuleResult::id).toList();
            if (failing.isEmpty()) {
                b.append("<p class=\"none\">None.</p>\n");
            } else {
                b.append("<p class=\"none\">None recorded. Rules that failed or could not be checked: ");
                appendRuleLinks(b, failing);
                b.append("</p>\n");
            }
        } else {
            b.append("<ol class=\"causes\">\n");
            for (Report.RootCause c : r.rootCauses()) {
                b.append("<li>\n<p class=\"cause\">");
                if (c.rule() != null) {
                    b.append("<a class=\"rule\" href=\"#rule-").append(esc(lower(c.rule()))).append("\">")
                            .append(esc(c.rule())).append("</a> ");
                } else {
                    b.append(badge(Verdict.TARGET_DOWN.name())).append(' ');
                }
                b.append(esc(c.summary())).append("</p>\n");
                caseList(b, "failed", c.failedCases(), caseAnchor);
                caseList(b, "blocked cases", c.blockedCases(), caseAnchor);
                if (c.blockedRules() != null && !c.blockedRules().isEmpty()) {
                    b.append("<p class=\"list\"><span class=\"label\">blocked rules</span> ");
                    appendRuleLinks(b, c.blockedRules());
                    b.append("</p>\n");
                }
                String select = selection(c.reproduce());
                if (select != null) {
                    reproduce(b, r, select);
                }
                b.append("</li>\n");
            }
            b.append("</ol>\n");
        }
        b.append("</section>\n");
    }

    private static void caseList(StringBuilder b, String label, List<String> names, Map<String, String> anchors) {
        if (names == null || names.isEmpty()) {
            return;
        }
        b.append("<p class=\"list\"><span class=\"label\">").append(label).append("</span></p>\n<ul class=\"names\">");
        for (String n : names) {
            String a = anchors.get(n);
            b.append("<li>");
            if (a != null) {
                b.append("<a href=\"#").append(a).append("\">").append(esc(n)).append("</a>");
            } else {
                b.append(esc(n));
            }
            b.append("</li>");
        }
        b.append("</ul>\n");
    }

    private static void reproduce(StringBuilder b, Report r, String select) {
        b.append("<p class=\"repro\"><span class=\"label\">reproduce</span> <code class=\"cmd\">");
        // Wrapped only between options (never inside "--policy"), except that a long link may break anywhere.
        String[] t = command(r, select).split(" ");
        for (int i = 0; i < t.length; i++) {
            b.append(i > 0 ? " " : "");
            if (t[i].length() > 40) {
                b.append("<span class=\"b\">").append(esc(t[i])).append("</span>");
            } else if (t[i].startsWith("--") && i + 1 < t.length && t[i + 1].length() <= 40) {
                b.append("<span class=\"w\">").append(esc(t[i] + " " + t[i + 1])).append("</span>");
                i++;
            } else {
                b.append("<span class=\"w\">").append(esc(t[i])).append("</span>");
            }
        }
        b.append("</code></p>\n");
    }

    private static void events(StringBuilder b, Report r) {
        b.append("<section id=\"events\">\n<h2>Run events</h2>\n");
        if (r.events() == null || r.events().isEmpty()) {
            b.append("<p class=\"none\">None recorded.</p>\n");
        } else {
            b.append("<ol class=\"events\">\n");
            for (String e : r.events()) {
                b.append("<li>").append(esc(e)).append("</li>\n");
            }
            b.append("</ol>\n");
        }
        b.append("</section>\n");
    }

    private static void classification(StringBuilder b, Report r) {
        b.append("<section id=\"classification\">\n<h2>NAT classification</h2>\n");
        if (r.classification() == null || r.classification().isEmpty()) {
            b.append("<p class=\"none\">No classification (no NAT case ran).</p>\n");
        } else {
            b.append("<table class=\"kv\">\n<thead><tr><th>finding</th><th>value</th></tr></thead>\n<tbody>\n");
            r.classification().forEach((k, v) -> b.append("<tr><th>").append(esc(k)).append("</th><td>")
                    .append(esc(v)).append("</td></tr>\n"));
            b.append("</tbody>\n</table>\n");
        }
        b.append("</section>\n");
    }

    private static void rules(StringBuilder b, Report r, String base, Map<String, String> caseAnchor,
            Map<String, String> caseLabel) {
        b.append("<section id=\"rules\">\n<h2>Rules</h2>\n<table class=\"rules\">\n<thead><tr><th>rule</th>")
                .append("<th>level</th><th>verdict</th><th>requirement</th><th>note</th><th>cases</th></tr></thead>\n")
                .append("<tbody>\n");
        for (Report.RuleResult rule : rules(r)) {
            String id = rule.id();
            b.append("<tr id=\"rule-").append(esc(lower(id))).append("\" class=\"v-").append(vclass(rule.verdict()))
                    .append("\">\n<td class=\"id\"><a href=\"").append(esc(base + "#" + lower(id)))
                    .append("\" title=\"the rule in the specification\">").append(esc(id)).append("</a>");
            if (rule.section() != null) {
                b.append("<br><span class=\"sec\">§").append(esc(rule.section())).append("</span>");
            }
            b.append("</td>\n<td>").append(esc(rule.level())).append("</td>\n<td>").append(badge(name(rule.verdict())))
                    .append("</td>\n<td class=\"req\">").append(esc(rule.requirement()))
                    .append("</td>\n<td class=\"note\">");
            note(b, rule.note());
            b.append("</td>\n<td class=\"rcases\">");
            if (rule.cases() != null) {
                for (int i = 0; i < rule.cases().size(); i++) {
                    String a = caseAnchor.get(rule.cases().get(i));
                    b.append(i > 0 ? " " : "");
                    if (a != null) {
                        b.append("<a href=\"#").append(a).append("\" title=\"").append(esc(rule.cases().get(i)))
                                .append("\">").append(esc(caseLabel.get(rule.cases().get(i)))).append("</a>");
                    } else {
                        b.append(esc(rule.cases().get(i)));
                    }
                }
            }
            b.append("</td>\n</tr>\n");
        }
        b.append("</tbody>\n</table>\n</section>\n");
    }

    /** A one-line note in place; a longer one as its first line, the rest behind a disclosure. */
    private static void note(StringBuilder b, String note) {
        if (note == null || note.isEmpty()) {
            return;
        }
        int nl = note.indexOf('\n');
        if (nl < 0) {
            b.append(esc(note));
        } else {
            b.append("<details><summary>").append(esc(note.substring(0, nl))).append("</summary><pre>")
                    .append(esc(note.substring(nl + 1))).append("</pre></details>");
        }
    }

    private static void cases(StringBuilder b, Report r, List<Report.CaseResult> cases, boolean ordered) {
        b.append("<section id=\"cases\">\n<h2>Cases, in run order</h2>\n");
        if (cases.isEmpty()) {
            b.append("<p class=\"none\">No case ran.</p>\n");
        }
        for (int i = 0; i < cases.size(); i++) {
            Report.CaseResult c = cases.get(i);
            Verdict v = c.verdict();
            boolean bad = v == Verdict.FAIL || v == Verdict.ERROR || v == Verdict.BLOCKED;
            b.append("<article class=\"case v-").append(vclass(v)).append("\" id=\"case-").append(i + 1)
                    .append("\">\n<h3>").append(badge(name(v))).append(' ').append(esc(c.displayName()))
                    .append("</h3>\n<p class=\"when\">");
            if (c.order() > 0) {
                b.append('#').append(c.order()).append(" at ").append(seconds(c.startMs())).append(" · ");
            } else if (ordered) {
                b.append("not started · ");
            }
            b.append("took ").append(esc(duration(c.durationMs())));
            if (c.rules() != null && !c.rules().isEmpty()) {
                b.append(" · rules ");
                appendRuleLinks(b, c.rules());
            }
            if (c.level() != null) {
                b.append(" (").append(esc(c.level())).append(')');
            }
            if (c.blockedBy() != null) {
                b.append(" · <strong>blocked by <a href=\"#rule-").append(esc(lower(c.blockedBy()))).append("\">")
                        .append(esc(c.blockedBy())).append("</a></strong>");
            }
            b.append("</p>\n");
            if (c.message() != null && !c.message().isEmpty()) {
                b.append("<pre class=\"msg\">").append(esc(c.message())).append("</pre>\n");
            }
            if (bad && c.rules() != null && !c.rules().isEmpty()) {
                reproduce(b, r, c.rules().get(0));
            }
            if (c.facts() != null && !c.facts().isEmpty()) {
                b.append("<table class=\"kv facts\">\n");
                c.facts().forEach((k, val) -> b.append("<tr><th>").append(esc(k)).append("</th><td>")
                        .append(esc(val)).append("</td></tr>\n"));
                b.append("</table>\n");
            }
            if (c.evidence() != null && !c.evidence().isEmpty()) {
                b.append("<details class=\"wire\"").append(bad ? " open" : "").append("><summary>wire log (")
                        .append(c.evidence().size()).append(c.evidence().size() == 1 ? " line" : " lines")
                        .append(")</summary>\n<pre>");
                for (String line : c.evidence()) {
                    b.append(esc(line)).append('\n');
                }
                b.append("</pre>\n</details>\n");
            } else if (v != Verdict.NOT_APPLICABLE && v != Verdict.TARGET_DOWN) {
                // Said only where one would be expected: cases that never ran have none by nature.
                b.append("<p class=\"none\">No wire log.</p>\n");
            }
            b.append("</article>\n");
        }
        b.append("</section>\n");
    }

    private static List<Report.RuleResult> rules(Report r) {
        return r.rules() == null ? List.of() : r.rules();
    }

    private static void appendRuleLinks(StringBuilder b, List<String> ids) {
        for (int i = 0; i < ids.size(); i++) {
            b.append(i > 0 ? ", " : "").append("<a href=\"#rule-").append(esc(lower(ids.get(i)))).append("\">")
                    .append(esc(ids.get(i))).append("</a>");
        }
    }

    /**
     * The report's cases in run order, as the collector lists them already; sorted again (stably) so a report built
     * some other way still reads in order. Cases never started go last, in their given order.
     */
    static List<Report.CaseResult> inRunOrder(List<Report.CaseResult> cases) {
        List<Report.CaseResult> out = new ArrayList<>(cases == null ? List.of() : cases);
        out.sort(Comparator.comparingInt(c -> c.order() > 0 ? c.order() : Integer.MAX_VALUE));
        return out;
    }

    /** The command that re-runs {@code select} against the same target, profile and policy. */
    static String command(Report r, String select) {
        StringBuilder cmd = new StringBuilder("bin/vless-conformance");
        String target = r.target() == null ? "" : r.target();
        if (target.startsWith("vless://")) {
            // A link is one token; anything after it (" (unreachable: ...)") is commentary.
            int sp = target.indexOf(' ');
            cmd.append(" --target ").append(shellQuote(sp < 0 ? target : target.substring(0, sp)));
        } else if (!target.startsWith("embedded")) {
            cmd.append(" --target LINK");
        } // The embedded reference server is the default target: no option.
        if (r.profile() != null && !"v1".equals(r.profile())) {
            cmd.append(" --profile ").append(r.profile());
        }
        if (r.policy() != null && !"must".equals(r.policy())) {
            cmd.append(" --policy ").append(r.policy());
        }
        return cmd.append(" --select ").append(shellQuote(select)).toString();
    }

    /** The selection in a root cause's reproduce field, whether it came as "NAT-2", "--select NAT-2" or a command. */
    private static String selection(String reproduce) {
        if (reproduce == null || reproduce.isBlank()) {
            return null;
        }
        String s = reproduce.trim();
        int at = s.lastIndexOf("--select");
        if (at >= 0) {
            s = s.substring(at + "--select".length()).trim();
            if (s.startsWith("=")) {
                s = s.substring(1);
            }
            int sp = s.indexOf(' ');
            s = sp < 0 ? s : s.substring(0, sp);
        }
        if (s.length() >= 2 && s.startsWith("'") && s.endsWith("'")) {
            s = s.substring(1, s.length() - 1);
        }
        return s.isEmpty() ? null : s;
    }

    /** Quotes for a POSIX shell only when needed, so plain rule IDs stay readable. */
    private static String shellQuote(String s) {
        if (s.matches("[A-Za-z0-9_.,:/@=+-]+")) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }

    private static String resultWord(Report r) {
        return r.unchecked() != null ? "NOT CHECKED" : r.passed() ? "PASSED" : "FAILED";
    }

    private static String badge(String verdict) {
        return "<span class=\"badge v-" + vclass(verdict) + "\">" + esc(verdict) + "</span>";
    }

    private static String name(Verdict v) {
        return v == null ? "NONE" : v.name();
    }

    private static String vclass(Verdict v) {
        return vclass(name(v));
    }

    private static String vclass(String verdict) {
        return verdict == null ? "none" : verdict.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "");
    }

    private static String lower(String id) {
        return id.toLowerCase(Locale.ROOT);
    }

    private static String seconds(long ms) {
        return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    private static String duration(long ms) {
        if (ms < 1000) {
            return ms + " ms";
        }
        if (ms < 60_000) {
            return seconds(ms);
        }
        return String.format(Locale.ROOT, "%d min %.1f s", ms / 60_000, (ms % 60_000) / 1000.0);
    }

    /**
     * Escapes text for HTML content and double- or single-quoted attributes, and replaces characters HTML forbids
     * (controls other than tab, newline and carriage return, noncharacters, lone surrogates) with U+FFFD.
     */
    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
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
                    out.append("&quot;");
                    break;
                case '\'':
                    out.append("&#39;");
                    break;
                default:
                    boolean control = (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r')
                            || (cp >= 0x7f && cp <= 0x9f);
                    boolean nonChar = (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
                    if (control || nonChar || cp <= 0xffff && Character.isSurrogate((char) cp)) {
                        out.append('\ufffd');
                    } else {
                        out.appendCodePoint(cp);
                    }
            }
        }
        return out.toString();
    }

    /** Plain, printable styling; verdict colours match across badges, rule rows and case borders. */
    private static final String CSS = String.join("\n",
            ":root{--pass:#1a7f37;--fail:#cf222e;--error:#8250df;--warn:#9a6700;--blocked:#bc4c00;",
            "--down:#24292f;--na:#6e7781;--info:#0969da;--unc:#8c959f;--line:#d0d7de;--soft:#f6f8fa}",
            "*{box-sizing:border-box}",
            "body{margin:0 auto;max-width:1200px;padding:16px 24px;color:#1f2328;background:#fff;",
            "font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif}",
            "code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,\"Liberation Mono\",monospace;",
            "font-size:12.5px}",
            "pre{margin:6px 0;padding:8px 10px;background:var(--soft);border:1px solid var(--line);",
            "border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere}",
            "h1{font-size:22px;margin:4px 0 10px}",
            "h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}",
            "h3{font-size:14.5px;margin:0 0 4px}",
            "a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}",
            "header{border-bottom:2px solid var(--line);padding-bottom:10px}",
            ".result{float:right;font-size:28px;font-weight:700;letter-spacing:.04em;padding:10px 22px;",
            "border-radius:8px;color:#fff}",
            ".result.passed{background:var(--pass)}.result.failed{background:var(--fail)}",
            ".result.unchecked{background:var(--down)}",
            ".unchecked-reason{clear:both;margin:10px 0;padding:10px 14px;border:2px solid var(--down);",
            "border-radius:6px;background:#fff8c5;font-size:15px}",
            ".unchecked-reason pre{background:#fff;font-size:14px}",
            "table{border-collapse:collapse}",
            "table.meta th{text-align:left;padding:1px 14px 1px 0;color:#59636e;font-weight:400}",
            "table.meta td{padding:1px 0;overflow-wrap:anywhere}",
            "table.kv th,table.kv td{text-align:left;padding:3px 12px 3px 0;border-bottom:1px solid var(--line)}",
            "table.kv th{font-weight:600}",
            "table.rules{width:100%}",
            "table.rules th,table.rules td{text-align:left;vertical-align:top;padding:5px 8px;",
            "border-bottom:1px solid var(--line)}",
            "table.rules thead th{background:var(--soft);position:sticky;top:0}",
            "table.rules td.id{white-space:nowrap;font-weight:600}",
            ".sec{color:#59636e;font-weight:400;font-size:12px}",
            // Long requirements must not squeeze notes into a column one word wide.
            "td.req{min-width:16em}td.note{min-width:18em;overflow-wrap:anywhere}td.note pre{font-size:12px}",
            "td.rcases{font-size:12px}",
            "tr.v-fail td.id{box-shadow:inset 4px 0 var(--fail)}tr.v-error td.id{box-shadow:inset 4px 0 var(--error)}",
            "tr.v-warn td.id{box-shadow:inset 4px 0 var(--warn)}",
            "tr.v-blocked td.id{box-shadow:inset 4px 0 var(--blocked)}",
            "tr.v-target_down td.id{box-shadow:inset 4px 0 var(--down)}",
            ".badge{display:inline-block;min-width:4.5em;text-align:center;padding:1px 6px;border-radius:10px;",
            "font-size:11.5px;font-weight:700;letter-spacing:.02em;color:#fff;white-space:nowrap;",
            "vertical-align:1px}",
            ".badge.v-pass{background:var(--pass)}.badge.v-fail{background:var(--fail)}",
            ".badge.v-error{background:var(--error)}.badge.v-warn{background:var(--warn)}",
            ".badge.v-blocked{background:var(--blocked)}.badge.v-target_down{background:var(--down)}",
            ".badge.v-not_applicable{background:var(--na)}.badge.v-informational{background:var(--info)}",
            ".badge.v-not_observable{background:#fff;color:#59636e;border:1px solid var(--na)}",
            ".badge.v-uncovered{background:#fff;color:#59636e;border:1px dashed var(--unc)}",
            ".badge.v-none{background:var(--unc)}",
            ".counts{margin:10px 0 4px;line-height:2}",
            "nav{margin-top:6px;font-size:13px}",
            ".none{color:#59636e;font-style:italic}",
            "ol.causes>li{margin-bottom:14px}",
            ".cause{font-size:15px;font-weight:600;margin:0 0 4px}",
            ".cause a.rule{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}",
            ".label{display:inline-block;min-width:7.5em;color:#59636e;font-size:12px;text-transform:uppercase;",
            "letter-spacing:.03em}",
            "p.list,p.repro{margin:2px 0}",
            "ul.names{margin:0 0 4px;padding-left:24px}",
            "code.cmd{display:block;margin:2px 0 4px;padding:4px 8px;background:#eef1f4;",
            "border:1px solid var(--line);border-radius:4px;user-select:all}",
            ".cmd .w{white-space:nowrap}.cmd .b{word-break:break-all}",
            "ol.events li{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;",
            "white-space:pre-wrap}",
            "article.case{margin:10px 0;padding:8px 12px;border:1px solid var(--line);",
            "border-left:5px solid var(--na);border-radius:4px}",
            "article.v-pass{border-left-color:var(--pass)}article.v-fail{border-left-color:var(--fail)}",
            "article.v-error{border-left-color:var(--error)}article.v-warn{border-left-color:var(--warn)}",
            "article.v-blocked{border-left-color:var(--blocked)}article.v-target_down{border-left-color:var(--down)}",
            "article.v-informational{border-left-color:var(--info)}",
            ".when{margin:0 0 4px;color:#59636e;font-size:12.5px}",
            "pre.msg{background:#fff;border-color:#e1e4e8}",
            "article.v-fail pre.msg{background:#ffebe9;border-color:#ffcecb}",
            "article.v-error pre.msg{background:#fbefff;border-color:#ecd8ff}",
            "table.facts{margin:4px 0;font-size:12.5px}",
            "details.wire summary,td.note summary{cursor:pointer;color:#59636e}",
            "details.wire pre{font-size:11.5px;max-height:40em;overflow:auto}",
            "footer{margin:28px 0 8px;color:#59636e;font-size:12px}",
            "@media print{",
            "body{max-width:none;padding:0;font-size:11px}",
            "nav{display:none}",
            "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}",
            "table.rules thead th{position:static}",
            "td.req,td.note{min-width:12em}",
            "details.wire pre{max-height:none;overflow:visible}",
            "article.case,table.rules tr,ol.causes>li{break-inside:avoid}",
            "h2,h3{break-after:avoid}",
            "a{color:inherit}",
            "}",
            "");
}
