// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

/** The outcome of a case, and of a rule over all its cases. */
public enum Verdict {
    /** The target did what the rule requires. */
    PASS,
    /** The target broke a MUST (or, under {@link Policy#MUST_AND_SHOULD}, a SHOULD). */
    FAIL,
    /** The target did not do what a SHOULD or MAY recommends; not a failure under the default policy. */
    WARN,
    /** The case could not reach a verdict (target unreachable, harness problem); reported, never a pass. */
    ERROR,
    /**
     * A setup step the case needs, which is another rule's subject, failed: the case says nothing about its own rules.
     * The report names the blocking rule; that rule's own cases carry the failure.
     */
    BLOCKED,
    /** The target had stopped serving before the case began (and could not be restarted): not run. */
    TARGET_DOWN,
    /** The rule does not apply to the target's profile or the target lacks a capability the case needs. */
    NOT_APPLICABLE,
    /** A classification or measurement, not a pass/fail judgement. */
    INFORMATIONAL,
    /**
     * What the rule requires cannot be seen from outside the server (a constant-time comparison, a configuration
     * default), or not on this target (entry expiry where one socket serves every destination): the report says why.
     */
    NOT_OBSERVABLE,
    /** No case checks the rule. */
    UNCOVERED;

    /** Which of two verdicts of one rule's cases stands for the rule: the more severe. */
    static Verdict worse(Verdict a, Verdict b) {
        return severity(a) >= severity(b) ? a : b;
    }

    private static int severity(Verdict v) {
        switch (v) {
            case FAIL:
                return 9;
            case ERROR:
                return 8;
            case WARN:
                return 7;
            case BLOCKED:
                return 6;
            case TARGET_DOWN:
                return 5;
            case PASS:
                return 4;
            case INFORMATIONAL:
                return 3;
            case NOT_OBSERVABLE:
                return 2;
            case NOT_APPLICABLE:
                return 1;
            default:
                return 0;
        }
    }
}
