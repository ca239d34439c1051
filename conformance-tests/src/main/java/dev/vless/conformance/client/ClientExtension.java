// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static dev.vless.conformance.ConformanceExtension.EVIDENCE;
import static dev.vless.conformance.ConformanceExtension.FACT_PREFIX;
import static dev.vless.conformance.ConformanceExtension.MESSAGE;
import static dev.vless.conformance.ConformanceExtension.NOT_APPLICABLE;
import static dev.vless.conformance.ConformanceExtension.TARGET_DOWN;
import static dev.vless.conformance.ConformanceExtension.VERDICT;

import dev.vless.conformance.ConformanceExtension;
import dev.vless.conformance.Verdict;
import dev.vless.spec.SpecRule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * Wires client cases to their run: supplies {@link ClientHarness}, skips cases outside the client's profile, judges
 * failures exactly as server cases are judged, and after each case checks that the client still runs: a client that
 * exited during a case FAILs that case's rules with the finding, and when it cannot be restarted later cases are
 * TARGET_DOWN.
 */
public final class ClientExtension implements ParameterResolver, ExecutionCondition, TestExecutionExceptionHandler,
        AfterEachCallback {

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ClientExtension.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (context.getTestMethod().isEmpty()) {
            return ConditionEvaluationResult.enabled("class");
        }
        ClientRun run = ClientRun.of(context);
        List<SpecRule> rules = ConformanceExtension.rules(context);
        if (!rules.isEmpty() && rules.stream().noneMatch(r -> r.appliesTo(run.options().profile()))) {
            return ConditionEvaluationResult.disabled(NOT_APPLICABLE + "rules " + rules + " are not part of profile "
                    + run.options().profile().name().toLowerCase(Locale.ROOT));
        }
        if (run.down() != null) {
            return ConditionEvaluationResult.disabled(TARGET_DOWN + run.down());
        }
        return ConditionEvaluationResult.enabled("applicable");
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == ClientHarness.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return e.getStore(NS).getOrComputeIfAbsent("harness", k -> {
            try {
                return new Closeable(new ClientHarness(ClientRun.of(e)));
            } catch (IOException x) {
                throw new UncheckedIOException("cannot start the scripted server: " + x.getMessage(), x);
            }
        }, Closeable.class).harness;
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable cause) throws Throwable {
        if (cause instanceof org.opentest4j.TestAbortedException) {
            ConformanceExtension.judgeAborted(context, cause);
        }
        ConformanceExtension.judge(context, cause, ClientRun.of(context).options().policy());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Closeable c = context.getStore(NS).remove("harness", Closeable.class);
        if (c == null) {
            return;
        }
        ClientHarness h = c.harness;
        for (Map.Entry<String, String> f : h.facts().entrySet()) {
            context.publishReportEntry(FACT_PREFIX + f.getKey(), f.getValue());
        }
        String exited = h.exited();
        String before = ConformanceExtension.stored(context, MESSAGE);
        if (exited != null) {
            // The client died under this case: whatever the case saw, its rules failed (a client must not crash).
            ConformanceExtension.publish(context, VERDICT, Verdict.FAIL.name());
            List<String> rules = ConformanceExtension.rules(context).stream().map(SpecRule::id).toList();
            ConformanceExtension.publish(context, MESSAGE, ConformanceExtension.CLIENT_DIED + " (" + exited + "), so "
                    + String.join(", ", rules) + " failed" + (before != null ? "\n" + before : ""));
            ClientRun run = ClientRun.of(context);
            if (!run.options().launcher().restartable()) {
                run.markDown("it exited during «" + context.getDisplayName() + "»: " + exited);
            }
        }
        String output = h.output();
        if (!output.isBlank()) {
            h.log().note("the client printed:\n" + output.strip());
        }
        String evidence = h.log().toString();
        if (!evidence.isEmpty()) {
            context.publishReportEntry(EVIDENCE, evidence);
        }
        c.close();
    }

    private static final class Closeable implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        final ClientHarness harness;

        Closeable(ClientHarness harness) {
            this.harness = harness;
        }

        @Override
        public void close() {
            harness.close();
        }
    }
}
