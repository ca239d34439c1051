// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.faulty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.ProtocolError;
import dev.vless.conformance.ConformanceRunner;
import dev.vless.conformance.Policy;
import dev.vless.conformance.Report;
import dev.vless.conformance.Selection;
import dev.vless.conformance.TargetOptions;
import dev.vless.conformance.Verdict;
import dev.vless.server.DestinationFilter;
import dev.vless.server.VlessServer;
import dev.vless.spec.Profile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The timing half of bad input (ERR-2, ERR-3, ERR-4): a server that refuses correctly but at the wrong moment must
 * fail, and a user who declares the wrong deadline must not turn a correct server into FAILs.
 */
class BadInputTimingTest {

    private static final Duration DEADLINE = Duration.ofSeconds(1);

    @TempDir
    Path reports;

    private final UUID user = UUID.randomUUID();
    private final UUID user2 = UUID.randomUUID();
    private final ByteArrayOutputStream console = new ByteArrayOutputStream();
    private VlessServer server;

    @BeforeEach
    void startServer() throws Exception {
        server = VlessServer.builder().listen("127.0.0.1", 0).plaintext().user(user).user(user2)
                .handshakeTimeout(DEADLINE).destinations(DestinationFilter.allowingLoopback()).ioThreads(2)
                .build().start().get();
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    private Report run(InetSocketAddress target, Duration declared, String select) throws Exception {
        TargetOptions d = TargetOptions.defaults();
        String link = "vless://" + user + "@127.0.0.1:" + target.getPort() + "?security=none&type=tcp#timing";
        TargetOptions o = new TargetOptions(link, user2, Profile.V1, false, null, d.peerAddresses(), declared,
                d.lifetimeProbe(), d.ioTimeout(), Policy.MUST, reports, null, false, false);
        return ConformanceRunner.run(o, Selection.parse(select), new PrintStream(console, true,
                StandardCharsets.UTF_8));
    }

    private static Map<String, Verdict> rules(Report r) {
        return r.rules().stream().collect(Collectors.toMap(Report.RuleResult::id, Report.RuleResult::verdict));
    }

    private static Report.CaseResult caseStarting(Report r, String prefix) {
        return r.cases().stream().filter(c -> c.displayName().startsWith(prefix)).findFirst().orElseThrow();
    }

    private String describe(Report r) {
        return console.toString(StandardCharsets.UTF_8) + "\nevents: " + r.events();
    }

    @Test
    @DisplayName("closing at once on a bad domain byte only: ADR-3's case FAILs ERR-2 with the time, ERR-3 warns,"
            + " every other kind passes")
    void closesAtOnceOnOneKind() throws Exception {
        try (TimingFaultProxy p = TimingFaultProxy.closingAtOnce(server.localAddress(),
                ProtocolError.INVALID_DOMAIN)) {
            Report r = run(p.address(), DEADLINE, "bad-input");
            Report.CaseResult adr3 = caseStarting(r, "ADR-3 ");
            assertThat(adr3.verdict()).as(describe(r)).isEqualTo(Verdict.FAIL);
            assertThat(adr3.message()).startsWith("ERR-2").contains("input: domain 'local?ost'")
                    .contains("ms after connecting): closed before the deadline").contains("no earlier than");
            assertThat(rules(r)).as(describe(r)).containsEntry("ERR-2", Verdict.FAIL)
                    .containsEntry("ERR-3", Verdict.WARN);
            // The input was refused with no byte, as ADR-3 asks: its case fails ERR-2 (the timing), not ADR-3.
            assertThat(rules(r)).containsEntry("ADR-3", Verdict.PASS);
            Report.CaseResult err3 = caseStarting(r, "ERR-3 ");
            assertThat(err3.message()).contains("domain with byte 0x20: closed without a byte")
                    .contains("unknown user ID: closed without a byte").contains("10 header bytes, then nothing");
            for (String kept : new String[] {"HDR-3", "VER-2", "HDR-5", "HDR-6", "ADR-1", "ADR-2", "HDR-8", "HDR-12",
                    "ERR-4"}) {
                assertThat(rules(r)).as(describe(r)).containsEntry(kept, Verdict.PASS);
            }
        }
    }

    @Test
    @DisplayName("never closing a bad or stalled header: ERR-4 and ERR-2 FAIL, and the run says the deadline was not"
            + " calibrated")
    void neverCloses() throws Exception {
        try (TimingFaultProxy p = TimingFaultProxy.neverClosing(server.localAddress())) {
            Report r = run(p.address(), DEADLINE, "ERR-4");
            Report.CaseResult stalled = caseStarting(r, "ERR-4 · ERR-1 · ERR-2 · a stalled header");
            assertThat(stalled.verdict()).as(describe(r)).isEqualTo(Verdict.FAIL);
            assertThat(stalled.message()).startsWith("ERR-4").contains("still open").contains("ms after connecting");
            assertThat(rules(r)).as(describe(r)).containsEntry("ERR-4", Verdict.FAIL)
                    .containsEntry("ERR-2", Verdict.FAIL);
            assertThat(r.events()).anyMatch(e -> e.contains("handshake deadline not calibrated"));
        }
    }

    @Test
    @DisplayName("a wrong --handshake-timeout: the measured deadline is used, a run event says so, nothing FAILs")
    void wrongDeclaredDeadlineIsNoFail() throws Exception {
        Report r = run(server.localAddress(), Duration.ofSeconds(3), "ADR-3,HDR-12,ERR-3");
        assertThat(r.cases()).isNotEmpty();
        assertThat(r.cases()).as(describe(r)).noneMatch(c -> c.verdict() == Verdict.FAIL);
        assertThat(r.events()).anyMatch(e -> e.contains("declared handshake deadline (--handshake-timeout) is 3000"
                + " ms: bad-input cases use the measured"));
    }
}
