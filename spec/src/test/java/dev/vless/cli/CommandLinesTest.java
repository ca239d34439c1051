package dev.vless.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The command-line pieces the server and client share; their commands' own tests cover them in place too. */
class CommandLinesTest {

    private static final String HINT = "expected: such as 60s";

    @Test
    void durations() throws Exception {
        assertThat(CommandLines.duration("--x", "90", HINT)).isEqualTo(Duration.ofSeconds(90));
        assertThat(CommandLines.duration("--x", " 1h30m ", HINT)).isEqualTo(Duration.ofMinutes(90));
        assertThat(CommandLines.duration("--x", "500ms", HINT)).isEqualTo(Duration.ofMillis(500));
        assertThat(CommandLines.duration("--x", "PT2M", HINT)).isEqualTo(Duration.ofMinutes(2));
        for (String bad : new String[] {"", "5x", "m5", "5m 3s", "PTx", "1234567890123"}) {
            assertThatThrownBy(() -> CommandLines.duration("--x", bad, HINT))
                    .isInstanceOf(UsageException.class)
                    .hasMessage("--x '" + bad + "' is not a duration (" + HINT + ")");
        }
    }

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

    private static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }
}
