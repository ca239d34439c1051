package dev.vless.conformance;

import dev.vless.spec.Party;
import dev.vless.spec.Profile;
import dev.vless.spec.RuleLevel;
import dev.vless.spec.SpecRule;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestTag;
import org.junit.platform.engine.reporting.ReportEntry;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/** Listens to a run of the cases and builds the {@link Report}. */
public final class ReportCollector implements TestExecutionListener {

    private final Map<String, Map<String, String>> entries = new ConcurrentHashMap<>();
    private final Map<String, Long> started = new ConcurrentHashMap<>();
    private final Map<String, Integer> order = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger nextOrder = new java.util.concurrent.atomic.AtomicInteger();
    private final List<Report.CaseResult> cases = java.util.Collections.synchronizedList(new ArrayList<>());
    private final long startNanos = System.nanoTime();
    private final String startedAt = Instant.now().toString();

    @Override
    public void executionStarted(TestIdentifier id) {
        started.put(id.getUniqueId(), System.nanoTime());
        if (id.isTest()) {
            order.put(id.getUniqueId(), nextOrder.incrementAndGet());
        }
    }

    @Override
    public void reportingEntryPublished(TestIdentifier id, ReportEntry entry) {
        entries.computeIfAbsent(id.getUniqueId(), k -> new LinkedHashMap<>()).putAll(entry.getKeyValuePairs());
    }

    @Override
    public void executionSkipped(TestIdentifier id, String reason) {
        if (id.isTest()) {
            String note = reason.startsWith(ConformanceExtension.NOT_APPLICABLE)
                    ? reason.substring(ConformanceExtension.NOT_APPLICABLE.length()) : reason;
            cases.add(result(id, Verdict.NOT_APPLICABLE, note, 0));
        }
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        if (!id.isTest()) {
            return;
        }
        Map<String, String> e = entries.getOrDefault(id.getUniqueId(), Map.of());
        long ms = (System.nanoTime() - started.getOrDefault(id.getUniqueId(), System.nanoTime())) / 1_000_000;
        String message = e.get(ConformanceExtension.MESSAGE);
        Verdict verdict;
        if (e.containsKey(ConformanceExtension.VERDICT)) {
            verdict = Verdict.valueOf(e.get(ConformanceExtension.VERDICT));
        } else {
            switch (result.getStatus()) {
                case SUCCESSFUL:
                    verdict = Verdict.PASS;
                    break;
                case ABORTED:
                    verdict = Verdict.NOT_APPLICABLE;
                    break;
                default:
                    verdict = Verdict.ERROR;
            }
        }
        if (message == null) {
            message = result.getThrowable().map(t -> String.valueOf(t.getMessage())).orElse(null);
        }
        cases.add(result(id, verdict, message, ms));
    }

    private Report.CaseResult result(TestIdentifier id, Verdict verdict, String message, long ms) {
        List<String> rules = new ArrayList<>();
        for (TestTag tag : id.getTags()) {
            SpecRule.byId(tag.getName()).ifPresent(r -> rules.add(r.id()));
        }
        Map<String, String> e = entries.getOrDefault(id.getUniqueId(), Map.of());
        Map<String, String> facts = new LinkedHashMap<>();
        e.forEach((k, v) -> {
            if (k.startsWith(ConformanceExtension.FACT_PREFIX)) {
                facts.put(k.substring(ConformanceExtension.FACT_PREFIX.length()), v);
            }
        });
        String evidence = e.get(ConformanceExtension.EVIDENCE);
        RuleLevel level = ConformanceExtension.level(rules.stream().map(r -> SpecRule.byId(r).orElseThrow()).toList());
        Integer order = this.order.get(id.getUniqueId());
        long startMs = (started.getOrDefault(id.getUniqueId(), startNanos) - startNanos) / 1_000_000;
        return new Report.CaseResult(id.getUniqueId(), id.getDisplayName(), rules, level.name(), verdict, message, ms,
                facts, evidence == null ? List.of() : List.of(evidence.split("\n")), order == null ? 0 : order,
                order == null ? 0 : startMs, e.get(ConformanceExtension.BLOCKED_BY));
    }

    /** Builds the report of a run of every case, once the run is over. */
    public Report report(String targetDescription, Profile profile, Policy policy, String suiteVersion) {
        return report(targetDescription, profile, policy, suiteVersion, false);
    }

    /**
     * Builds the report once the run is over; in a {@code partial} run (a selection) rules without cases were not
     * selected rather than uncovered.
     */
    public Report report(String targetDescription, Profile profile, Policy policy, String suiteVersion,
            boolean partial) {
        List<Report.CaseResult> all;
        synchronized (cases) {
            all = new ArrayList<>(cases);
        }
        List<Report.RuleResult> rules = new ArrayList<>();
        Map<Verdict, Integer> counts = new EnumMap<>(Verdict.class);
        boolean passed = true;
        for (SpecRule rule : SpecRule.values()) {
            List<Report.CaseResult> mine = all.stream().filter(c -> c.rules().contains(rule.id())).toList();
            Verdict v;
            String note = null;
            if (!rule.appliesTo(profile)) {
                v = Verdict.NOT_APPLICABLE;
                note = "not part of profile " + profile.name().toLowerCase(Locale.ROOT);
            } else if (mine.isEmpty()) {
                v = Verdict.UNCOVERED;
                note = rule.party() == Party.CLIENT ? "binds clients; a server suite cannot observe it"
                        : partial ? "not selected in this run" : "no case checks this rule yet";
            } else {
                v = null;
                for (Report.CaseResult c : mine) {
                    v = v == null ? c.verdict() : Verdict.worse(v, c.verdict());
                }
                Optional<Report.CaseResult> first = mine.stream().filter(c -> c.verdict() == Verdict.FAIL
                        || c.verdict() == Verdict.ERROR || c.verdict() == Verdict.WARN).findFirst();
                if (first.isPresent()) {
                    note = first.get().message();
                } else if (v == Verdict.NOT_APPLICABLE) {
                    note = mine.get(0).message();
                }
            }
            if (v == Verdict.FAIL && (rule.level() == RuleLevel.MUST
                    || (rule.level() == RuleLevel.SHOULD && policy == Policy.MUST_AND_SHOULD))) {
                passed = false;
            }
            if (v == Verdict.ERROR) {
                passed = false;
            }
            counts.merge(v, 1, Integer::sum);
            rules.add(new Report.RuleResult(rule.id(), rule.level().name(), rule.party().name().toLowerCase(Locale.ROOT),
                    rule.section(), rule.requirement(), v, note, mine.stream().map(Report.CaseResult::displayName)
                    .toList()));
        }
        for (Report.CaseResult c : all) {
            if (c.verdict() == Verdict.FAIL || c.verdict() == Verdict.ERROR) {
                if (c.verdict() == Verdict.ERROR || RuleLevel.valueOf(c.level()) == RuleLevel.MUST) {
                    passed = false;
                }
            }
        }
        Map<String, Integer> summary = new LinkedHashMap<>();
        for (Verdict v : Verdict.values()) {
            summary.put(v.name(), counts.getOrDefault(v, 0));
        }
        Map<String, String> classification = new LinkedHashMap<>();
        for (Report.CaseResult c : all) {
            c.facts().forEach((k, val) -> {
                if (k.startsWith("nat.")) {
                    classification.putIfAbsent(k.substring(4), val);
                }
            });
        }
        // Run order; cases never started (not applicable, target down) after those that ran, by name.
        all.sort(java.util.Comparator.comparingInt((Report.CaseResult c) -> c.order() == 0 ? Integer.MAX_VALUE
                : c.order()).thenComparing(Report.CaseResult::displayName));
        return new Report(1, suiteVersion, targetDescription, profile.name().toLowerCase(Locale.ROOT),
                policy == Policy.MUST ? "must" : "must+should", startedAt,
                (System.nanoTime() - startNanos) / 1_000_000, passed, summary, classification, List.of(), List.of(),
                null, rules, all);
    }

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        // The runner asks for the report; nothing to do here.
    }
}
