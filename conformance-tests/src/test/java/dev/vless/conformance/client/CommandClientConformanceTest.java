// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.conformance.Report;
import dev.vless.conformance.Selection;
import dev.vless.conformance.Verdict;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The way third-party clients are checked, end to end: the reference client's jar started as a process from a
 * command template for every case, through {@code CommandClientLauncher}, as {@code vless-conformance client
 * --client-cmd} does.
 */
class CommandClientConformanceTest {

    @Test
    void referenceClientStartedFromATemplatePasses() throws Exception {
        Path jar = Path.of("..", "reference-client", "target", "vless-client.jar").toAbsolutePath().normalize();
        if (!Files.isRegularFile(jar)) {
            if (System.getenv("CI") != null) {
                throw new AssertionError(jar + " is missing: the reactor builds it before this module's tests");
            }
            Assumptions.abort("skipped: " + jar + " is not built (./mvnw -pl reference-client package)");
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String template = java + " -jar " + jar + " --server {link} --socks {socks} --udp-idle 2s";
        ClientOptions o = ClientOptions.defaults(new CommandClientLauncher(template, null, Duration.ofSeconds(30)))
                .withUdpIdle(Duration.ofSeconds(2));
        Report report = ClientConformance.run(o, Selection.parse("header,udp"), System.out, false);
        assertThat(report.unchecked()).as("pre-flight").isNull();
        assertThat(report.cases()).filteredOn(c -> c.verdict() != Verdict.PASS
                && c.verdict() != Verdict.NOT_APPLICABLE).as("cases that did not pass").isEmpty();
    }
}
