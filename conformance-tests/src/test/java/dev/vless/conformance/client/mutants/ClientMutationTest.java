// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.mutants;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.conformance.Report;
import dev.vless.conformance.Selection;
import dev.vless.conformance.Verdict;
import dev.vless.conformance.client.ClientConformance;
import dev.vless.conformance.client.ClientOptions;
import dev.vless.conformance.mutants.Caught;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
 * Mutation testing of the client cases: each {@link ClientFault} of {@link MutantClient} is one realistic client bug,
 * and the client suite, run on the fault's group (a UDP-MUX fault: its rule's cases), must report it under the rule it
 * breaks (FAIL for a MUST, WARN for a SHOULD) with a reason that names the rule. A control run first takes the clean
 * mutant through every group the table uses: no FAIL, no WARN; a second one takes it in its UDP-MUX mode through
 * {@link #MUX_CONTROL_GROUPS}, where the per-remote cases refuse command 5 so that it falls back. The last test prints
 * "Client mutation testing: N/M faults caught". {@code -Dmutants.only=CLEAN} runs both controls, {@code CLEAN_MUX} only
 * the second.
 */
class ClientMutationTest {

    record Row(ClientFault fault, String selection, Map<String, Verdict> expected) {
        Row(ClientFault fault, String selection, Object... kv) {
            this(fault, selection, map(kv));
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
            new Row(ClientFault.CRUMFURS_TO_TARGET, "crumfurs", "CRF-5", FAIL),
            new Row(ClientFault.NO_ACK_WAIT, "crumfurs", "CRF-5", FAIL),
            new Row(ClientFault.WRONG_ACK_ACCEPTED, "crumfurs", "CRF-6", FAIL),
            new Row(ClientFault.NO_BACKOFF, "crumfurs", "CRF-7", WARN),
            new Row(ClientFault.KNOWN_SOURCE_UMFURS_DROPPED, "delivery", "DLV-4", FAIL),
            new Row(ClientFault.WRONG_SOURCE_LABEL, "delivery", "CLI-2", FAIL),
            new Row(ClientFault.ACCEPTS_ANY_CERTIFICATE, "tls", "TLS-3", FAIL),
            new Row(ClientFault.CUTS_SOCKS_PAYLOAD, "udp", "CLI-4", FAIL),
            new Row(ClientFault.DROPS_EMPTY_DATAGRAMS, "udp", "UDP-2", FAIL),
            new Row(ClientFault.CONNECTION_PER_DATAGRAM, "udp", "CLI-1", WARN),
            new Row(ClientFault.SIGNED_FRAME_LENGTH, "udp", "UDP-2", FAIL),
            new Row(ClientFault.CRASHES_ON_EMPTY_UMFURS, "crumfurs", "UMF-5", FAIL),
            // UDP-MUX faults, in the client's UDP-MUX mode. Each runs only its rule's cases: the mux group takes at
            // least 12 s whatever the client (a 5 s answer deadline, 3 s of back-off, 2.5 s for MUX-6, 1 s of hold),
            // 6 x 12 s more than this test's time allows; the MUX control runs the whole group.
            new Row(ClientFault.MUX_FRAME_BEFORE_ACK, "MUX-4", "MUX-4", FAIL),
            new Row(ClientFault.MUX_NO_FALLBACK, "MUX-5", "MUX-5", FAIL),
            new Row(ClientFault.MUX_ASKS_AGAIN, "MUX-6", "MUX-6", WARN),
            new Row(ClientFault.MUX_SERVER_LABEL, "MUX-23", "MUX-23", FAIL),
            new Row(ClientFault.MUX_NO_BACKOFF, "MUX-24", "MUX-24", WARN),
            new Row(ClientFault.MUX_DOMAIN_ACCEPTED, "MUX-11", "MUX-11", FAIL));

    /** The groups the clean client in its UDP-MUX mode goes through: MUX, and per remote after a refused command 5. */
    static final String MUX_CONTROL_GROUPS = "mux,udp,delivery";

    /** Loopback answers in microseconds; a broken mutant makes cases wait the whole time. */
    static final Duration IO_TIMEOUT = Duration.ofMillis(1500);
    /** The mutants' idle time, told to the suite so that CLI-3 runs in the control. */
    static final Duration IDLE = Duration.ofSeconds(2);

    private final List<String> table = new ArrayList<>();
    private int caught;
    private int ran;
    private final List<String> missed = new ArrayList<>();

    @TestFactory
    Stream<DynamicTest> clientFaultsAreReportedUnderTheirRules() {
        String only = System.getProperty("mutants.only", "");
        List<String> wanted = only.isBlank() ? null : List.of(only.split(","));
        List<DynamicTest> tests = new ArrayList<>();
        if (wanted == null || wanted.contains("CLEAN")) {
            tests.add(DynamicTest.dynamicTest("clean client: no FAIL or WARN in any group the table uses",
                    this::control));
        }
        if (wanted == null || wanted.contains("CLEAN") || wanted.contains("CLEAN_MUX")) {
            tests.add(DynamicTest.dynamicTest("clean client in UDP-MUX mode: no FAIL or WARN in " + MUX_CONTROL_GROUPS,
                    this::muxControl));
        }
        for (Row row : FAULTS) {
            if (wanted == null || wanted.contains(row.fault().name())) {
                tests.add(DynamicTest.dynamicTest(row.fault() + " → " + row.expected(), () -> check(row)));
            }
        }
        tests.add(DynamicTest.dynamicTest("summary", this::summary));
        return tests.stream();
    }

    private void control() throws Exception {
        // The mux group is the second control's: per remote, its cases do not apply.
        String groups = FAULTS.stream().filter(r -> !r.fault().mux()).map(Row::selection).distinct()
                .collect(Collectors.joining(",")) + ",header,relay";
        clean(groups, false);
    }

    private void muxControl() throws Exception {
        clean(MUX_CONTROL_GROUPS, true);
    }

    private void clean(String groups, boolean mux) throws Exception {
        Run run = run(ClientFault.CLEAN, groups, mux);
        List<String> bad = run.report.rules().stream().filter(r -> r.verdict() == Verdict.FAIL
                || r.verdict() == Verdict.ERROR || r.verdict() == Verdict.WARN || r.verdict() == Verdict.BLOCKED)
                .map(r -> r.id() + " " + r.verdict() + ": " + r.note()).toList();
        System.out.println("Client mutation testing: clean client" + (mux ? " in UDP-MUX mode" : "") + " through "
                + groups + " in " + run.seconds() + " s: "
                + run.report.summary() + (bad.isEmpty() ? ": no FAIL, no WARN" : ": " + bad));
        assertThat(run.report.unchecked()).as(run.console).isNull();
        assertThat(bad).as(run.console).isEmpty();
    }

    private void check(Row row) throws Exception {
        ran++;
        Run run = run(row.fault(), row.selection(), row.fault().mux());
        Caught c = Caught.judge(run.report, row.expected());
        List<String> problems = c.problems();
        String outcome = c.outcome();
        table.add("| " + row.fault() + " | " + row.selection() + " | " + row.expected() + " | " + outcome + " | "
                + run.seconds() + " s |");
        System.out.println("Client mutation testing: " + row.fault() + " (" + row.selection() + ", " + run.seconds()
                + " s): " + (problems.isEmpty() ? "caught: " : "MISSED: ") + outcome);
        if (problems.isEmpty()) {
            caught++;
        } else {
            missed.add(row.fault() + ": " + String.join("; ", problems));
            assertThat(problems).as(row.fault() + " was not reported under its rules:\n" + run.console).isEmpty();
        }
    }

    private void summary() {
        System.out.println("Client mutation testing: fault | selection | expected | observed | time");
        table.forEach(System.out::println);
        System.out.println("Client mutation testing: " + caught + "/" + ran + " faults caught"
                + (ran < FAULTS.size() ? " (" + (FAULTS.size() - ran) + " of " + FAULTS.size()
                + " not run: -Dmutants.only)" : ""));
        assertThat(missed).as("client faults the suite did not report under their rules").isEmpty();
    }

    private record Run(Report report, String console, long millis) {
        String seconds() {
            return String.format(java.util.Locale.ROOT, "%.1f", millis / 1000.0);
        }
    }

    private static Run run(ClientFault fault, String selection, boolean mux) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ClientOptions o = ClientOptions.defaults(MutantClient.launcher(fault, IDLE, mux)).withIoTimeout(IO_TIMEOUT)
                .withUdpIdle(IDLE).withReportDir(Files.createTempDirectory("client-mutant-report"));
        long start = System.nanoTime();
        Report report = ClientConformance.run(o, Selection.parse(selection), console, false);
        return new Run(report, bytes.toString(StandardCharsets.UTF_8), (System.nanoTime() - start) / 1_000_000);
    }
}
