// SPDX-License-Identifier: Apache-2.0
package dev.vless.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The one duration syntax of every tool: what it reads, its edges, and the one complaint about the rest. */
class DurationsTest {

    @ParameterizedTest(name = "''{0}'' = {1} ns")
    @CsvSource(delimiter = '|', value = {
        // what the server, client, suite and load generator each accepted before they shared this parser
        "500ms|500000000", "30s|30000000000", "1.5s|1500000000", "5m|300000000000", "1h|3600000000000",
        "1h30m|5400000000000", "90|90000000000", "0|0", "1d|86400000000000", "2m30s|150000000000",
        "PT5M|300000000000", "PT1.5S|1500000000", "P1D|86400000000000",
        // the same unit order in every combination, a fraction on any unit, blanks and case
        "1d2h3m4s5ms|93784005000000", "1s500ms|1500000000", "0.5h|1800000000000", "1.25m|75000000000",
        "0.5|500000000", "1.5ms|1500000", "0.000000001s|1", "' 45S '|45000000000", "1H30M|5400000000000",
        "0ms|0", "0h0m0s|0", "007s|7000000000"})
    void reads(String text, long nanos) throws Exception {
        assertThat(Durations.parse("--x", text)).isEqualTo(Duration.ofNanos(nanos));
    }

    @Test
    void theLargestIsWhatALongOfNanosecondsHolds() throws Exception {
        long max = Long.MAX_VALUE; // 9223372036854775807 ns = 9223372036.854775807 s
        assertThat(Durations.parse("--x", "9223372036.854775807s")).isEqualTo(Duration.ofNanos(max))
                .isEqualTo(Durations.MAX);
        assertThat(Durations.parse("--x", "9223372036854ms")).isEqualTo(Duration.ofMillis(9_223_372_036_854L));
        assertThat(Durations.parse("--x", "106751d")).isEqualTo(Duration.ofDays(106_751));
        assertThat(Durations.parse("--x", "PT2562047H")).isEqualTo(Duration.ofHours(2_562_047));
        assertThat(Durations.MAX.toNanos()).isEqualTo(max);
        for (String tooLong : new String[] {"9223372036.854775808s", "9223372037", "106752d", "2562048h",
            "PT2562048H", "1234567890123", "9999999999999h", "99999999999999999999999999999999s"}) {
            assertThatThrownBy(() -> Durations.parse("--x", tooLong)).as(tooLong)
                    .isInstanceOf(UsageException.class)
                    .hasMessage("--x '" + tooLong + "' is not a duration (expected: a number with a unit, such as "
                            + "300s, 5m, 1h30m or 500ms)");
        }
    }

    @ParameterizedTest(name = "''{0}''")
    @ValueSource(strings = {"", " ", "s", "ms", "5x", "5 s", "5m 3s", "m5", "s30", "30s5", "-1s", "+1s", "-1",
        "1e3s", "1,5s", ".5s", "5.s", "1..5s", "30m1h", "1s1s", "500ms1s", "1h1h30m", "5sec", "5min", "1y",
        "P", "PTx", "PT-5S", "-PT5S", "P-1D", "0.0000000001s", "1.5.5s", "NaN", "Infinity", "0x10s", "１s"})
    void refusesEverythingElseWithOneMessage(String text) {
        assertThatThrownBy(() -> Durations.parse("--cool-down", text))
                .isInstanceOf(UsageException.class)
                .hasMessage("--cool-down '" + text + "' is not a duration (expected: a number with a unit, such as "
                        + "300s, 5m, 1h30m or 500ms)");
    }

    @Test
    void theUncheckedFormSaysTheSameForProperties() {
        assertThat(Durations.parseOrThrow("vless.ioTimeout", "2m")).isEqualTo(Duration.ofMinutes(2));
        assertThatThrownBy(() -> Durations.parseOrThrow("vless.ioTimeout", "soon"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(Durations.complaint("vless.ioTimeout", "soon"))
                .hasMessage("vless.ioTimeout 'soon' is not a duration (expected: a number with a unit, such as 300s, "
                        + "5m, 1h30m or 500ms)");
    }

    @Test
    void nullIsNotADuration() {
        assertThatThrownBy(() -> Durations.parse("--x", null)).isInstanceOf(UsageException.class)
                .hasMessageStartingWith("--x 'null' is not a duration");
    }

    @Test
    void theSyntaxSentenceNamesEveryFormTheHelpPromises() {
        assertThat(Durations.SYNTAX).contains("500ms", "30s", "1.5s", "5m", "1h", "1h30m", "bare number is seconds");
        for (String example : new String[] {"500ms", "30s", "1.5s", "5m", "1h", "1h30m"}) {
            assertThat(Durations.parseOrThrow("--x", example)).as(example).isPositive();
        }
    }
}
