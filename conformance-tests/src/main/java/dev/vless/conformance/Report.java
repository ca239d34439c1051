package dev.vless.conformance;

import java.util.List;
import java.util.Map;

/**
 * The suite's own report: every case and every rule with its verdict, the NAT classification, the target and the suite
 * version. Written as {@code report.json} (schema: {@code conformance-tests/REPORT-SCHEMA.md}) and {@code report.md}.
 *
 * @param schema         the report format's version
 * @param suiteVersion   the suite's version
 * @param target         how the target was named
 * @param profile        the profile it was checked against (v1/v0)
 * @param policy         which failures fail the run
 * @param startedAt      ISO-8601 start time
 * @param durationMs     run time
 * @param passed         whether the run passes under the policy
 * @param summary        rule counts by verdict
 * @param classification the NAT findings (RFC 4787 mapping and filtering, classic name, ...)
 * @param rules          every rule of the specification, in order
 * @param cases          every case that was selected
 */
public record Report(
        int schema,
        String suiteVersion,
        String target,
        String profile,
        String policy,
        String startedAt,
        long durationMs,
        boolean passed,
        Map<String, Integer> summary,
        Map<String, String> classification,
        List<RuleResult> rules,
        List<CaseResult> cases) {

    /**
     * One rule's verdict over all its cases.
     *
     * @param id          the rule ID
     * @param level       MUST, SHOULD or MAY
     * @param party       server, client or both
     * @param section     the spec section
     * @param requirement the requirement sentence
     * @param verdict     the verdict
     * @param note        why (for NOT_APPLICABLE and UNCOVERED), or the first failure's message
     * @param cases       the display names of the cases that check it
     */
    public record RuleResult(String id, String level, String party, String section, String requirement,
            Verdict verdict, String note, List<String> cases) {
    }

    /**
     * One case.
     *
     * @param id          the JUnit unique ID
     * @param displayName the display name ("HDR-3 · ...")
     * @param rules       the rule IDs it checks
     * @param level       the strongest level among them
     * @param verdict     the verdict
     * @param message     the failure or skip message, or {@code null}
     * @param durationMs  run time
     * @param facts       findings it recorded
     * @param evidence    the wire log lines
     */
    public record CaseResult(String id, String displayName, List<String> rules, String level, Verdict verdict,
            String message, long durationMs, Map<String, String> facts, List<String> evidence) {
    }
}
