// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.server.DestinationFilter;
import dev.vless.server.VlessServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs the whole suite against its default target, the embedded reference server, as {@code mvn verify} does: every
 * MUST rule must pass. With {@code -Dvless.target=vless://...} the same test checks that server instead.
 */
class EmbeddedConformanceTest {

    @Test
    void everyMustRulePasses() throws Exception {
        Report report = ConformanceRunner.run(TargetOptions.fromSystemProperties(),
                Selection.parse(System.getProperty("vless.select")), System.out);
        assertThat(report.cases()).isNotEmpty();
        assertThat(report.cases())
                .filteredOn(c -> c.verdict() == Verdict.FAIL || c.verdict() == Verdict.ERROR)
                .as("cases that failed (details in target/vless-conformance/report.md)")
                .isEmpty();
        assertThat(report.passed()).isTrue();
        if (System.getProperty("vless.select") == null) {
            // A whole run: every rule has a case, a reason it cannot be seen, or is outside the profile.
            assertThat(report.rules()).filteredOn(r -> r.verdict() == Verdict.UNCOVERED).as("uncovered rules")
                    .isEmpty();
        }
        if (System.getProperty("vless.target") == null && System.getProperty("vless.select") == null) {
            // The reference server offers UDP-MUX: every server MUST of §23 passes (MUX-12 needs plaintext: below),
            // and the NAT behaviour is the same over MUX as over command 2 (D24).
            for (dev.vless.spec.SpecRule r : dev.vless.spec.SpecRule.values()) {
                if (r.id().startsWith("MUX-") && r.level() == dev.vless.spec.RuleLevel.MUST
                        && r.party() != dev.vless.spec.Party.CLIENT && !r.id().equals("MUX-12")) {
                    assertThat(report.rules()).filteredOn(x -> x.id().equals(r.id())).singleElement()
                            .satisfies(x -> assertThat(x.verdict()).as(r.id() + ": " + x.note())
                                    .isEqualTo(Verdict.PASS));
                }
            }
            assertThat(report.classification()).containsEntry("mux.rfc4787", "EIM + EIF")
                    .containsEntry("mux.classic", "Full Cone");
            assertThat(report.cases()).filteredOn(c -> c.displayName().startsWith("NAT-4 · simultaneous open over"))
                    .singleElement().satisfies(c -> assertThat(c.verdict()).isEqualTo(Verdict.PASS));
        }
    }

    /**
     * A reference server with UDP-MUX switched off: the suite finds no 0x15, reports the mode's server rules as not
     * applicable with that reason, and checks MUX-2 (command 5 refused like an unknown command); told the mode is
     * required, it fails MUX-3 with what it saw and blocks the other MUX cases.
     */
    @Test
    void muxRulesWithoutTheMode() throws Exception {
        UUID user = UUID.randomUUID();
        VlessServer server = VlessServer.builder().listen("127.0.0.1", 0).plaintext().user(user)
                .user(UUID.randomUUID()).handshakeTimeout(Duration.ofSeconds(2)).udpMux(false)
                .destinations(DestinationFilter.allowingLoopback()).build().start().get(10, TimeUnit.SECONDS);
        try {
            TargetOptions d = TargetOptions.defaults();
            TargetOptions o = new TargetOptions("vless://" + user + "@127.0.0.1:" + server.localAddress().getPort()
                    + "?security=none", null, d.profile(), false, null, d.peerAddresses(), Duration.ofSeconds(2),
                    d.lifetimeProbe(), d.ioTimeout(), d.policy(), Path.of("target", "vless-conformance-no-mux"));
            Report auto = ConformanceRunner.run(o, Selection.parse("mux"), System.out);
            for (Report.RuleResult r : auto.rules()) {
                if (r.id().startsWith("MUX-") && !r.id().equals("MUX-1") && !r.id().equals("MUX-2")
                        && !r.party().equals("client")) {
                    assertThat(r.verdict()).as(r.id() + ": " + r.note()).isEqualTo(Verdict.NOT_APPLICABLE);
                    assertThat(r.note()).as(r.id()).contains("no 0x15 within the deadline (5000 ms): the target does"
                            + " not offer UDP-MUX");
                }
            }
            assertThat(auto.rules()).filteredOn(r -> r.id().equals("MUX-2") || r.id().equals("MUX-1"))
                    .allSatisfy(r -> assertThat(r.verdict()).as(r.id() + ": " + r.note()).isEqualTo(Verdict.PASS));
            assertThat(auto.passed()).isTrue();

            Report required = ConformanceRunner.run(o.withMuxRequired(true), Selection.parse("MUX-3,MUX-7"),
                    System.out);
            assertThat(required.rules()).filteredOn(r -> r.id().equals("MUX-3")).singleElement()
                    .satisfies(r -> {
                        assertThat(r.verdict()).isEqualTo(Verdict.FAIL);
                        assertThat(r.note()).contains("closed without a byte");
                    });
            assertThat(required.rules()).filteredOn(r -> r.id().equals("MUX-7")).singleElement()
                    .satisfies(r -> assertThat(r.verdict()).isEqualTo(Verdict.BLOCKED));
        } finally {
            server.close();
        }
    }

    /**
     * The embedded run speaks TLS, through which the harness cannot half-close; so the end-of-stream rules are checked
     * here once more against a plaintext reference server, on every build.
     */
    @Test
    void endOfStreamRulesPassOverPlaintext() throws Exception {
        UUID user = UUID.randomUUID();
        VlessServer server = VlessServer.builder().listen("127.0.0.1", 0).plaintext().user(user)
                .user(UUID.randomUUID()).handshakeTimeout(Duration.ofSeconds(2))
                .destinations(DestinationFilter.allowingLoopback()).build().start().get(10, TimeUnit.SECONDS);
        try {
            TargetOptions d = TargetOptions.defaults();
            TargetOptions o = new TargetOptions("vless://" + user + "@127.0.0.1:" + server.localAddress().getPort()
                    + "?security=none", null, d.profile(), false, null, d.peerAddresses(), Duration.ofSeconds(2),
                    d.lifetimeProbe(), d.ioTimeout(), d.policy(), Path.of("target", "vless-conformance-plaintext"));
            Report report = ConformanceRunner.run(o, Selection.parse("TCP-3,UDP-8,CRF-4,MUX-12"), System.out);
            for (String rule : new String[] {"TCP-3", "UDP-8", "CRF-4", "MUX-12"}) {
                assertThat(report.rules()).filteredOn(r -> r.id().equals(rule)).singleElement()
                        .satisfies(r -> assertThat(r.verdict()).as(rule + ": " + r.note()).isEqualTo(Verdict.PASS));
            }
        } finally {
            server.close();
        }
    }

    /**
     * The lifetime cases against a reference server with per-destination mapping (NAT-5), where LIF-6 can be seen,
     * at a 3 s lifetime the suite is told: every lifetime rule passes, LIF-6 and the MUX ones included. With the second
     * user, so that the cases' contexts (one each, side by side) spread over two users: a user has at most 8 (LIM-1).
     */
    @Test
    void lifetimeRulesPassOnAPerDestinationServer() throws Exception {
        UUID user = UUID.randomUUID();
        UUID user2 = UUID.randomUUID();
        Duration lifetime = Duration.ofSeconds(3);
        VlessServer server = VlessServer.builder().listen("127.0.0.1", 0).plaintext().user(user)
                .user(user2).handshakeTimeout(Duration.ofSeconds(2))
                .mappingPolicy(dev.vless.server.MappingPolicy.PER_DESTINATION).udpLifetime(lifetime)
                .allowShortLifetimeForTesting().destinations(DestinationFilter.allowingLoopback()).build().start()
                .get(10, TimeUnit.SECONDS);
        try {
            TargetOptions d = TargetOptions.defaults();
            TargetOptions o = new TargetOptions("vless://" + user + "@127.0.0.1:" + server.localAddress().getPort()
                    + "?security=none", user2, d.profile(), false, null, d.peerAddresses(), Duration.ofSeconds(2),
                    d.lifetimeProbe(), d.ioTimeout(), d.policy(), Path.of("target", "vless-conformance-per-destination"))
                    .withUdpLifetime(lifetime);
            Report report = ConformanceRunner.run(o, Selection.parse("lifetime"), System.out);
            for (String rule : new String[] {"LIF-1", "LIF-2", "LIF-4", "LIF-5", "LIF-6", "LIF-7", "MUX-20", "MUX-21"}) {
                assertThat(report.rules()).filteredOn(r -> r.id().equals(rule)).singleElement()
                        .satisfies(r -> assertThat(r.verdict()).as(rule + ": " + r.note()).isEqualTo(Verdict.PASS));
            }
        } finally {
            server.close();
        }
    }
}
