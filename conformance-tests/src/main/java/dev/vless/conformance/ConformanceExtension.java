package dev.vless.conformance;

import dev.vless.spec.RuleLevel;
import dev.vless.spec.SpecRule;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.extension.AfterEachCallback;
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
        implements ParameterResolver, ExecutionCondition, TestExecutionExceptionHandler, AfterEachCallback {

    /** The report entry keys the {@link ReportCollector} reads. */
    static final String VERDICT = "vless.verdict";
    static final String MESSAGE = "vless.message";
    static final String EVIDENCE = "vless.evidence";
    static final String BLOCKED_BY = "vless.blockedBy";
    static final String FACT_PREFIX = "vless.fact.";
    /** The prefix of a skip reason that means NOT APPLICABLE. */
    static final String NOT_APPLICABLE = "NOT APPLICABLE: ";

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ConformanceExtension.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (context.getTestMethod().isEmpty()) {
            return ConditionEvaluationResult.enabled("class");
        }
        List<SpecRule> rules = rules(context);
        VlessTarget target;
        try {
            target = Targets.current();
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
            return Targets.current();
        }
        return harness(e);
    }

    private static Harness harness(ExtensionContext e) {
        return e.getStore(NS).getOrComputeIfAbsent("harness", k -> new CloseableHarness(new Harness(Targets.current())),
                CloseableHarness.class).harness;
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable cause) throws Throwable {
        if (cause instanceof org.opentest4j.TestAbortedException) {
            // A case found at run time that it cannot apply here (an assumption): NOT APPLICABLE, never an error.
            String reason = String.valueOf(cause.getMessage());
            int at = reason.indexOf(NOT_APPLICABLE);
            context.publishReportEntry(VERDICT, Verdict.NOT_APPLICABLE.name());
            context.publishReportEntry(MESSAGE, at >= 0 ? reason.substring(at + NOT_APPLICABLE.length()) : reason);
            throw cause;
        }
        if (cause instanceof TargetUnreachableException) {
            context.publishReportEntry(VERDICT, Verdict.ERROR.name());
            context.publishReportEntry(MESSAGE, cause.getMessage());
            throw cause;
        }
        boolean targetsFault = cause instanceof AssertionError || cause instanceof IOException;
        if (!targetsFault) {
            context.publishReportEntry(VERDICT, Verdict.ERROR.name());
            context.publishReportEntry(MESSAGE, "harness error: " + cause);
            throw cause;
        }
        RuleLevel level = level(rules(context));
        VlessTarget target = Targets.current();
        String message = cause instanceof IOException ? "the connection failed: " + cause.getMessage()
                : String.valueOf(cause.getMessage());
        context.publishReportEntry(MESSAGE, message);
        if (level == RuleLevel.MUST || (level == RuleLevel.SHOULD && target.policy() == Policy.MUST_AND_SHOULD)) {
            context.publishReportEntry(VERDICT, Verdict.FAIL.name());
            throw cause;
        }
        context.publishReportEntry(VERDICT, Verdict.WARN.name()); // an unmet SHOULD or MAY does not fail the run
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Optional<CloseableHarness> h = Optional.ofNullable(context.getStore(NS).get("harness", CloseableHarness.class));
        h.ifPresent(c -> {
            for (Map.Entry<String, String> f : c.harness.facts().entrySet()) {
                context.publishReportEntry(FACT_PREFIX + f.getKey(), f.getValue());
            }
            if (c.harness.isInformational() && context.getExecutionException().isEmpty()) {
                context.publishReportEntry(VERDICT, Verdict.INFORMATIONAL.name());
            }
            String evidence = c.harness.log().toString();
            if (!evidence.isEmpty()) {
                context.publishReportEntry(EVIDENCE, evidence);
            }
        });
    }

    /** The spec rules a case is tagged with. */
    static List<SpecRule> rules(ExtensionContext context) {
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
