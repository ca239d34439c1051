// SPDX-License-Identifier: Apache-2.0
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
 * @param rootCauses     the failures that explain the others, first failing first: each rule that failed, with the
 *                       cases it blocked, and the target's death if it died
 * @param events         what happened to the run itself, with times: pre-flight, the target dying or being restarted,
 *                       interference from another client
 * @param unchecked      why the target could not be checked at all (the pre-flight failed), or {@code null}
 * @param rules          every rule of the specification, in order
 * @param cases          every case that was selected, in run order
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
        List<RootCause> rootCauses,
        List<String> events,
        String unchecked,
        List<RuleResult> rules,
        List<CaseResult> cases) {

    /**
     * A failure that explains others.
     *
     * @param rule          the rule whose check failed, or {@code null} when the cause is the target dying
     * @param summary       what failed, in one line
     * @param failedCases   the display names of the cases that failed it
     * @param blockedCases  the display names of the cases it blocked (their own rules unjudged)
     * @param blockedRules  the rules left without a verdict of their own because of it
     * @param reproduce     the command-line selection that re-runs the first failing case
     */
    public record RootCause(String rule, String summary, List<String> failedCases, List<String> blockedCases,
            List<String> blockedRules, String reproduce) {
    }

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
     * @param order       its place in the run, from 1 (0 for a case never started)
     * @param startMs     when it started, in milliseconds from the start of the run
     * @param blockedBy   for {@link Verdict#BLOCKED}: the rule whose check failed in its setup, else {@code null}
     */
    public record CaseResult(String id, String displayName, List<String> rules, String level, Verdict verdict,
            String message, long durationMs, Map<String, String> facts, List<String> evidence, int order, long startMs,
            String blockedBy) {
    }
}
