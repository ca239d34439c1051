// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.faulty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.conformance.ConformanceMain;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The suite against targets that are broken or set up wrong on purpose ({@link FaultyTarget}): each test asserts the
 * verdicts, the exit status and the cause the suite names. These are the targets the suite exists for; a verdict that
 * is wrong here is a false public claim about someone's server.
 */
class SuiteOnFaultyTargetsTest {

    @TempDir
    Path reports;

    private final ByteArrayOutputStream consoleBytes = new ByteArrayOutputStream();

    private Report run(FaultyTarget t, String select, String restartCmd, boolean fallback) throws Exception {
        return run(t.link(), t.user2(), select, restartCmd, fallback);
    }

    private Report run(String link, UUID user2, String select, String restartCmd, boolean fallback)
            throws Exception {
        TargetOptions d = TargetOptions.defaults();
        TargetOptions o = new TargetOptions(link, user2, Profile.V1, link.contains("security=tls"), null,
                d.peerAddresses(), FaultyTarget.HANDSHAKE_TIMEOUT, d.lifetimeProbe(), d.ioTimeout(), Policy.MUST,
                reports, restartCmd, fallback, false);
        PrintStream console = new PrintStream(consoleBytes, true, StandardCharsets.UTF_8);
        return ConformanceRunner.run(o, Selection.parse(select), console);
    }

    private String console() {
        return consoleBytes.toString(StandardCharsets.UTF_8);
    }

    private static Map<String, Verdict> rules(Report r) {
        return r.rules().stream().collect(Collectors.toMap(Report.RuleResult::id, Report.RuleResult::verdict));
    }

    private static List<Report.CaseResult> cases(Report r, Verdict v) {
        return r.cases().stream().filter(c -> c.verdict() == v).toList();
    }

    @Test
    @DisplayName("loopback peers refused: exit 3 within seconds, naming --allow-loopback")
    void refusesLoopbackPeers() throws Exception {
        try (FaultyTarget t = FaultyTarget.refusesLoopbackPeers()) {
            long start = System.nanoTime();
            Report r = run(t, null, null, false);
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(ConformanceMain.exitStatus(r)).as(describe(r)).isEqualTo(3);
            assertThat(r.unchecked()).contains("refuses the peer address").contains("--allow-loopback");
            assertThat(r.cases()).isEmpty();
            assertThat(rules(r)).doesNotContainValue(Verdict.FAIL);
            assertThat(ms).as("run time").isLessThan(20_000);
            assertThat(console()).contains("Not checked: ");
        }
    }

    @Test
    @DisplayName("a user ID the server does not serve: exit 3 within seconds, naming the user ID")
    void wrongUserId() throws Exception {
        try (FaultyTarget t = FaultyTarget.wrongUserId()) {
            long start = System.nanoTime();
            Report r = run(t, null, null, false);
            assertThat(ConformanceMain.exitStatus(r)).as(describe(r)).isEqualTo(3);
            assertThat(r.unchecked()).contains("the user ID in the link is probably not one of the target's users");
            assertThat(rules(r)).doesNotContainValue(Verdict.FAIL);
            assertThat((System.nanoTime() - start) / 1_000_000).as("run time").isLessThan(20_000);
            // The report is public: the user ID never appears in it.
            assertThat(r.target()).doesNotContain(t.user().toString()).contains("<user-1>");
        }
    }

    @Test
    @DisplayName("TLS mismatch both ways: exit 3 within seconds, naming security=none or security=tls")
    void tlsMismatch() throws Exception {
        try (FaultyTarget t = FaultyTarget.resetsUdpConnections()) {
            String tlsLink = t.link().replace("security=none", "security=tls&sni=localhost&allowInsecure=1");
            Report r = run(tlsLink, null, null, null, false);
            assertThat(ConformanceMain.exitStatus(r)).as(describe(r)).isEqualTo(3);
            assertThat(r.unchecked()).contains("TLS handshake").contains("security=none");
        }
        UUID user = UUID.randomUUID();
        VlessServer tls = VlessServer.builder().listen("127.0.0.1", 0).user(user)
                .tls(dev.vless.server.TlsConfig.selfSigned("localhost"))
                .destinations(DestinationFilter.allowingLoopback()).build().start().get(10, TimeUnit.SECONDS);
        try {
            Report r = run("vless://" + user + "@127.0.0.1:" + tls.localAddress().getPort() + "?security=none", null,
                    null, null, false);
            assertThat(ConformanceMain.exitStatus(r)).as(describe(r)).isEqualTo(3);
            assertThat(r.unchecked()).contains("speaks TLS").contains("security=tls");
        } finally {
            tls.close();
        }
    }

    @Test
    @DisplayName("dies on its first UDP reply, no restart command: exit 3 from the pre-flight, saying it died")
    void diesOnFirstUdpReplyWithoutRestart() throws Exception {
        try (FaultyTarget t = FaultyTarget.diesOnFirstUdpReply()) {
            Report r = run(t, null, null, false);
            assertThat(ConformanceMain.exitStatus(r)).as(describe(r)).isEqualTo(3);
            assertThat(r.unchecked()).contains("stopped serving during the pre-flight").contains("--restart-cmd");
            assertThat(t.crashes()).isEqualTo(1);
        }
    }

    @Test
    @DisplayName("dies on its first UDP reply, with --restart-cmd: every selected rule gets a verdict, the crash case first")
    void diesOnFirstUdpReplyWithRestart() throws Exception {
        try (FaultyTarget t = FaultyTarget.diesOnFirstUdpReply()) {
            Report r = run(t, "TCP-1,HDR-3,UDP-1,UDP-3,CRF-1,NAT-2", t.restartCommand(), false);
            Map<String, Verdict> v = rules(r);
            assertThat(ConformanceMain.exitStatus(r)).as(describe(r)).isEqualTo(1);
            // Rules that need no UDP reply pass; those that do fail, each in a case of its own, never TARGET_DOWN.
            assertThat(v).containsEntry("TCP-1", Verdict.PASS).containsEntry("HDR-3", Verdict.PASS);
            assertThat(v.get("UDP-1")).as("UDP-1: replies come back as frames").isIn(Verdict.FAIL, Verdict.BLOCKED);
            for (String rule : List.of("TCP-1", "HDR-3", "UDP-1", "UDP-3", "CRF-1", "NAT-2")) {
                assertThat(v.get(rule)).as(rule).isNotIn(Verdict.TARGET_DOWN, Verdict.ERROR, Verdict.UNCOVERED);
            }
            assertThat(cases(r, Verdict.TARGET_DOWN)).isEmpty();
            assertThat(cases(r, Verdict.ERROR)).isEmpty();
            Report.CaseResult firstCrash = r.cases().stream().filter(c -> c.message() != null
                    && c.message().startsWith("the server stopped serving during this case")).findFirst().orElseThrow();
            assertThat(r.rootCauses().get(0).rule()).as("the crash leads the root causes").isNull();
            assertThat(r.rootCauses().get(0).summary()).contains(firstCrash.displayName());
            assertThat(r.events()).anyMatch(e -> e.contains("restarted the target with --restart-cmd"));
            assertThat(t.restarts()).isEqualTo(t.crashes()).isGreaterThan(1);
        }
    }

    @Test
    @DisplayName("dies on every first UDP reply, whole run with --restart-cmd: every rule gets a verdict of its own")
    void diesOnFirstUdpReplyWholeRunWithRestart() throws Exception {
        try (FaultyTarget t = FaultyTarget.diesOnFirstUdpReply()) {
            Report r = run(t, null, t.restartCommand(), false);
            // What a healthy run leaves without a verdict is structural (no case, outside the profile); nothing
            // else may be: no rule down, in error or blocked because of the crashes.
            assertThat(rules(r).values()).as(describe(r)).doesNotContain(Verdict.TARGET_DOWN, Verdict.ERROR,
                    Verdict.BLOCKED);
            assertThat(r.rootCauses().get(0).rule()).isNull();
            assertThat(r.rootCauses().get(0).summary()).contains("stopped serving during this case");
            assertThat(t.crashes()).isGreaterThan(10).isEqualTo(t.restarts());
            assertThat(ConformanceMain.exitStatus(r)).isEqualTo(1);
        }
    }

    @Test
    @DisplayName("dies on a bad header: that case FAILs its rules and ERR-5, later cases are TARGET_DOWN, exit 1")
    void diesOnBadHeader() throws Exception {
        try (FaultyTarget t = FaultyTarget.diesOnBadHeader()) {
            Report r = run(t, "bad-input", null, false);
            assertThat(ConformanceMain.exitStatus(r)).as(describe(r)).isEqualTo(1);
            List<Report.CaseResult> died = r.cases().stream().filter(c -> c.message() != null
                    && c.message().startsWith("the server stopped serving during this case")).toList();
            assertThat(died).hasSize(1);
            assertThat(died.get(0).verdict()).isEqualTo(Verdict.FAIL);
            assertThat(died.get(0).rules()).contains("ERR-5");
            assertThat(rules(r)).containsEntry("ERR-5", Verdict.FAIL);
            List<Report.CaseResult> after = r.cases().stream().filter(c -> c.order() == 0
                    && c.verdict() != Verdict.NOT_APPLICABLE).toList();
            assertThat(after).isNotEmpty().allMatch(c -> c.verdict() == Verdict.TARGET_DOWN);
            assertThat(cases(r, Verdict.ERROR)).isEmpty();
            assertThat(r.rootCauses().get(0).rule()).isNull();
            assertThat(r.rootCauses().get(0).blockedCases()).hasSize(after.size());
        }
    }

    @Test
    @DisplayName("resets UDP connections after one reply: the failures say 'reset', not 'nothing within'")
    void resetsUdpConnections() throws Exception {
        try (FaultyTarget t = FaultyTarget.resetsUdpConnections()) {
            Report r = run(t, "UDP-1,UDP-3,DLV-1", null, false);
            assertThat(ConformanceMain.exitStatus(r)).as(describe(r)).isEqualTo(1);
            List<Report.CaseResult> failed = cases(r, Verdict.FAIL);
            assertThat(failed).isNotEmpty();
            assertThat(failed).anyMatch(c -> c.message().contains("reset") || c.message().contains("closed by the"
                    + " target"));
            assertThat(failed).noneMatch(c -> c.message().contains("nothing within"));
            assertThat(t.udpResets()).isPositive();
        }
    }

    @Test
    @DisplayName("a fallback server: with --fallback, bad input answered by the fallback passes ERR-1; without, it FAILs")
    void fallback() throws Exception {
        try (FaultyTarget t = FaultyTarget.withFallback()) {
            Report with = run(t, "ERR-1,ERR-2,ERR-5", null, true);
            assertThat(rules(with)).containsEntry("ERR-1", Verdict.PASS).containsEntry("ERR-5", Verdict.PASS)
                    .doesNotContainValue(Verdict.FAIL);
            assertThat(ConformanceMain.exitStatus(with)).isZero();
            assertThat(t.fallbackAnswers()).isPositive();

            Report without = run(t, "ERR-1", null, false);
            assertThat(rules(without)).containsEntry("ERR-1", Verdict.FAIL);
        }
    }

    @Test
    @DisplayName("another client with the same user ID: the pre-flight stops with exit 3 and says so")
    void crumfursThiefBeforeTheRun() throws Exception {
        try (FaultyTarget t = FaultyTarget.crumfursThief()) {
            Report r = run(t, null, null, false);
            assertThat(ConformanceMain.exitStatus(r)).as(describe(r)).isEqualTo(3);
            assertThat(r.unchecked()).contains("another client using the same user ID").contains("no running client"
                    + " uses");
        }
    }

    @Test
    @DisplayName("another client starts mid-run: cases it disturbs are ERRORs naming the interference, never FAILs")
    void crumfursThiefDuringTheRun() throws Exception {
        UUID user = UUID.randomUUID();
        VlessServer s = VlessServer.builder().listen("127.0.0.1", 0).plaintext().user(user)
                .handshakeTimeout(FaultyTarget.HANDSHAKE_TIMEOUT).destinations(DestinationFilter.allowingLoopback())
                .build().start().get(10, TimeUnit.SECONDS);
        ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();
        CrumfursThief[] thief = new CrumfursThief[1];
        try {
            // After the pre-flight (about 2 s), while the CRUMFURS and delivery cases run.
            later.schedule(() -> thief[0] = new CrumfursThief(s.localAddress(), user, 250), 3, TimeUnit.SECONDS);
            Report r = run("vless://" + user + "@127.0.0.1:" + s.localAddress().getPort() + "?security=none", null,
                    "crumfurs,DLV-2,UMF-1,UMF-4", null, false);
            assertThat(r.unchecked()).isNull();
            assertThat(cases(r, Verdict.FAIL)).as("FAILs blamed on the target").isEmpty();
            assertThat(cases(r, Verdict.ERROR)).isNotEmpty()
                    .allMatch(c -> c.message().startsWith("interference: another client using the same user ID"));
            assertThat(r.events()).anyMatch(e -> e.contains("interference"));
            assertThat(console()).contains("interference");
        } finally {
            later.shutdownNow();
            later.awaitTermination(5, TimeUnit.SECONDS);
            if (thief[0] != null) {
                thief[0].close();
            }
            s.close();
        }
    }

    /** Every case in one line each, for an assertion's message: what the suite saw when a check here fails. */
    static String describe(Report r) {
        Function<Report.CaseResult, String> line = c -> c.verdict() + " " + c.displayName() + ": " + c.message();
        return "unchecked: " + r.unchecked() + "\n" + r.cases().stream().map(line).collect(Collectors.joining("\n"));
    }
}
