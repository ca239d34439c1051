package dev.vless.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Runs the whole suite against its default target, the embedded reference server, as {@code mvn verify} does: every
 * MUST rule must pass. With {@code -Dvless.target=vless://...} the same test checks that server instead.
 */
class EmbeddedConformanceTest {

    @Test
    void everyMustRulePasses() throws Exception {
        Report report = ConformanceRunner.run(TargetOptions.fromSystemProperties(),
                Selection.parse(System.getProperty("vless.select")), System.out);
        assertThat(report.cases()).isNotEmpty();
        assertThat(report.cases())
                .filteredOn(c -> c.verdict() == Verdict.FAIL || c.verdict() == Verdict.ERROR)
                .as("cases that failed (details in target/vless-conformance/report.md)")
                .isEmpty();
        assertThat(report.passed()).isTrue();
    }
}
