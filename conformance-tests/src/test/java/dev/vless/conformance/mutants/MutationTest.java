// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.mutants;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.conformance.ConformanceRunner;
import dev.vless.conformance.Report;
import dev.vless.conformance.Selection;
import dev.vless.conformance.TargetOptions;
import dev.vless.conformance.Verdict;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Mutation testing of the suite: each {@link Fault} of {@link MutantServer} is one realistic bug, and the suite, run
 * on the fault's group, must report it under the rule it breaks (FAIL for a MUST, WARN for a SHOULD), with a reason
 * that names the rule. A control run first checks that the clean mutant fails nothing, so that every caught fault is
 * caused by the fault. The last test prints "Mutation testing: N/M faults caught" and fails if any was missed.
 */
class MutationTest {

    /** One fault: the selection to run and the verdict each broken rule must get. */
    record Row(Fault fault, String selection, Map<String, Verdict> expected, boolean perDestination) {
        Row(Fault fault, String selection, Object... ruleVerdicts) {
            this(fault, selection, map(ruleVerdicts), fault == Fault.ENTRIES_NEVER_EXPIRE);
        }

        private static Map<String, Verdict> map(Object... kv) {
            Map<String, Verdict> m = new LinkedHashMap<>();
            for (int i = 0; i < kv.length; i += 2) {
                m.put((String) kv[i], (Verdict) kv[i + 1]);
            }
            return m;
        }
    }

    private static final Verdict FAIL = Verdict.FAIL;
    private static final Verdict WARN = Verdict.WARN;

    static final List<Row> FAULTS = List.of(
            new Row(Fault.SYMMETRIC, "full-cone", "NAT-3", FAIL, "NAT-4", WARN),
            new Row(Fault.PER_CONNECTION_SOCKETS, "full-cone", "NAT-2", FAIL),
            new Row(Fault.GLOBAL_CONTEXT, "full-cone", "NAT-1", FAIL),
            new Row(Fault.UUID_ONLY_CONTEXT, "full-cone", "NAT-1", FAIL),
            new Row(Fault.OLD_CONNECTION, "nat", "DLV-1", FAIL),
            new Row(Fault.KNOWN_SOURCE_TO_CRUMFURS, "nat", "DLV-1", FAIL),
            new Row(Fault.SIGNED_LENGTH, "udp", "UDP-2", FAIL),
            new Row(Fault.LITTLE_ENDIAN, "udp", "UDP-1", FAIL),
            new Row(Fault.TRUNCATION, "udp", "UDP-4", FAIL),
            new Row(Fault.OVERSIZE_CLOSES, "udp", "UDP-5", FAIL),
            new Row(Fault.NO_ACK, "crumfurs", "CRF-1", FAIL),
            new Row(Fault.CLOSES_AFTER_ACK, "crumfurs", "CRF-2", FAIL),
            new Row(Fault.NO_REPLACE, "crumfurs", "CRF-3", FAIL),
            new Row(Fault.JUNK_CLOSES, "crumfurs", "CRF-4", FAIL),
            new Row(Fault.V1_RESPONSE_HEADER, "header", "RSP-1", FAIL),
            new Row(Fault.TRAILING_BYTES_DROPPED, "header", "HDR-11", FAIL),
            new Row(Fault.SPLIT_HEADER_REFUSED, "header", "HDR-10", FAIL),
            new Row(Fault.ANY_UUID, "bad-input", "HDR-3", FAIL),
            new Row(Fault.ANSWER_ON_BAD_UUID, "bad-input", "ERR-1", FAIL),
            new Row(Fault.IMMEDIATE_CLOSE_ON_ONE_KIND, "bad-input", "ERR-2", FAIL, "ERR-3", WARN),
            new Row(Fault.NO_DEADLINE, "bad-input", "ERR-4", FAIL),
            new Row(Fault.HALF_CLOSE_KILLS_BOTH, "relay", "TCP-3", WARN),
            new Row(Fault.HALF_CLOSED_REPLY_CUT, "relay", "TCP-3", WARN),
            new Row(Fault.MUX_OWN_SOCKET, "mux", "MUX-13", FAIL),
            new Row(Fault.MUX_UNSOLICITED_DROPPED, "mux", "MUX-18", FAIL),
            new Row(Fault.MUX_OLDEST, "mux", "MUX-18", FAIL),
            new Row(Fault.MUX_FRAME_ERROR_IGNORED, "mux", "MUX-11", FAIL),
            new Row(Fault.MUX_REFUSED_CLOSES, "mux", "MUX-14", FAIL),
            new Row(Fault.MUX_ACK_TWICE, "mux", "MUX-3", FAIL),
            new Row(Fault.MUX_ACK_BEFORE_ATTACH, "mux", "MUX-3", FAIL));

    /** The lifetime faults: their cases run with the mutant's lifetime told to the suite ({@code --udp-lifetime}). */
    static final List<Row> LIFETIME_FAULTS = List.of(
            new Row(Fault.SHORT_LIFETIME, "lifetime", "LIF-2", FAIL),
            new Row(Fault.NO_REFRESH, "lifetime", "LIF-4", FAIL),
            new Row(Fault.EXPIRY_WHILE_OPEN, "lifetime", "LIF-1", FAIL),
            new Row(Fault.NO_IDLE_CLOSE, "lifetime", "LIF-5", WARN),
            new Row(Fault.ENTRIES_NEVER_EXPIRE, "lifetime", "LIF-6", FAIL),
            new Row(Fault.MUX_NOT_PINNING, "lifetime", "MUX-20", FAIL),
            new Row(Fault.MUX_NO_IDLE_CLOSE, "lifetime", "MUX-21", WARN));

    /**
     * How long a case waits for an expected byte or datagram: loopback answers in microseconds, and a broken mutant
     * makes many cases wait the whole time, so the default 3 s would make this test several minutes longer.
     */
    static final Duration IO_TIMEOUT = Duration.ofMillis(1500);

    /** The lifetime the mutants get in lifetime rows, and told to the suite. */
    static final Duration SHORT_LIFETIME = Duration.ofSeconds(3);
    /** Elsewhere: longer than any idle wait of the other groups' cases (the lifetime probe, 3 s by default). */
    static final Duration LONG_LIFETIME = Duration.ofSeconds(20);

    private final List<String> table = new ArrayList<>();
    private int caught;
    private int ran;
    private final List<String> missed = new ArrayList<>();

    @TestFactory
    Stream<DynamicTest> faultsAreReportedUnderTheirRules() {
        // -Dmutants.only=CLEAN,NO_ACK,... runs only those rows (while working on one fault or case).
        String only = System.getProperty("mutants.only", "");
        List<String> wanted = only.isBlank() ? null : List.of(only.split(","));
        List<DynamicTest> tests = new ArrayList<>();
        if (wanted == null || wanted.contains("CLEAN")) {
            tests.add(DynamicTest.dynamicTest("clean mutant: no FAIL in any group the table uses", this::control));
        }
        for (Row row : FAULTS) {
            if (wanted == null || wanted.contains(row.fault().name())) {
                tests.add(DynamicTest.dynamicTest(row.fault() + " → " + row.expected(), () -> check(row, false)));
            }
        }
        for (Row row : LIFETIME_FAULTS) {
            if (wanted == null || wanted.contains(row.fault().name())) {
                tests.add(DynamicTest.dynamicTest(row.fault() + " → " + row.expected(), () -> check(row, true)));
            }
        }
        tests.add(DynamicTest.dynamicTest("summary", this::summary));
        return tests.stream();
    }

    private void control() throws Exception {
        String groups = FAULTS.stream().map(Row::selection).distinct().collect(Collectors.joining(","));
        try (MutantServer server = MutantServer.start(null, LONG_LIFETIME, false)) {
            Run run = run(server, groups, null);
            List<String> failed = run.report.rules().stream().filter(r -> r.verdict() == Verdict.FAIL
                    || r.verdict() == Verdict.ERROR).map(r -> r.id() + " " + r.verdict() + ": " + r.note()).toList();
            List<String> warned = run.report.rules().stream().filter(r -> r.verdict() == Verdict.WARN)
                    .map(r -> r.id() + ": " + r.note()).toList();
            System.out.println("Mutation testing: clean mutant through " + groups + " in " + run.seconds() + " s: "
                    + run.report.summary() + ": " + (failed.isEmpty() ? "no FAIL" : "FAIL " + failed) + (warned.isEmpty() ? ""
                    : "; WARN " + warned));
            assertThat(run.report.unchecked()).as(run.console).isNull();
            assertThat(failed).as(run.console).isEmpty();
        }
        // The lifetime group at the short lifetime the lifetime rows use, endpoint-independent and per-destination
        // (where LIF-6 can be seen): no FAIL, no WARN.
        for (boolean perDestination : new boolean[] {false, true}) {
            try (MutantServer server = MutantServer.start(null, SHORT_LIFETIME, perDestination)) {
                Run run = run(server, "lifetime", SHORT_LIFETIME);
                List<String> bad = run.report.rules().stream().filter(r -> r.verdict() == Verdict.FAIL
                        || r.verdict() == Verdict.ERROR || r.verdict() == Verdict.WARN).map(r -> r.id() + " "
                        + r.verdict() + ": " + r.note()).toList();
                System.out.println("Mutation testing: clean " + (perDestination ? "per-destination" : "endpoint-"
                        + "independent") + " mutant through lifetime (" + SHORT_LIFETIME.toSeconds() + " s) in "
                        + run.seconds() + " s: " + run.report.summary() + (bad.isEmpty() ? "" : ": " + bad));
                assertThat(bad).as(run.console).isEmpty();
                if (perDestination) {
                    assertThat(run.report.rules()).filteredOn(r -> r.id().equals("LIF-6")).singleElement()
                            .satisfies(r -> assertThat(r.verdict()).isEqualTo(Verdict.PASS));
                }
            }
        }
    }

    private void check(Row row, boolean lifetime) throws Exception {
        Duration l = lifetime ? SHORT_LIFETIME : LONG_LIFETIME;
        ran++;
        try (MutantServer server = MutantServer.start(row.fault(), l, row.perDestination())) {
            Run run = run(server, row.selection(), lifetime ? l : null);
            Caught c = Caught.judge(run.report, row.expected());
            List<String> problems = c.problems();
            String outcome = c.outcome();
            table.add("| " + row.fault() + " | " + row.selection() + " | " + row.expected() + " | " + outcome
                    + " | " + run.seconds() + " s |");
            System.out.println("Mutation testing: " + row.fault() + " (" + row.selection() + ", " + run.seconds()
                    + " s): " + (problems.isEmpty() ? "caught: " : "MISSED: ") + outcome);
            if (problems.isEmpty()) {
                caught++;
            } else {
                missed.add(row.fault() + ": " + String.join("; ", problems) + (run.report.unchecked() == null ? ""
                        : " (pre-flight: " + run.report.unchecked() + ")"));
                assertThat(problems).as(row.fault() + " was not reported under its rules:\n" + run.console).isEmpty();
            }
        }
    }

    private void summary() {
        System.out.println("Mutation testing: fault | selection | expected | observed | time");
        table.forEach(System.out::println);
        int all = FAULTS.size() + LIFETIME_FAULTS.size();
        System.out.println("Mutation testing: " + caught + "/" + ran + " faults caught" + (ran < all ? " ("
                + (all - ran) + " of " + all + " not run: -Dmutants.only)" : ""));
        assertThat(missed).as("faults the suite did not report under their rules").isEmpty();
    }

    // ---- running the suite ----

    private record Run(Report report, String console, long millis) {
        String seconds() {
            return String.format(java.util.Locale.ROOT, "%.1f", millis / 1000.0);
        }
    }

    private static Run run(MutantServer server, String selection, Duration udpLifetime) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Path reports = Files.createTempDirectory("mutant-report");
        TargetOptions d = TargetOptions.defaults();
        TargetOptions o = new TargetOptions(server.link(), server.user2(), d.profile(), false, null,
                d.peerAddresses(), server.handshakeTimeout(), d.lifetimeProbe(), IO_TIMEOUT, d.policy(), reports)
                .withUdpLifetime(udpLifetime);
        long start = System.nanoTime();
        Report report = ConformanceRunner.run(o, Selection.parse(selection), console);
        return new Run(report, bytes.toString(StandardCharsets.UTF_8), (System.nanoTime() - start) / 1_000_000);
    }
}
