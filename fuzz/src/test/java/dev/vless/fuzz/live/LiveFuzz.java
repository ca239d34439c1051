// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz.live;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Settings of the live fuzzers, and where they keep what they find.
 *
 * <ul>
 *   <li>{@code -Dvless.fuzz.live.seconds=N}: how long each fuzzer runs (the build runs each for a few seconds);</li>
 *   <li>{@code -Dvless.fuzz.live.seed=S}: replays the run that printed this seed (with the same duration).</li>
 * </ul>
 *
 * A failing input is written to {@code target/live-fuzz-findings/} in the corpus format; copied into
 * {@code src/test/resources/dev/vless/fuzz/live/corpus/}, it is replayed by {@link LiveCorpusTest} on every build.
 */
final class LiveFuzz {

    static final Path FINDINGS = Path.of("target", "live-fuzz-findings");

    private LiveFuzz() {
    }

    static Duration duration() {
        String s = System.getProperty("vless.fuzz.live.seconds", "");
        return Duration.ofMillis((long) (1000 * (s.isBlank() ? 4 : Double.parseDouble(s))));
    }

    static long seed() {
        String s = System.getProperty("vless.fuzz.live.seed", "");
        return s.isBlank() ? System.nanoTime() : Long.parseLong(s);
    }

    /** {@code failure} with where its input was saved: the corpus {@code header} lines, then one line per item. */
    static AssertionError finding(AssertionError failure, String name, List<String> header, List<String> items) {
        List<String> lines = new java.util.ArrayList<>(header);
        lines.addAll(items);
        return new AssertionError(failure.getMessage() + "\n" + save(name, failure.getMessage(), lines), failure);
    }

    /** Writes a finding and returns a sentence that says where it is and how to keep it. */
    static String save(String name, String why, List<String> lines) {
        try {
            Files.createDirectories(FINDINGS);
            Path file = FINDINGS.resolve(name + ".txt");
            StringBuilder text = new StringBuilder("# ").append(why.replace('\n', ' ')).append('\n');
            for (String l : lines) {
                text.append(l).append('\n');
            }
            Files.writeString(file, text, StandardCharsets.UTF_8);
            return "the input is in " + file.toAbsolutePath() + "; copy it to"
                    + " fuzz/src/test/resources/dev/vless/fuzz/live/corpus/ to replay it on every build";
        } catch (IOException e) {
            return "the input could not be saved: " + e;
        }
    }
}
