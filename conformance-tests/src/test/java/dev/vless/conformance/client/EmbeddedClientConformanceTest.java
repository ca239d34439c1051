// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.client.UdpMode;
import dev.vless.conformance.Report;
import dev.vless.conformance.Selection;
import dev.vless.conformance.Verdict;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The reference client passes every client rule the suite checks, in both UDP modes: {@code mvn verify} holds it to
 * that, as {@code EmbeddedConformanceTest} holds the reference server.
 */
class EmbeddedClientConformanceTest {

    @ParameterizedTest
    @EnumSource(UdpMode.class)
    void referenceClientPasses(UdpMode mode) throws Exception {
        String only = System.getProperty("clientcases.select", "");
        Report report = ClientConformance.run(ClientOptions.defaults(new ReferenceClientLauncher(mode)),
                Selection.parse(only), System.out, false);
        assertThat(report.unchecked()).as("pre-flight").isNull();
        List<String> bad = report.cases().stream()
                .filter(c -> c.verdict() == Verdict.FAIL || c.verdict() == Verdict.ERROR
                        || c.verdict() == Verdict.BLOCKED || c.verdict() == Verdict.WARN)
                .map(c -> c.verdict() + " " + c.displayName() + ": " + c.message() + "\n" + String.join("\n",
                        c.evidence()))
                .collect(Collectors.toList());
        assertThat(bad).as("cases that did not pass").isEmpty();
        assertThat(report.passed()).isTrue();
    }
}
