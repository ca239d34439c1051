// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.cli.Durations;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code vless-bench}'s command line without a run: its help, and a bad duration as a usage error. */
class LoadGeneratorCommandLineTest {

    @Test
    void helpSaysTheDurationSyntaxOnceAndListsTheExitCodes() {
        String help = new CommandLine(new LoadGenerator(System.out)).getUsageMessage();

        String flowed = help.replaceAll("\\s+", " ");
        assertThat(flowed.split(Pattern.quote(Durations.SYNTAX), -1)).as("the syntax sentence, once").hasSize(2);
        assertThat(help).contains("Exit codes:");
        assertThat(flowed).contains("0 done", "1 a target failed to start or a workload failed",
                "2 bad command line");
    }

    @Test
    void aBadDurationIsAUsageErrorWithTheSharedMessage() {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream realErr = System.err;
        int code;
        // The generator reports usage errors through a CommandLine of its own, which writes to System.err.
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            code = LoadGenerator.run(new PrintStream(console, true, StandardCharsets.UTF_8), "--duration", "5 s");
        } finally {
            System.setErr(realErr);
        }

        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .startsWith(Durations.complaint("--duration", "5 s") + System.lineSeparator());
        assertThat(console.toString(StandardCharsets.UTF_8)).as("nothing ran").isEmpty();
    }

    @Test
    void badVariantOptionsAreUsageErrorsThatSayWhatIsExpected() {
        assertThat(usageError("--security", "ssl")).contains("--security ssl (expected: plain, tls");
        assertThat(usageError("--server-transport", "kqueue")).contains("--server-transport kqueue (expected: auto, "
                + "epoll, io_uring or nio");
        assertThat(usageError("--scaling", "4", "--scaling-shape", "1200")).contains("expected PAYLOADxINFLIGHT");
        assertThat(usageError("--scaling", "4", "--target", "vless://11111111-2222-3333-4444-555555555555@127.0.0.1:1"
                + "?security=none")).contains("--scaling need the reference server this run starts");
    }

    @Test
    void helpDescribesTheVariantOptions() {
        String help = new CommandLine(new LoadGenerator(System.out)).getUsageMessage().replaceAll("\\s+", " ");

        assertThat(help).contains("--security=plain|tls", "--scaling=FLOWS", "--scaling-shape=PAYLOADxINFLIGHT",
                "--server-transport=auto|epoll|io_uring|nio", "(default: [plain, tls])");
    }

    /** Runs the generator with a bad command line: exit code 2, and what it printed on System.err. */
    private static String usageError(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream realErr = System.err;
        int code;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            code = LoadGenerator.run(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), args);
        } finally {
            System.setErr(realErr);
        }
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isEqualTo(2);
        return err.toString(StandardCharsets.UTF_8).replaceAll("\\s+", " ");
    }
}
