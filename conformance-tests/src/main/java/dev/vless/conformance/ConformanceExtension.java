// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.spec.RuleLevel;
import dev.vless.spec.SpecRule;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * Wires cases to the target: supplies {@link Harness} and {@link VlessTarget}, skips cases the target's profile or
 * capabilities make not applicable, turns an unmet SHOULD into a warning under the default policy, and publishes the
 * evidence (the wire log) and findings as report entries.
 */
public final class ConformanceExtension
        implements ParameterResolver, ExecutionCondition, TestExecutionExceptionHandler, BeforeEachCallback,
        AfterEachCallback {

    /** The report entry keys the {@link ReportCollector} reads. */
    public static final String VERDICT = "vless.verdict";
    public static final String MESSAGE = "vless.message";
    public static final String EVIDENCE = "vless.evidence";
    public static final String BLOCKED_BY = "vless.blockedBy";
    /** The rule whose check failed in a FAIL or WARN case. */
    public static final String FAILED_RULE = "vless.failedRule";
    /** Rules a case is found to have broken beyond its tags (ERR-5 when the target died on bad input). */
    public static final String EXTRA_RULES = "vless.extraRules";
    /** The finding the client mode gives the case during which the client under test exited. */
    public static final String CLIENT_DIED = "the client exited during this case";
    /** The prefix of a skip reason that means the target was down. */
    public static final String TARGET_DOWN = "TARGET DOWN: ";
    /** A rule ID at the start of a failure message: the rule whose check produced it. */
    private static final java.util.regex.Pattern LEADING_RULE = java.util.regex.Pattern.compile("^([A-Z]{3}-\\d+)\\b");
    public static final String FACT_PREFIX = "vless.fact.";
    /** The prefix of a skip reason that means NOT APPLICABLE. */
    public static final String NOT_APPLICABLE = "NOT APPLICABLE: ";
    /** The prefix of an abort reason that means NOT_OBSERVABLE. */
    public static final String NOT_OBSERVABLE = "NOT OBSERVABLE: ";

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ConformanceExtension.class);
    private static final String DEATHS_AT_START = "deathsAtStart";

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (context.getTestMethod().isEmpty()) {
            return ConditionEvaluationResult.enabled("class");
        }
        List<SpecRule> rules = rules(context);
        VlessTarget target;
        try {
            target = ConformanceRun.of(context).target();
        } catch (RuntimeException e) {
            return ConditionEvaluationResult.enabled("target problem is reported by the case");
        }
        if (!rules.isEmpty() && rules.stream().noneMatch(r -> r.appliesTo(target.profile()))) {
            return ConditionEvaluationResult.disabled(NOT_APPLICABLE + "rules " + rules + " are not part of profile "
                    + target.profile().name().toLowerCase(java.util.Locale.ROOT));
        }
        List<Capability> needed = new ArrayList<>();
        context.getTestClass().map(c -> c.getAnnotation(Requires.class)).ifPresent(r -> needed.addAll(List.of(r.value())));
        context.getTestMethod().map(m -> m.getAnnotation(Requires.class))
                .ifPresent(r -> needed.addAll(List.of(r.value())));
        for (Capability c : needed) {
            if (!target.has(c)) {
                return ConditionEvaluationResult.disabled(NOT_APPLICABLE + c.missingReason());
            }
        }
        String down = ConformanceRun.of(context).liveness().down();
        if (down != null) {
            return ConditionEvaluationResult.disabled(TARGET_DOWN + down);
        }
        return ConditionEvaluationResult.enabled("applicable");
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        Class<?> type = p.getParameter().getType();
        return type == Harness.class || type == VlessTarget.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        if (p.getParameter().getType() == VlessTarget.class) {
            return ConformanceRun.of(e).target();
        }
        return harness(e);
    }

    private static Harness harness(ExtensionContext e) {
        return e.getStore(NS).getOrComputeIfAbsent("harness", k -> new CloseableHarness(new Harness(
                ConformanceRun.of(e).target(), ConformanceRun.of(e))),
                CloseableHarness.class).harness;
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable cause) throws Throwable {
        if (cause instanceof org.opentest4j.TestAbortedException) {
            judgeAborted(context, cause);
        }
        if (cause instanceof TargetUnreachableException) {
            publish(context, VERDICT, Verdict.ERROR.name());
            publish(context, MESSAGE, cause.getMessage());
            throw cause;
        }
        if (cause instanceof AssertionError || cause instanceof IOException || cause instanceof PreconditionFailed) {
            // Checked first: another client taking the case's CRUMFURS explains any failure that follows from it.
            CloseableHarness running = context.getStore(NS).get("harness", CloseableHarness.class);
            String interference = running == null ? null : Interference.check(running.harness);
            if (interference != null) {
                // Not the target's fault: no verdict on its rules, and the user learns what to change.
                ConformanceRun.of(context).events().add(interference + " (during «" + context.getDisplayName()
                        + "»)");
                publish(context, VERDICT, Verdict.ERROR.name());
                publish(context, MESSAGE, interference + "\n" + cause.getMessage());
                throw cause;
            }
        }
        judge(context, cause, ConformanceRun.of(context).target().policy());
    }

    /**
     * A case found at run time that it cannot apply here (an assumption): NOT_APPLICABLE or NOT_OBSERVABLE with the
     * reason, never an error. Rethrows {@code cause}.
     */
    public static void judgeAborted(ExtensionContext context, Throwable cause) throws Throwable {
        String reason = String.valueOf(cause.getMessage());
        int unseen = reason.indexOf(NOT_OBSERVABLE);
        if (unseen >= 0) {
            publish(context, VERDICT, Verdict.NOT_OBSERVABLE.name());
            publish(context, MESSAGE, reason.substring(unseen + NOT_OBSERVABLE.length()));
            throw cause;
        }
        int at = reason.indexOf(NOT_APPLICABLE);
        publish(context, VERDICT, Verdict.NOT_APPLICABLE.name());
        publish(context, MESSAGE, at >= 0 ? reason.substring(at + NOT_APPLICABLE.length()) : reason);
        throw cause;
    }

    /**
     * The verdict of a case that threw {@code cause}: BLOCKED by another rule whose setup step failed, FAIL (or WARN
     * for an unmet SHOULD under {@code policy}) of the rule its message names or its first rule, or ERROR for a
     * harness fault. The client conformance mode judges its cases by the same rules. Rethrows {@code cause}.
     */
    public static void judge(ExtensionContext context, Throwable cause, Policy policy) throws Throwable {
        List<SpecRule> mine = rules(context);
        SpecRule blocker = cause instanceof PreconditionFailed p ? p.rule() : null;
        SpecRule named = cause instanceof AssertionError ? leadingRule(cause.getMessage()) : null;
        if (blocker == null && named != null && !mine.contains(named)) {
            blocker = named; // a shared helper checked a setup step, which is another rule's subject
        }
        if (blocker != null && !mine.contains(blocker)) {
            publish(context, VERDICT, Verdict.BLOCKED.name());
            publish(context, BLOCKED_BY, blocker.id());
            publish(context, MESSAGE, "blocked by " + blocker.id() + ": " + cause.getMessage());
            throw cause;
        }
        boolean targetsFault = cause instanceof AssertionError || cause instanceof IOException;
        if (!targetsFault) {
            publish(context, VERDICT, Verdict.ERROR.name());
            publish(context, MESSAGE, "harness error: " + cause);
            throw cause;
        }
        SpecRule failed = named != null ? named : mine.isEmpty() ? null : mine.get(0);
        RuleLevel level = failed != null && cause instanceof AssertionError ? failed.level() : level(mine);
        // A connection that failed under the case (a reset while it wrote, say) is charged to the case's first rule,
        // which its message names like any other failure.
        String message = cause instanceof IOException ? (failed != null ? failed.id() + ": " : "")
                + "the connection failed while the case used it: " + cause.getMessage()
                : String.valueOf(cause.getMessage());
        publish(context, MESSAGE, message);
        if (failed != null) {
            publish(context, FAILED_RULE, failed.id());
        }
        if (level == RuleLevel.MUST || (level == RuleLevel.SHOULD && policy == Policy.MUST_AND_SHOULD)) {
            publish(context, VERDICT, Verdict.FAIL.name());
            throw cause;
        }
        publish(context, VERDICT, Verdict.WARN.name()); // an unmet SHOULD or MAY does not fail the run
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Liveness liveness = ConformanceRun.of(context).liveness();
        context.getStore(NS).put(DEATHS_AT_START, liveness.deaths());
        liveness.started(context.getDisplayName());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Optional<CloseableHarness> h = Optional.ofNullable(context.getStore(NS).remove("harness",
                CloseableHarness.class));
        h.ifPresent(c -> {
            for (Map.Entry<String, String> f : c.harness.facts().entrySet()) {
                context.publishReportEntry(FACT_PREFIX + f.getKey(), f.getValue());
            }
            if (c.harness.isInformational() && context.getExecutionException().isEmpty()) {
                publish(context, VERDICT, Verdict.INFORMATIONAL.name());
            }
            String evidence = c.harness.log().toString();
            if (!evidence.isEmpty()) {
                context.publishReportEntry(EVIDENCE, evidence);
            }
            // Closed before the liveness probe, so that the probe sees the target with this case's connections gone.
            c.close();
        });
        Liveness liveness = ConformanceRun.of(context).liveness();
        Liveness.Death died = liveness.afterCase(context.getDisplayName());
        String before = stored(context, MESSAGE);
        if (died != null && died.alongside().isEmpty()) {
            // The case that was running when the target died fails the rules it exercises, whatever it saw; a
            // bad-input case also fails ERR-5 (bad input never stops the server serving valid requests).
            publish(context, VERDICT, Verdict.FAIL.name());
            publish(context, MESSAGE, died.finding() + (before != null ? "\n" + before : ""));
            if (context.getTags().contains("bad-input")) {
                publish(context, EXTRA_RULES, "ERR-5");
            }
        } else if (died != null) {
            // Cases ran side by side (the lifetime cases): no telling which stopped the target.
            publish(context, VERDICT, Verdict.ERROR.name());
            publish(context, MESSAGE, died.finding() + (before != null ? "\n" + before : ""));
        } else {
            Integer atStart = context.getStore(NS).get(DEATHS_AT_START, Integer.class);
            String verdict = stored(context, VERDICT);
            boolean judged = verdict == null || !(verdict.equals(Verdict.NOT_APPLICABLE.name())
                    || verdict.equals(Verdict.NOT_OBSERVABLE.name()));
            if (atStart != null && atStart != liveness.deaths() && judged) {
                // Another case found the target down while this one ran: what this one saw says nothing.
                publish(context, VERDICT, Verdict.ERROR.name());
                publish(context, MESSAGE, "the target stopped serving while this case ran (another case running"
                        + " beside it found it so): what this case saw says nothing about its rules"
                        + (before != null ? "\n" + before : ""));
            }
        }
    }

    /** Publishes a report entry and keeps it in the case's store, so that later callbacks can read it. */
    public static void publish(ExtensionContext context, String key, String value) {
        context.getStore(NS).put(key, value);
        context.publishReportEntry(key, value);
    }

    public static String stored(ExtensionContext context, String key) {
        return context.getStore(NS).get(key, String.class);
    }

    /** The rule whose ID starts {@code message}, if any. */
    static SpecRule leadingRule(String message) {
        if (message == null) {
            return null;
        }
        java.util.regex.Matcher m = LEADING_RULE.matcher(message);
        return m.find() ? SpecRule.byId(m.group(1)).orElse(null) : null;
    }

    /** The spec rules a case is tagged with. */
    public static List<SpecRule> rules(ExtensionContext context) {
        List<SpecRule> out = new ArrayList<>();
        for (String tag : context.getTags()) {
            SpecRule.byId(tag).ifPresent(out::add);
        }
        return out;
    }

    /** The strongest level among {@code rules}: a case tagged with one MUST rule is a MUST case. */
    static RuleLevel level(List<SpecRule> rules) {
        RuleLevel best = RuleLevel.MAY;
        for (SpecRule r : rules) {
            if (r.level().ordinal() < best.ordinal()) {
                best = r.level();
            }
        }
        return rules.isEmpty() ? RuleLevel.MUST : best;
    }

    // AutoCloseable as well: newer JUnit versions close store values through it and warn about the old interface.
    private static final class CloseableHarness implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        final Harness harness;

        CloseableHarness(Harness harness) {
            this.harness = harness;
        }

        @Override
        public void close() {
            harness.close();
        }
    }
}
