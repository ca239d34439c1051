// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HtmlReportWriterTest {

    @TempDir
    Path dir;

    @Test
    void writesOneSelfContainedFile() throws Exception {
        HtmlReportWriter.write(SampleReports.failed(), dir);

        Path file = dir.resolve("report.html");
        assertThat(file).isRegularFile();
        String html = Files.readString(file, StandardCharsets.UTF_8);
        assertThat(html).startsWith("<!DOCTYPE html>").contains("<style>").endsWith("</html>\n");
        String lower = html.toLowerCase();
        // Nothing is fetched: no URL with a scheme, no external script, stylesheet, import, font or image.
        assertThat(lower).doesNotContain("http://", "https://", "<script", "<link", "@import", "url(", "<img",
                "<iframe", "src=");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }

    @Test
    void hostileTextAppearsOnlyEscaped() {
        String html = HtmlReportWriter.html(SampleReports.failed());

        assertThat(html).doesNotContain("<script>alert(1)</script>", "alert(1)</", "<ab>", "<refused>", "\u0001")
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &#39;text&#39;")
                .contains("+0.002 &gt;&gt; 01 &lt;ab&gt; &amp; &quot;x&quot;")
                .contains("14.0 s target stopped serving &lt;refused&gt;")
                .contains("security=tls&amp;sni=example.com");
        // Every '&' starts an entity: nothing raw slipped through.
        Matcher amp = Pattern.compile("&(?!(amp|lt|gt|quot|#39|nbsp);)").matcher(html);
        assertThat(amp.find()).as("raw ampersand at %s", amp.find(0) ? amp.start() : -1).isFalse();
    }

    @Test
    void showsResultRootCausesEventsAndClassificationFirst() {
        String html = HtmlReportWriter.html(SampleReports.failed());

        assertThat(html).contains("class=\"result failed\">FAILED<", "v0", "must+should", "0.1.0-SNAPSHOT",
                "2026-12-06T08:57:13.123456Z", "1 min 15.3 s", "Full cone", "EIM", "EIF")
                .doesNotContain("NOT CHECKED");
        assertThat(html.indexOf("FAILED")).isLessThan(html.indexOf("id=\"root-causes\""));
        assertThat(html.indexOf("id=\"root-causes\"")).isLessThan(html.indexOf("id=\"events\""));
        assertThat(html.indexOf("id=\"events\"")).isLessThan(html.indexOf("id=\"classification\""));
        assertThat(html.indexOf("id=\"classification\"")).isLessThan(html.indexOf("id=\"rules\""));
        assertThat(html.indexOf("id=\"rules\"")).isLessThan(html.indexOf("id=\"cases\""));
        // The root cause names its rule, what it blocked, and how to re-run it against the same target and profile.
        String causes = html.substring(html.indexOf("id=\"root-causes\""), html.indexOf("id=\"events\""));
        assertThat(causes).contains("href=\"#rule-hdr-3\"", "unknown users are answered &lt;script&gt; &amp;",
                "HDR-4 · command byte checked", "href=\"#rule-crf-1\"", "<code class=\"cmd\">");
        // The command as copied: the markup inside it only controls where it may wrap.
        assertThat(causes.replaceAll("<[^>]*>", "")).contains(
                "bin/vless-conformance --target &#39;vless://a684455c-b14f-11ea-bf0d-42010aaa0003@127.0.0.1:10086"
                        + "?security=tls&amp;sni=example.com#it&#39;\\&#39;&#39;s&#39; --profile v0 --policy "
                        + "must+should --select HDR-3",
                "the target stopped serving at 14.0 s");
    }

    @Test
    void listsEveryRuleWithItsVerdictAndSpecLink() {
        Report report = SampleReports.failed();
        String html = HtmlReportWriter.html(report, "../../spec/VLESS.md");

        String rules = html.substring(html.indexOf("id=\"rules\""), html.indexOf("id=\"cases\""));
        for (Report.RuleResult r : report.rules()) {
            String id = r.id().toLowerCase();
            assertThat(rules).contains("<tr id=\"rule-" + id + "\"", "href=\"../../spec/VLESS.md#" + id + "\"",
                    "class=\"badge v-" + r.verdict().name().toLowerCase() + "\">" + r.verdict().name() + "<",
                    r.requirement());
        }
        assertThat(HtmlReportWriter.html(report)).contains("href=\"spec/VLESS.md#nat-2\"");
        // A multi-line note shows its first line, the rest behind a disclosure.
        assertThat(rules).contains("<summary>HDR-3: the server MUST close on an unknown user &amp; say nothing"
                + "</summary>");
        for (Verdict v : Verdict.values()) {
            assertThat(html).contains("class=\"badge v-" + v.name().toLowerCase() + "\">" + v.name() + "</span>");
        }
    }

    @Test
    void listsEveryCaseInRunOrder() {
        Report report = SampleReports.failed();
        String html = HtmlReportWriter.html(report);
        String cases = html.substring(html.indexOf("id=\"cases\""));

        List<String> expected = report.cases().stream()
                .sorted(java.util.Comparator.comparingInt(c -> c.order() == 0 ? Integer.MAX_VALUE : c.order()))
                .map(c -> HtmlReportWriter.esc(c.displayName())).toList();
        List<Integer> positions = new ArrayList<>();
        for (String name : expected) {
            int at = cases.indexOf("</span> " + name + "</h3>");
            assertThat(at).as(name).isNotNegative();
            positions.add(at);
        }
        assertThat(positions).isSorted();
        assertThat(cases).contains("#1 at 0.0 s", "#2 at 0.9 s", "#6 at 14.2 s", "not started", "took 37 ms");
    }

    @Test
    void aReportWithoutRunOrderKeepsItsListingAndDoesNotCallCasesUnstarted() {
        Report r = SampleReports.failed();
        List<Report.CaseResult> unordered = r.cases().stream().map(c -> new Report.CaseResult(c.id(),
                c.displayName(), c.rules(), c.level(), c.verdict(), c.message(), c.durationMs(), c.facts(),
                c.evidence(), 0, 0, c.blockedBy())).toList();
        String html = HtmlReportWriter.html(new Report(r.schema(), r.suiteVersion(), r.target(), r.profile(),
                r.policy(), r.startedAt(), r.durationMs(), r.passed(), r.summary(), r.classification(), null, null,
                null, r.rules(), unordered));

        assertThat(html).doesNotContain("not started", "not run", " at 0.0 s").contains(">case 1</a>")
                .contains("None recorded. Rules that failed or could not be checked: <a href=\"#rule-hdr-3\">HDR-3</a>, "
                        + "<a href=\"#rule-err-2\">ERR-2</a>",
                        "<h2>Run events</h2>\n<p class=\"none\">None recorded.");
        assertThat(html.indexOf("NAT-2 · one mapping per source</h3>"))
                .isLessThan(html.indexOf("HDR-3 · unknown user is closed</h3>"));
    }

    @Test
    void opensTheWireLogOfBadCasesAndOffersAReproduceLine() {
        String html = HtmlReportWriter.html(SampleReports.failed());

        String failed = article(html, "HDR-3 · unknown user is closed");
        assertThat(failed).contains("<details class=\"wire\" open>", "wire log (3 lines)", "<pre class=\"msg\">",
                "--select HDR-3</span></code>");
        String blocked = article(html, "HDR-4 · command byte checked");
        assertThat(blocked).contains("<details class=\"wire\" open>", "blocked by <a href=\"#rule-hdr-3\">HDR-3",
                "--select HDR-4</span></code>");
        assertThat(article(html, "ERR-2 · bad input waits for the deadline")).contains("<details class=\"wire\" open>",
                "--select ERR-2</span></code>");
        String passed = article(html, "NAT-2 · one mapping per source");
        assertThat(passed).contains("<details class=\"wire\">", "nat.mapping").doesNotContain("reproduce");
        assertThat(article(html, "UDP-2 · empty datagrams are sent")).contains("<details class=\"wire\">")
                .doesNotContain("reproduce");
    }

    @Test
    void anUncheckedTargetSaysSoProminently() throws Exception {
        HtmlReportWriter.write(SampleReports.unchecked(), dir, "spec.md");
        String html = Files.readString(dir.resolve("report.html"));

        assertThat(html).contains("class=\"result unchecked\">NOT CHECKED<", "The target could not be checked",
                "pre-flight: connection refused by 127.0.0.1:9 &lt;no listener&gt; &amp; nothing else",
                "href=\"spec.md#hdr-3\"")
                .doesNotContain(">PASSED<", ">FAILED<");
        assertThat(html.indexOf("NOT CHECKED")).isLessThan(html.indexOf("id=\"root-causes\""));
        assertThat(html.indexOf("connection refused")).isLessThan(html.indexOf("id=\"root-causes\""));
        assertThat(html).contains("No classification", "HDR-3 · unknown user is closed");
    }

    @Test
    void aPassingRunIsPassed() {
        assertThat(HtmlReportWriter.html(SampleReports.report(null, true))).contains(">PASSED<")
                .doesNotContain(">FAILED<", "NOT CHECKED");
    }

    private static String article(String html, String name) {
        int h = html.indexOf("</span> " + HtmlReportWriter.esc(name) + "</h3>");
        assertThat(h).as(name).isNotNegative();
        int start = html.lastIndexOf("<article", h);
        return html.substring(start, html.indexOf("</article>", h));
    }
}
