// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.vless.conformance.Report;
import dev.vless.conformance.Verdict;
import dev.vless.conformance.VlessConformance;
import dev.vless.server.DestinationFilter;
import dev.vless.server.VlessServer;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The suite as another project uses it: only public API, from a package of its own, against a server this test
 * starts — here the reference server, plaintext on loopback.
 */
class VlessConformanceApiTest {

    private static final UUID USER = UUID.randomUUID();
    private static final UUID USER2 = UUID.randomUUID();
    private static VlessServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = VlessServer.builder().listen("127.0.0.1", 0).plaintext().user(USER).user(USER2)
                .handshakeTimeout(java.time.Duration.ofSeconds(1)).destinations(DestinationFilter.allowingLoopback())
                .build().start().get(10, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static String link(UUID user) {
        return "vless://" + user + "@127.0.0.1:" + server.localAddress().getPort() + "?security=none";
    }

    private static Map<String, Verdict> verdicts(Report r) {
        return r.rules().stream().collect(Collectors.toMap(Report.RuleResult::id, Report.RuleResult::verdict));
    }

    @Test
    @DisplayName("the builder runs the selected cases and returns the report, writing files only when asked")
    void builderRunsTheSuite(@TempDir Path dir) {
        Report[] seen = new Report[1];
        Report r = VlessConformance.builder()
                .target(link(USER))
                .user2(USER2)
                .handshakeTimeout(java.time.Duration.ofSeconds(1))
                .select("HDR-3,TCP-1,UDP-1,UDP-3")
                .reportDir(dir)
                .onReport(x -> seen[0] = x)
                .build()
                .run();
        assertThat(r.unchecked()).isNull();
        assertThat(verdicts(r)).containsEntry("HDR-3", Verdict.PASS).containsEntry("TCP-1", Verdict.PASS)
                .containsEntry("UDP-1", Verdict.PASS).containsEntry("UDP-3", Verdict.PASS);
        assertThat(r.passed()).isTrue();
        assertThat(seen[0]).isSameAs(r);
        assertThat(dir.resolve("report.html")).exists();
        assertThat(r.target()).contains("<user-1>").doesNotContain(USER.toString());
    }

    @Test
    @DisplayName("without a target the builder checks the embedded reference server")
    void builderWithoutTargetChecksTheEmbeddedServer() {
        Report r = VlessConformance.builder().select("HDR-3,CRF-1,UDP-1").build().run();
        assertThat(r.target()).startsWith("embedded reference server");
        assertThat(verdicts(r)).containsEntry("HDR-3", Verdict.PASS).containsEntry("CRF-1", Verdict.PASS)
                .containsEntry("UDP-1", Verdict.PASS);
    }

    @Test
    @DisplayName("two runs at once share nothing: one checks the server, the other finds its user ID wrong")
    void runsAreIndependent() throws Exception {
        CompletableFuture<Report> good = CompletableFuture.supplyAsync(() -> VlessConformance.builder()
                .target(link(USER)).select("TCP-1,UDP-1").build().run());
        CompletableFuture<Report> wrong = CompletableFuture.supplyAsync(() -> VlessConformance.builder()
                .target(link(UUID.randomUUID())).select("TCP-1,UDP-1").build().run());
        Report g = good.get(120, TimeUnit.SECONDS);
        Report w = wrong.get(120, TimeUnit.SECONDS);
        assertThat(g.unchecked()).isNull();
        assertThat(verdicts(g)).containsEntry("TCP-1", Verdict.PASS).containsEntry("UDP-1", Verdict.PASS);
        assertThat(w.unchecked()).contains("user ID");
        assertThat(w.cases()).isEmpty();
    }

    @Test
    @DisplayName("bad settings are refused when set, not at the end of a run")
    void badSettingsFailFast() {
        assertThatIllegalArgumentException().isThrownBy(() -> VlessConformance.builder().target("http://x"));
        assertThatIllegalArgumentException().isThrownBy(() -> VlessConformance.builder().select("NOPE-9"));
        assertThatIllegalArgumentException().isThrownBy(() -> VlessConformance.builder()
                .ioTimeout(java.time.Duration.ZERO));
        assertThatIllegalArgumentException().isThrownBy(() -> VlessConformance.builder().target(link(USER))
                .insecure().build()).withMessageContaining("security=none");
    }

    /** One JUnit test per rule, as a project would check its own server in its own build. */
    @TestFactory
    @DisplayName("one dynamic test per rule")
    Stream<DynamicTest> ruleTests() {
        return VlessConformance.builder().target(link(USER)).user2(USER2)
                .handshakeTimeout(java.time.Duration.ofSeconds(1))
                .select("HDR-3,HDR-5,TCP-1,UDP-1,UDP-2,CRF-1,DLV-2").build().ruleTests();
    }
}
