// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.mutants;

import dev.vless.conformance.Report;
import dev.vless.conformance.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Whether a run against a faulty target caught its fault: every rule the fault breaks got its expected verdict (FAIL,
 * or WARN for a SHOULD) and some FAIL/WARN reason names the rule. Shared by the server and the client mutation tests.
 *
 * @param problems what was missed, one line per rule; empty when caught
 * @param outcome  what the run found, for the log and the README table
 */
public record Caught(List<String> problems, String outcome) {

    /** Judges {@code report} against the {@code expected} verdict of each broken rule. */
    public static Caught judge(Report report, Map<String, Verdict> expected) {
        List<String> problems = new ArrayList<>();
        List<String> observed = new ArrayList<>();
        for (Map.Entry<String, Verdict> e : expected.entrySet()) {
            String rule = e.getKey();
            Verdict got = report.rules().stream().filter(r -> r.id().equals(rule)).findFirst()
                    .map(Report.RuleResult::verdict).orElse(Verdict.UNCOVERED);
            boolean named = report.cases().stream().anyMatch(c -> (c.verdict() == Verdict.FAIL
                    || c.verdict() == Verdict.WARN) && c.message() != null && c.message().contains(rule));
            observed.add(rule + " " + got + (named || got != e.getValue() ? "" : " (reason does not name it)"));
            if (got != e.getValue() || !named) {
                problems.add(rule + ": expected " + e.getValue() + " with a reason naming it, got " + got
                        + (named ? "" : " (no FAIL/WARN reason names " + rule + ")"));
            }
        }
        List<String> others = report.rules().stream().filter(r -> !expected.containsKey(r.id())
                && (r.verdict() == Verdict.FAIL || r.verdict() == Verdict.WARN)).map(r -> r.id() + " "
                + r.verdict()).toList();
        String outcome = String.join(", ", observed) + (others.isEmpty() ? "" : "; also " + others)
                + (report.unchecked() == null ? "" : "; not checked: " + report.unchecked());
        return new Caught(List.copyOf(problems), outcome);
    }

    /** Whether the fault was caught. */
    public boolean caught() {
        return problems.isEmpty();
    }
}
