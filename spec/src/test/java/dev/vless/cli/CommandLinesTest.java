// SPDX-License-Identifier: Apache-2.0
package dev.vless.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.util.ResourceLeakDetector;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The command-line pieces the server and client share; their commands' own tests cover them in place too. */
class CommandLinesTest {

    @Test
    void logLevels() throws Exception {
        assertThat(CommandLines.logLevel(" DEBUG ")).isEqualTo("debug");
        assertThatThrownBy(() -> CommandLines.logLevel("loud"))
                .isInstanceOf(UsageException.class)
                .hasMessage("--log-level 'loud' is not a level (expected: error, warn, info or debug)");
    }

    @Test
    void stopReportsTheOutcome() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int ok = CommandLines.stop("tool", () -> CompletableFuture.completedFuture(null), () -> "n=1",
                print(out), print(err), 70);
        assertThat(ok).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("stopped; final stats: n=1\n");
        int failed = CommandLines.stop("tool", () -> CompletableFuture.failedFuture(new IllegalStateException("x")),
                () -> "n=2", print(out), print(err), 70);
        assertThat(failed).isEqualTo(70);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .isEqualTo("tool: error while stopping: java.lang.IllegalStateException: x\n");
    }

    @Test
    void theLeakDetectorIsOffForTheToolsUnlessTheJvmWasGivenALevel() {
        String given = System.getProperty("io.netty.leakDetection.level");
        ResourceLeakDetector.Level before = ResourceLeakDetector.getLevel();
        try {
            System.setProperty("io.netty.leakDetection.level", "paranoid");
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
            CommandLines.leakDetectionOffUnlessAsked();
            assertThat(ResourceLeakDetector.getLevel()).as("a level given to the JVM stays")
                    .isEqualTo(ResourceLeakDetector.Level.PARANOID);

            System.clearProperty("io.netty.leakDetection.level");
            CommandLines.leakDetectionOffUnlessAsked();
            assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.DISABLED);
        } finally {
            // The build's own level (PARANOID) back for every test after this one.
            if (given != null) {
                System.setProperty("io.netty.leakDetection.level", given);
            }
            ResourceLeakDetector.setLevel(before);
        }
    }

    private static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }
}
