// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.spec.Party;
import dev.vless.spec.Profile;
import dev.vless.spec.RuleLevel;
import dev.vless.spec.SpecRule;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestTag;
import org.junit.platform.engine.reporting.ReportEntry;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Listens to a run of the cases and builds the {@link Report}; with a console, prints one line per case as it finishes
 * (with the full reason of anything but a pass) and a running count, so that a long run can be followed.
 */
public final class ReportCollector implements TestExecutionListener {

    private final Map<String, Map<String, String>> entries = new ConcurrentHashMap<>();
    private final Map<String, Long> started = new ConcurrentHashMap<>();
    private final Map<String, Integer> order = new ConcurrentHashMap<>();
    private final AtomicInteger nextOrder = new AtomicInteger();
    private final List<Report.CaseResult> cases = java.util.Collections.synchronizedList(new ArrayList<>());
    private final long startNanos = System.nanoTime();
    private final String startedAt = Instant.now().toString();
    private final PrintStream console;
    private final Redaction redaction;
    private volatile int total;
    /** Which side the run checks: rules of the other side with no case are not applicable. */
    private volatile Party checked = Party.SERVER;

    /** A collector that prints nothing while the run goes on. */
    public ReportCollector() {
        this(null, Redaction.NONE);
    }

    /** A collector that prints each case on {@code console} as it finishes, with secrets replaced by {@code redaction}. */
    public ReportCollector(PrintStream console, Redaction redaction) {
        this.console = console;
        this.redaction = redaction;
    }

    /** Makes this the collector of a run that checks {@code side} (clients, in the client conformance mode). */
    public ReportCollector checking(Party side) {
        this.checked = side;
        return this;
    }

    @Override
    public void testPlanExecutionStarted(TestPlan plan) {
        int n = 0;
        for (TestIdentifier root : plan.getRoots()) {
            n += count(plan, root);
        }
        total = n;
        if (console != null) {
            console.println("Running " + n + " cases…");
        }
    }

    private static int count(TestPlan plan, TestIdentifier id) {
        int n = id.isTest() ? 1 : 0;
        for (TestIdentifier child : plan.getChildren(id)) {
            n += count(plan, child);
        }
        return n;
    }

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
            Verdict v = Verdict.NOT_APPLICABLE;
            String note = reason;
            if (reason.startsWith(ConformanceExtension.NOT_APPLICABLE)) {
                note = reason.substring(ConformanceExtension.NOT_APPLICABLE.length());
            } else if (reason.startsWith(ConformanceExtension.TARGET_DOWN)) {
                v = Verdict.TARGET_DOWN;
                note = "not run: " + reason.substring(ConformanceExtension.TARGET_DOWN.length());
            }
            add(result(id, v, note, 0));
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
        add(result(id, verdict, message, ms));
    }

    private void add(Report.CaseResult c) {
        int done;
        synchronized (cases) {
            cases.add(c);
            done = cases.size();
        }
        PrintStream out = console;
        if (out == null) {
            return;
        }
        synchronized (out) { // cases finish on several threads: keep each case's lines together
            print(out, c, done);
        }
    }

    private void print(PrintStream out, Report.CaseResult c, int done) {
        String time = c.order() == 0 ? "" : String.format(Locale.ROOT, "%6.1f s ", c.startMs() / 1000.0);
        String took = c.order() == 0 ? "" : String.format(Locale.ROOT, "  (%.1f s)", c.durationMs() / 1000.0);
        out.println(String.format(Locale.ROOT, "[%3d/%d] %s%-14s %s%s", done, total, time, c.verdict(),
                redaction.apply(c.displayName()), took));
        if (c.message() != null && c.verdict() != Verdict.PASS && c.verdict() != Verdict.INFORMATIONAL) {
            boolean full = c.verdict() == Verdict.FAIL || c.verdict() == Verdict.WARN || c.verdict() == Verdict.ERROR
                    || c.verdict() == Verdict.BLOCKED;
            String text = redaction.apply(c.message());
            if (!full) {
                int nl = text.indexOf('\n');
                text = nl < 0 ? text : text.substring(0, nl);
            }
            for (String line : text.split("\n")) {
                out.println("             " + line);
            }
        }
    }

    private Report.CaseResult result(TestIdentifier id, Verdict verdict, String message, long ms) {
        Map<String, String> e = entries.getOrDefault(id.getUniqueId(), Map.of());
        Set<String> rules = new LinkedHashSet<>();
        for (TestTag tag : id.getTags()) {
            SpecRule.byId(tag.getName()).ifPresent(r -> rules.add(r.id()));
        }
        String extra = e.get(ConformanceExtension.EXTRA_RULES);
        if (extra != null) {
            for (String r : extra.split(",")) {
                SpecRule.byId(r.trim()).ifPresent(x -> rules.add(x.id()));
            }
        }
        Map<String, String> facts = new LinkedHashMap<>();
        e.forEach((k, v) -> {
            if (k.startsWith(ConformanceExtension.FACT_PREFIX)) {
                facts.put(k.substring(ConformanceExtension.FACT_PREFIX.length()), v);
            }
        });
        String evidence = e.get(ConformanceExtension.EVIDENCE);
        RuleLevel level = ConformanceExtension.level(rules.stream().map(r -> SpecRule.byId(r).orElseThrow()).toList());
        Integer n = order.get(id.getUniqueId());
        long startMs = (started.getOrDefault(id.getUniqueId(), startNanos) - startNanos) / 1_000_000;
        return new Report.CaseResult(id.getUniqueId(), id.getDisplayName(), List.copyOf(rules), level.name(), verdict,
                message, ms, facts, evidence == null ? List.of() : List.of(evidence.split("\n")), n == null ? 0 : n,
                n == null ? 0 : startMs, e.get(ConformanceExtension.BLOCKED_BY));
    }

    /** Builds the report of a run of every case, once the run is over. */
    public Report report(String targetDescription, Profile profile, Policy policy, String suiteVersion) {
        return report(targetDescription, profile, policy, suiteVersion, false, List.of(), null);
    }

    /**
     * Builds the report from what has finished so far (all of it once the run is over); in a {@code partial} run (a
     * selection) rules without cases were not selected rather than uncovered.
     */
    public Report report(String targetDescription, Profile profile, Policy policy, String suiteVersion,
            boolean partial, List<String> events, String unchecked) {
        List<Report.CaseResult> all;
        synchronized (cases) {
            all = new ArrayList<>(cases);
        }
        // Run order; cases never started (not applicable, target down) after those that ran, by name.
        all.sort(Comparator.comparingInt((Report.CaseResult c) -> c.order() == 0 ? Integer.MAX_VALUE : c.order())
                .thenComparing(Report.CaseResult::displayName));
        List<Report.RuleResult> rules = new ArrayList<>();
        Map<Verdict, Integer> counts = new EnumMap<>(Verdict.class);
        boolean passed = unchecked == null;
        for (SpecRule rule : SpecRule.values()) {
            List<Report.CaseResult> mine = all.stream().filter(c -> c.rules().contains(rule.id())).toList();
            Verdict v;
            String note = null;
            if (!rule.appliesTo(profile)) {
                v = Verdict.NOT_APPLICABLE;
                note = "not part of profile " + profile.name().toLowerCase(Locale.ROOT);
            } else if (unchecked != null) {
                v = Verdict.ERROR;
                note = "not checked: " + unchecked;
            } else if (mine.isEmpty() && partial) {
                v = Verdict.UNCOVERED;
                note = "not selected in this run";
            } else if (mine.isEmpty() && checked == Party.SERVER && rule.party() == Party.CLIENT) {
                v = Verdict.NOT_APPLICABLE;
                note = Unobservable.clientRule(rule.id());
            } else if (mine.isEmpty() && checked == Party.CLIENT && rule.party() == Party.SERVER) {
                v = Verdict.NOT_APPLICABLE;
                note = Unobservable.serverRule(rule.id());
            } else if (mine.isEmpty() && Unobservable.reason(rule.id(), checked) != null) {
                v = Verdict.NOT_OBSERVABLE;
                note = Unobservable.reason(rule.id(), checked);
            } else if (mine.isEmpty()) {
                v = Verdict.UNCOVERED;
                note = "no case checks this rule yet";
            } else {
                // A case that failed another of its rules' checks says nothing about this one: it stopped there.
                v = null;
                for (Report.CaseResult c : mine) {
                    Verdict mineV = RootCauses.contribution(c, rule.id());
                    v = v == null ? mineV : Verdict.worse(v, mineV);
                }
                Verdict worst = v;
                Optional<Report.CaseResult> first = mine.stream()
                        .filter(c -> RootCauses.contribution(c, rule.id()) == worst).findFirst();
                if (v != Verdict.PASS && v != Verdict.INFORMATIONAL && first.isPresent()) {
                    Report.CaseResult c = first.get();
                    note = c.verdict() == worst ? c.message()
                            : "blocked by " + RootCauses.failedRule(c) + " in «" + c.displayName() + "»: " + c.message();
                }
            }
            if (v == Verdict.FAIL && (rule.level() == RuleLevel.MUST
                    || (rule.level() == RuleLevel.SHOULD && policy == Policy.MUST_AND_SHOULD))) {
                passed = false;
            }
            if (v == Verdict.ERROR || v == Verdict.BLOCKED || v == Verdict.TARGET_DOWN) {
                passed = false;
            }
            counts.merge(v, 1, Integer::sum);
            rules.add(new Report.RuleResult(rule.id(), rule.level().name(), rule.party().name().toLowerCase(Locale.ROOT),
                    rule.section(), rule.requirement(), v, note, mine.stream().map(Report.CaseResult::displayName)
                    .toList()));
        }
        for (Report.CaseResult c : all) {
            if (c.verdict() == Verdict.ERROR || c.verdict() == Verdict.FAIL
                    && RuleLevel.valueOf(c.level()) == RuleLevel.MUST) {
                passed = false;
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
        return new Report(1, suiteVersion, targetDescription, profile.name().toLowerCase(Locale.ROOT),
                policy == Policy.MUST ? "must" : "must+should", startedAt,
                (System.nanoTime() - startNanos) / 1_000_000, passed, summary, classification,
                RootCauses.of(all, rules), List.copyOf(events), unchecked, rules, all);
    }
}
