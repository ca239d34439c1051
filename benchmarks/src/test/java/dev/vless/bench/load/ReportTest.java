// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The report's goals section, from made-up figures: what is compared, each goal, and whether it was met. */
class ReportTest {

    private static final String PING = "1 flow × 64 B × 1 in flight";
    private static final String MANY = "64 flows × 1200 B × 8 in flight";

    @Test
    void theGoalsNameWhatIsComparedAndSayWhetherEachWasMet() {
        List<Result> results = List.of(
                udp(PING, "direct", 15_000, null), udp(PING, "reference v1", 9_000, 40.0),
                udp(PING, "v2ray 4.34.0 v0", 4_000, 100.0),
                udp(MANY, "direct", 100_000, null), udp(MANY, "reference v1", 60_000, 10.0),
                udp(MANY, "v2ray 4.34.0 v0", 50_000, 15.0));

        String md = Report.markdown(new Report.Machine(2, List.of(), "java", "6.1"), Map.of(),
                new Report.Names("direct", "reference v1", "v2ray 4.34.0 v0"), results, List.of(), List.of());

        assertThat(md).contains("Performance goals, reference v1 against v2ray 4.34.0 v0 (measured, not asserted):",
                "- 1 flow × 64 B × 1 in flight (ping-pong), round trips per second: reference v1 9.0k, v2ray 4.34.0 v0 "
                        + "4.0k: 2.25× (goal: at least 2×): met",
                "- 64 flows × 1200 B × 8 in flight, server CPU per round trip: reference v1 10.00 µs, v2ray 4.34.0 v0 "
                        + "15.00 µs: 0.67× (goal: at most 0.5×): not met",
                "- 64 flows × 1200 B × 8 in flight, rate as a share of the direct path's: reference v1 60%, v2ray "
                        + "4.34.0 v0 50% (goal: a larger share): met");
        assertThat(md.toLowerCase()).doesNotContain("issue");
    }

    @Test
    void withoutAComparisonThereAreNoGoals() {
        String md = Report.markdown(new Report.Machine(2, List.of(), "java", "6.1"), Map.of(),
                new Report.Names("direct", "reference v1", null), List.of(udp(PING, "reference v1", 9_000, 40.0)),
                List.of(), List.of());

        assertThat(md).doesNotContain("goal");
    }

    @Test
    void tlsRowsAreComparedWithTheComparisonsTlsRowsAndWithThePlainDirectPath() {
        List<Result> results = List.of(
                udp(PING, "direct", 15_000, null),
                udp(PING, "reference v1", 9_000, 40.0), udp(PING, "reference v1", "TLS", 6_000, 60.0),
                udp(PING, "v2ray 4.34.0 v0", 4_000, 100.0), udp(PING, "v2ray 4.34.0 v0", "TLS", 2_000, 150.0));

        String md = Report.markdown(new Report.Machine(2, List.of(), "java", "6.1"), Map.of(),
                new Report.Names("direct", "reference v1", "v2ray 4.34.0 v0"), results, List.of(), List.of());

        assertThat(md).contains("Performance goals, TLS: reference v1 against v2ray 4.34.0 v0 (measured, not "
                + "asserted):", "round trips per second: reference v1 (TLS) 6.0k, v2ray 4.34.0 v0 (TLS) 2.0k: 3.00×",
                "round trips per second: reference v1 9.0k, v2ray 4.34.0 v0 4.0k: 2.25×");
        // The TLS row: 40% of the plain direct path, 3.00× v2ray's TLS rate, 0.40× its TLS CPU; drops and cores.
        assertThat(md).contains("| reference v1 (TLS) | 6.0k rt/s (3 Mbit/s) | 40% | 100 | 200 | 300 | 0.000% | 0 / 0 "
                + "| 1.00 | 60.00 /rt (80% kernel) | 3.00× | 0.40× |", "| direct | 15.0k rt/s (8 Mbit/s) |  | 100 "
                + "| 200 | 300 | 0.000% | – / 0 |");
    }

    @Test
    void scalingSetsOneUserBesideAUserPerFlow() {
        List<Result> results = List.of(
                scaling("direct", "", 100_000), scaling("reference v1", "1 user", 40_000),
                scaling("reference v1", "64 users", 70_000), scaling("reference v1", "1 user, TLS", 30_000),
                scaling("reference v1", "64 users, TLS", 45_000));

        String md = Report.markdown(new Report.Machine(2, List.of(), "java", "6.1"), Map.of(),
                new Report.Names("direct", "reference v1", null), results, List.of(), List.of());

        assertThat(md).contains("| scaling: flows | target | 1 user: rate |",
                "| " + MANY + " | reference v1 | 40.0k rt/s (384 Mbit/s) | 40% | 1.00 | 0.000% | 0 / 0 | 70.0k rt/s "
                        + "(672 Mbit/s) | 70% | 1.00 | 0.000% | 0 / 0 | 1.75× |",
                "| " + MANY + " | reference v1 (TLS) | 30.0k rt/s");
    }

    private static Result udp(String label, String target, double rate, Double cpu) {
        return udp(label, target, "", rate, cpu);
    }

    private static Result udp(String label, String server, String variant, double rate, Double cpu) {
        String target = server + (variant.isEmpty() ? "" : " (" + variant + ")");
        return new Result("udp-echo", label, target, rate, "round trips/s", rate * 64 * 8 / 1e6, 100.0, 200.0, 300.0,
                0.0, cpu, cpu == null ? null : 0.8, 1.0, (long) rate, 0, 1.0, server, variant,
                cpu == null ? null : 1.0, 1.0, cpu == null ? null : 0L, 0L);
    }

    private static Result scaling(String server, String variant, double rate) {
        String target = server + (variant.isEmpty() ? "" : ", " + variant.replace(", TLS", "") + (
                variant.endsWith("TLS") ? " (TLS)" : ""));
        return new Result("udp-scaling", MANY, target, rate, "round trips/s", rate * 1200 * 8 / 1e6, 100.0, 200.0,
                300.0, 0.0, server.equals("direct") ? null : 10.0, 0.8, 1.0, (long) rate, 0, 1.0, server, variant,
                server.equals("direct") ? null : 1.0, 1.0, server.equals("direct") ? null : 0L, 0L);
    }
}
