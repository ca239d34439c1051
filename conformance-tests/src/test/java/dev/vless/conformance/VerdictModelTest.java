// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.vless.spec.Profile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The verdict model without a target: attribution, root causes, redaction, exit codes and option checks. */
class VerdictModelTest {

    private static Report.CaseResult c(String name, List<String> rules, Verdict v, String message, int order,
            String blockedBy) {
        return new Report.CaseResult("id:" + name, name, rules, "MUST", v, message, 10, Map.of(), List.of(), order,
                order * 100L, blockedBy);
    }

    private static Report.RuleResult rule(String id, Verdict v) {
        return new Report.RuleResult(id, "MUST", "server", "8", "text", v, null, List.of());
    }

    @Test
    @DisplayName("a case that failed one of its rules leaves its other rules unjudged, and a died case fails them all")
    void contributionOfAFailedCase() {
        Report.CaseResult truncated = c("UDP-2 · UDP-3 · big frame", List.of("UDP-2", "UDP-3"), Verdict.FAIL,
                "UDP-3: the server sends the payload ... whole\n  allowed: x\n  actual: y", 1, null);
        assertThat(RootCauses.contribution(truncated, "UDP-3")).isEqualTo(Verdict.FAIL);
        assertThat(RootCauses.contribution(truncated, "UDP-2")).isEqualTo(Verdict.BLOCKED);
        Report.CaseResult died = c("HDR-3 · ERR-1 · unknown user", List.of("HDR-3", "ERR-1", "ERR-5"), Verdict.FAIL,
                RootCauses.DIED + " (connection refused)", 2, null);
        assertThat(RootCauses.contribution(died, "ERR-1")).isEqualTo(Verdict.FAIL);
        assertThat(RootCauses.contribution(died, "ERR-5")).isEqualTo(Verdict.FAIL);
    }

    @Test
    @DisplayName("root causes: the target's death first, then failed rules in run order with what they blocked")
    void rootCausesLeadWithTheDeathThenRunOrder() {
        List<Report.CaseResult> cases = new ArrayList<>();
        cases.add(c("UDP-3 · relay", List.of("UDP-3"), Verdict.FAIL, "UDP-3: nothing\n  allowed: a\n  actual: b", 1,
                null));
        cases.add(c("CRF-1 · needs UDP", List.of("CRF-1"), Verdict.BLOCKED, "blocked by UDP-3: UDP-3: nothing", 2,
                "UDP-3"));
        cases.add(c("ERR-1 · bad header", List.of("ERR-1", "ERR-5"), Verdict.FAIL, RootCauses.DIED + " (refused)", 3,
                null));
        cases.add(c("NAT-2 · later", List.of("NAT-2"), Verdict.TARGET_DOWN, "not run: down", 0, null));
        List<Report.RuleResult> rules = List.of(rule("UDP-3", Verdict.FAIL), rule("CRF-1", Verdict.BLOCKED),
                rule("ERR-1", Verdict.FAIL), rule("ERR-5", Verdict.FAIL), rule("NAT-2", Verdict.TARGET_DOWN));

        List<Report.RootCause> causes = RootCauses.of(cases, rules);

        assertThat(causes).hasSize(3);
        assertThat(causes.get(0).rule()).isNull();
        assertThat(causes.get(0).summary()).contains("stopped serving").contains("ERR-1 · bad header").contains("0.3 s");
        assertThat(causes.get(0).blockedCases()).containsExactly("NAT-2 · later");
        assertThat(causes.get(0).blockedRules()).containsExactly("NAT-2");
        assertThat(causes.get(1).rule()).isEqualTo("UDP-3");
        assertThat(causes.get(1).blockedCases()).containsExactly("CRF-1 · needs UDP");
        assertThat(causes.get(1).blockedRules()).containsExactly("CRF-1");
        assertThat(causes.get(1).reproduce()).isEqualTo("--select UDP-3");
        assertThat(causes.get(2).rule()).isEqualTo("ERR-1");
    }

    @Test
    @DisplayName("a rule that only failed as another case's setup step is a root cause of its own")
    void blockingRuleWithoutOwnFailure() {
        List<Report.CaseResult> cases = List.of(
                c("UDP-3 · relay", List.of("UDP-3"), Verdict.PASS, null, 1, null),
                c("UDP-2 · empty", List.of("UDP-2"), Verdict.BLOCKED, "blocked by UDP-3: UDP-3: nothing within 3000 ms",
                        2, "UDP-3"));
        List<Report.RootCause> causes = RootCauses.of(cases, List.of(rule("UDP-3", Verdict.PASS),
                rule("UDP-2", Verdict.BLOCKED)));
        assertThat(causes).singleElement().satisfies(rc -> {
            assertThat(rc.rule()).isEqualTo("UDP-3");
            assertThat(rc.summary()).contains("its own cases: PASS").contains("nothing within 3000 ms");
            assertThat(rc.blockedRules()).containsExactly("UDP-2");
        });
    }

    @Test
    @DisplayName("user IDs are redacted in text, in share links and in the hex of the wire log")
    void redaction() {
        UUID user = UUID.fromString("a684455c-b14f-11ea-bf0d-42010aaa0003");
        UUID user2 = UUID.fromString("0b6e2a3f-5c1d-4e8f-9a7b-123456789abc");
        Redaction r = Redaction.of(user, user2, null);
        assertThat(r.apply("vless://A684455C-B14F-11EA-BF0D-42010AAA0003@host:443?security=tls"))
                .isEqualTo("vless://<user-1>@host:443?security=tls");
        assertThat(r.apply("crumfurs#1 → 18 B 01a684455cb14f11eabf0d42010aaa000304"))
                .isEqualTo("crumfurs#1 → 18 B 01<user-1>04");
        assertThat(r.apply("second " + user2)).isEqualTo("second <user-2>");
        // A header split over writes, and an ID a bad-input case altered in its last byte.
        assertThat(r.apply("conn#1 → 10 B 00a684455cb14f11eabf")).isEqualTo("conn#1 → 10 B 00<user-1>");
        assertThat(r.apply("conn#3 → 41 B 00a684455cb14f11eabf0d42010aaa008300018075"))
                .isEqualTo("conn#3 → 41 B 00<user-1>8300018075");
        assertThat(r.apply("port 0a68 and 4455 stay")).isEqualTo("port 0a68 and 4455 stay");
        assertThat(Redaction.NONE.apply(user.toString())).isEqualTo(user.toString());
        Report redacted = r.apply(SampleReports.failed());
        assertThat(redacted.toString()).doesNotContain(user.toString());
    }

    @Test
    @DisplayName("exit status: 3 when not checked or only unjudged, 1 on a FAIL, 0 on a pass")
    void exitStatus() {
        Report failed = SampleReports.failed();
        assertThat(ConformanceMain.exitStatus(failed)).isEqualTo(1);
        assertThat(ConformanceMain.exitStatus(SampleReports.unchecked())).isEqualTo(3);
        Report down = new Report(1, "v", "t", "v1", "must", "now", 1, false, Map.of(), Map.of(), List.of(), List.of(),
                null, List.of(rule("HDR-3", Verdict.PASS), rule("NAT-2", Verdict.TARGET_DOWN)), List.of());
        assertThat(ConformanceMain.exitStatus(down)).isEqualTo(3);
        Report ok = new Report(1, "v", "t", "v1", "must", "now", 1, true, Map.of(), Map.of(), List.of(), List.of(),
                null, List.of(rule("HDR-3", Verdict.PASS), rule("HDR-4", Verdict.WARN)), List.of());
        assertThat(ConformanceMain.exitStatus(ok)).isZero();
    }

    @Test
    @DisplayName("--help lists the exit codes")
    void helpListsExitCodes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertThat(ConformanceMain.execute("--help")).isZero();
        } finally {
            System.setOut(old);
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("Exit status:").contains("3   the target could not"
                + " be checked").contains("--restart-cmd").contains("--fallback").contains("--show-secrets");
    }

    @Test
    @DisplayName("options are checked before the first case: report directory, --ca against pcs and security=none")
    void optionsCheckedFirst(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");
        TargetOptions base = TargetOptions.defaults();
        TargetOptions badDir = new TargetOptions(null, null, Profile.V1, false, null, base.peerAddresses(),
                base.handshakeTimeout(), base.lifetimeProbe(), base.ioTimeout(), base.policy(), file.resolve("sub"));
        assertThatIllegalArgumentException().isThrownBy(() -> ConformanceRunner.checkOptions(badDir))
                .withMessageContaining("--report-dir").withMessageContaining("cannot write there");
        Path ca = Files.writeString(tmp.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\n");
        String pinned = "vless://a684455c-b14f-11ea-bf0d-42010aaa0003@127.0.0.1:443?security=tls&sni=x&pcs="
                + "A".repeat(64);
        TargetOptions caAndPin = new TargetOptions(pinned, null, Profile.V1, false, ca, base.peerAddresses(),
                base.handshakeTimeout(), base.lifetimeProbe(), base.ioTimeout(), base.policy(), tmp);
        assertThatIllegalArgumentException().isThrownBy(() -> ConformanceRunner.checkOptions(caAndPin))
                .withMessageContaining("--ca").withMessageContaining("pcs=");
        String plain = "vless://a684455c-b14f-11ea-bf0d-42010aaa0003@127.0.0.1:443?security=none";
        TargetOptions insecurePlain = new TargetOptions(plain, null, Profile.V1, true, null, base.peerAddresses(),
                base.handshakeTimeout(), base.lifetimeProbe(), base.ioTimeout(), base.policy(), tmp);
        assertThatIllegalArgumentException().isThrownBy(() -> ConformanceRunner.checkOptions(insecurePlain))
                .withMessageContaining("security=none");
        assertThat(ConformanceMain.execute("--report-dir", file.resolve("sub").toString(), "--target", plain))
                .isEqualTo(2);
    }
}
