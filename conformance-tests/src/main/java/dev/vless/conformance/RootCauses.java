// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.spec.SpecRule;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Groups a run's failures by what explains them, so that a report leads with a handful of causes instead of dozens of
 * failing rules: the target dying (first, with the case it died in), then each rule whose check failed, in the order
 * the run first met it, with the cases it blocked.
 */
final class RootCauses {

    /** The finding {@link Liveness} gives the case during which the target died. */
    static final String DIED = "the server stopped serving during this case";

    private RootCauses() {
    }

    static List<Report.RootCause> of(List<Report.CaseResult> cases, List<Report.RuleResult> rules) {
        List<Report.RootCause> out = new ArrayList<>();
        Map<String, Report.RuleResult> ruleById = new LinkedHashMap<>();
        rules.forEach(r -> ruleById.put(r.id(), r));

        // The target's death: the case it died in, and what could not run after it.
        for (Report.CaseResult c : cases) {
            if (died(c)) {
                List<String> down = cases.stream().filter(x -> x.verdict() == Verdict.TARGET_DOWN)
                        .map(Report.CaseResult::displayName).toList();
                Set<String> downRules = new LinkedHashSet<>();
                for (Report.RuleResult r : rules) {
                    if (r.verdict() == Verdict.TARGET_DOWN) {
                        downRules.add(r.id());
                    }
                }
                String summary = ReportWriter.firstLine(c.message()) + " «" + c.displayName() + "», "
                        + seconds(c.startMs()) + " into the run";
                out.add(new Report.RootCause(null, summary, List.of(c.displayName()), down,
                        List.copyOf(downRules), reproduce(c.rules())));
            }
        }

        // Each rule whose check failed, in the order of its first failure; then rules that only blocked others.
        Map<String, List<Report.CaseResult>> failedBy = new LinkedHashMap<>();
        Map<String, List<Report.CaseResult>> blockedBy = new LinkedHashMap<>();
        for (Report.CaseResult c : cases) {
            if (c.verdict() == Verdict.FAIL || c.verdict() == Verdict.WARN) {
                failedBy.computeIfAbsent(failedRule(c), k -> new ArrayList<>()).add(c);
            } else if (c.verdict() == Verdict.BLOCKED && c.blockedBy() != null) {
                blockedBy.computeIfAbsent(c.blockedBy(), k -> new ArrayList<>()).add(c);
            }
        }
        Set<String> order = new LinkedHashSet<>();
        for (Report.CaseResult c : cases) {
            if (c.verdict() == Verdict.FAIL || c.verdict() == Verdict.WARN) {
                order.add(failedRule(c));
            } else if (c.verdict() == Verdict.BLOCKED && c.blockedBy() != null) {
                order.add(c.blockedBy());
            }
        }
        for (String rule : order) {
            List<Report.CaseResult> failed = failedBy.getOrDefault(rule, List.of());
            List<Report.CaseResult> blocked = blockedBy.getOrDefault(rule, List.of());
            Set<String> blockedRules = new LinkedHashSet<>();
            for (Report.CaseResult f : failed) {
                for (String r : f.rules()) {
                    Report.RuleResult rr = ruleById.get(r);
                    if (!r.equals(rule) && rr != null && rr.verdict() == Verdict.BLOCKED) {
                        blockedRules.add(r);
                    }
                }
            }
            for (Report.CaseResult b : blocked) {
                for (String r : b.rules()) {
                    Report.RuleResult rr = ruleById.get(r);
                    if (rr != null && rr.verdict() == Verdict.BLOCKED) {
                        blockedRules.add(r);
                    }
                }
            }
            String summary;
            if (!failed.isEmpty()) {
                summary = ReportWriter.firstLine(failed.get(0).message());
            } else {
                Report.RuleResult own = ruleById.get(rule);
                summary = rule + " failed as a setup step of other cases (its own cases: "
                        + (own == null ? "none" : own.verdict()) + "): "
                        + ReportWriter.firstLine(stripBlocked(blocked.get(0).message()));
            }
            List<String> ruleOfReproduce = !failed.isEmpty() ? List.of(rule) : blocked.get(0).rules();
            out.add(new Report.RootCause(rule, summary, failed.stream().map(Report.CaseResult::displayName).toList(),
                    blocked.stream().map(Report.CaseResult::displayName).toList(), List.copyOf(blockedRules),
                    reproduce(ruleOfReproduce)));
        }
        return out;
    }

    /**
     * What a case says of one of its rules: its verdict, except that a case that failed another of its rules' checks
     * (and stopped there) leaves this one BLOCKED. The case the target died in fails all its rules.
     */
    static Verdict contribution(Report.CaseResult c, String rule) {
        if ((c.verdict() == Verdict.FAIL || c.verdict() == Verdict.WARN) && !died(c)
                && !failedRule(c).equals(rule)) {
            // A rule whose own check passed before another failed (a bad input refused, but closed too soon) passed.
            String passed = c.facts() == null ? null : c.facts().get(Harness.PASSED_FACT);
            return passed != null && java.util.List.of(passed.split(",")).contains(rule) ? Verdict.PASS
                    : Verdict.BLOCKED;
        }
        return c.verdict();
    }

    static boolean died(Report.CaseResult c) {
        return c.message() != null && (c.message().startsWith(DIED) || c.message().startsWith(ConformanceExtension.CLIENT_DIED));
    }

    /** The rule whose check failed in a FAIL or WARN case: the one its message names, else its first rule. */
    static String failedRule(Report.CaseResult c) {
        SpecRule named = ConformanceExtension.leadingRule(c.message());
        if (named != null && c.rules().contains(named.id())) {
            return named.id();
        }
        return c.rules().isEmpty() ? "suite" : c.rules().get(0);
    }

    private static String reproduce(List<String> rules) {
        return rules.isEmpty() ? "" : "--select " + rules.get(0);
    }

    private static String stripBlocked(String message) {
        return message != null && message.startsWith("blocked by ") ? message.substring(message.indexOf(": ") + 2)
                : message;
    }

    private static String seconds(long ms) {
        return String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }
}
