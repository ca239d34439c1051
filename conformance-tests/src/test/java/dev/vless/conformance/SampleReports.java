// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Hand-built reports for the writers' tests: every verdict, a root cause, events, and hostile text. */
final class SampleReports {

    /** A message a server could provoke: markup, ampersands, quotes, a control character. */
    static final String HOSTILE = "HDR-3: the server MUST close on an unknown user & say nothing\n"
            + "allowed: close within 5 s\nhappened: it answered <script>alert(1)</script> & \"quoted\" 'text'\u0001";

    private SampleReports() {
    }

    /** A failed run against a share link; the cases are listed out of run order on purpose. */
    static Report failed() {
        return report(null, false);
    }

    /** A run whose pre-flight failed: nothing checked, every case TARGET_DOWN. */
    static Report unchecked() {
        List<Report.CaseResult> cases = List.of(
                new Report.CaseResult("[engine:junit-jupiter]/[method:a]", "HDR-3 · unknown user is closed",
                        List.of("HDR-3"), "MUST", Verdict.TARGET_DOWN, "the target was down", 0, Map.of(),
                        List.of(), 0, 0, null));
        return new Report(1, "0.1.0-SNAPSHOT", "vless://u@127.0.0.1:9?security=none", "v1", "must",
                "2026-12-06T08:57:13.123Z", 812, false, summary(Map.of("UNCOVERED", 2)), Map.of(), List.of(),
                List.of("0.0 s pre-flight: connection refused by 127.0.0.1:9"),
                "pre-flight: connection refused by 127.0.0.1:9 <no listener> & nothing else", rules(), cases);
    }

    static Report report(String unchecked, boolean passed) {
        List<Report.CaseResult> cases = new ArrayList<>();
        // Listed out of order: the writers must present run order (order 0 = never started, last).
        cases.add(c("NAT-2 · one mapping per source", List.of("NAT-2"), Verdict.PASS, null, 3, 1200,
                Map.of("nat.mapping", "EIM"), List.of("+0.001 udp -> 127.0.0.2:4000 01 02")));
        cases.add(c("HDR-3 · unknown user is closed", List.of("HDR-3"), Verdict.FAIL, HOSTILE, 1, 5,
                Map.of(), List.of("+0.000 connect 127.0.0.1:443", "+0.002 >> 01 <ab> & \"x\"",
                        "+0.010 << 00 00")));
        cases.add(c("CRF-1 · CRUMFURS opens", List.of("CRF-1"), Verdict.TARGET_DOWN,
                "the target stopped serving at 14.0 s", 0, 0, Map.of(), List.of()));
        cases.add(c("HDR-4 · command byte checked", List.of("HDR-4", "HDR-3"), Verdict.BLOCKED,
                "the request could not be sent: HDR-3 failed", 2, 900, Map.of(),
                List.of("+0.000 connect 127.0.0.1:443")));
        cases.add(c("UDP-2 · empty datagrams are sent", List.of("UDP-2"), Verdict.WARN,
                "the server SHOULD send empty datagrams; it did not", 5, 3000, Map.of(), List.of("+0.0 udp")));
        cases.add(c("NAT-3 · filtering class", List.of("NAT-3"), Verdict.INFORMATIONAL, null, 4, 2100,
                Map.of("nat.filtering", "EIF"), List.of()));
        cases.add(c("ERR-2 · bad input waits for the deadline", List.of("ERR-2"), Verdict.ERROR,
                "harness: java.net.SocketException: Connection reset", 6, 14_200, Map.of(),
                List.of("+0.000 connect", "+0.100 reset")));
        cases.add(c("VER-3 · v0 requests are refused", List.of("VER-3"), Verdict.NOT_APPLICABLE,
                "needs a second user (--user2)", 0, 0, Map.of(), List.of()));
        cases.add(c("harness · pre-flight", List.of(), Verdict.PASS, null, 7, 15_000, Map.of(), List.of()));
        cases.add(c("LIF-6 · a dialed entry expires", List.of("LIF-6"), Verdict.NOT_OBSERVABLE,
                "the target maps endpoint-independently", 8, 15_100, Map.of(), List.of("+0.0 udp")));
        Map<String, String> classification = new LinkedHashMap<>();
        classification.put("mapping", "EIM");
        classification.put("filtering", "EIF");
        classification.put("classic", "Full cone");
        Report.RootCause cause = new Report.RootCause("HDR-3", "unknown users are answered <script> & kept open",
                List.of("HDR-3 · unknown user is closed"), List.of("HDR-4 · command byte checked"),
                List.of("HDR-4"), "HDR-3");
        Report.RootCause death = new Report.RootCause(null, "the target stopped serving at 14.0 s", List.of(),
                List.of("CRF-1 · CRUMFURS opens"), List.of("CRF-1"), null);
        return new Report(1, "0.1.0-SNAPSHOT",
                "vless://a684455c-b14f-11ea-bf0d-42010aaa0003@127.0.0.1:10086?security=tls&sni=example.com#it's",
                "v0", "must+should", "2026-12-06T08:57:13.123456Z", 75_300, passed,
                summary(Map.of("PASS", 1, "FAIL", 1, "WARN", 1, "ERROR", 1, "BLOCKED", 1, "TARGET_DOWN", 1,
                        "NOT_APPLICABLE", 1, "INFORMATIONAL", 1, "NOT_OBSERVABLE", 1, "UNCOVERED", 1)),
                classification, List.of(cause, death),
                List.of("0.0 s pre-flight passed: v0 handshake & echo", "14.0 s target stopped serving <refused>"),
                unchecked, rules(), cases);
    }

    static List<Report.RuleResult> rules() {
        return List.of(
                rule("VER-3", "SHOULD", Verdict.NOT_APPLICABLE, "needs a second user (--user2)",
                        "VER-3 · v0 requests are refused"),
                rule("HDR-3", "MUST", Verdict.FAIL, HOSTILE, "HDR-3 · unknown user is closed"),
                rule("HDR-4", "MUST", Verdict.BLOCKED, "blocked by HDR-3", "HDR-4 · command byte checked"),
                rule("HDR-7", "MAY", Verdict.UNCOVERED, "no case checks this rule yet", null),
                rule("UDP-2", "SHOULD", Verdict.WARN, "did not send empty datagrams",
                        "UDP-2 · empty datagrams are sent"),
                rule("CRF-1", "MUST", Verdict.TARGET_DOWN, null, "CRF-1 · CRUMFURS opens"),
                rule("NAT-2", "MUST", Verdict.PASS, null, "NAT-2 · one mapping per source"),
                rule("NAT-3", "MUST", Verdict.INFORMATIONAL, null, "NAT-3 · filtering class"),
                rule("ERR-2", "SHOULD", Verdict.ERROR, "harness: Connection reset",
                        "ERR-2 · bad input waits for the deadline"),
                rule("LIF-6", "MUST", Verdict.NOT_OBSERVABLE, "the target maps endpoint-independently",
                        "LIF-6 · a dialed entry expires"));
    }

    private static Report.RuleResult rule(String id, String level, Verdict v, String note, String theCase) {
        return new Report.RuleResult(id, level, "server", "4", "The server " + level + " do what " + id + " says.",
                v, note, theCase == null ? List.of() : List.of(theCase));
    }

    private static Report.CaseResult c(String name, List<String> rules, Verdict v, String message, int order,
            long startMs, Map<String, String> facts, List<String> evidence) {
        return new Report.CaseResult("[engine:junit-jupiter]/[method:" + name + "]", name, rules, "MUST", v, message,
                37, facts, evidence, order, startMs, v == Verdict.BLOCKED ? "HDR-3" : null);
    }

    private static Map<String, Integer> summary(Map<String, Integer> counts) {
        Map<String, Integer> s = new LinkedHashMap<>();
        for (Verdict v : Verdict.values()) {
            s.put(v.name(), counts.getOrDefault(v.name(), 0));
        }
        return s;
    }
}
