// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ctrl-C (SIGINT or SIGTERM) in the middle of a run still leaves a report of the cases finished so far. */
class InterruptedRunTest {

    @Test
    @DisplayName("an interrupted command-line run writes the partial report, saying it was interrupted")
    void interruptedRunWritesPartialReport(@TempDir Path dir) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                ConformanceMain.class.getName(), "--report-dir", dir.toString())
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            int finished = 0;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("[") && line.contains("/")) {
                    finished++;
                }
                if (finished == 3) {
                    p.destroy(); // SIGTERM: the JVM runs its shutdown hooks, as on Ctrl-C
                    break;
                }
            }
            assertThat(finished).as("cases finished before the interruption").isEqualTo(3);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        Path json = dir.resolve("report.json");
        assertThat(json).exists();
        assertThat(dir.resolve("report.html")).exists();
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertThat(report.get("events").toString()).contains("interrupted");
        assertThat(report.get("cases").size()).isGreaterThanOrEqualTo(3);
    }
}
