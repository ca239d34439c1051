// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.client.UdpMode;
import dev.vless.conformance.Report;
import dev.vless.conformance.Selection;
import dev.vless.conformance.Verdict;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/**
 * The reference client against the client cases of the mux, tls and full-cone groups, in both UDP modes: it is
 * correct, so no case may FAIL, ERROR or be BLOCKED; in the per-remote mode the MUX cases do not apply.
 */
class ReferenceClientMuxTlsFullConeTest {

    private static final EnumSet<Verdict> BAD = EnumSet.of(Verdict.FAIL, Verdict.ERROR, Verdict.BLOCKED);

    @Test
    void muxMode() throws Exception {
        Report report = run(UdpMode.MUX);
        assertThat(report.cases()).filteredOn(c -> c.displayName().startsWith("MUX-"))
                .isNotEmpty().allSatisfy(c -> assertThat(c.verdict()).as(c.displayName() + ": " + c.message())
                        .isEqualTo(Verdict.PASS));
    }

    @Test
    void perRemoteMode() throws Exception {
        Report report = run(UdpMode.PER_REMOTE);
        assertThat(report.cases()).filteredOn(c -> c.displayName().startsWith("MUX-"))
                .isNotEmpty().allSatisfy(c -> {
                    assertThat(c.verdict()).as(c.displayName()).isEqualTo(Verdict.NOT_APPLICABLE);
                    assertThat(c.message()).contains("did not ask for UDP-MUX");
                });
    }

    private static Report run(UdpMode mode) throws Exception {
        long start = System.nanoTime();
        Report report = ClientConformance.run(ClientOptions.defaults(new ReferenceClientLauncher(mode)),
                Selection.parse("mux,tls,full-cone"), System.out, false);
        long ms = (System.nanoTime() - start) / 1_000_000;
        System.out.println("== " + mode + ": " + ms + " ms");
        for (Report.CaseResult c : report.cases()) {
            System.out.println("== " + c.verdict() + " " + c.durationMs() + " ms  " + c.displayName()
                    + (c.message() == null ? "" : "  -- " + c.message().lines().findFirst().orElse(""))
                    + (c.facts().isEmpty() ? "" : "  " + c.facts()));
        }
        assertThat(report.unchecked()).as("pre-flight").isNull();
        assertThat(report.cases()).hasSizeGreaterThanOrEqualTo(12);
        assertThat(report.cases()).filteredOn(c -> BAD.contains(c.verdict()))
                .as("cases that failed, erred or were blocked").isEmpty();
        assertThat(report.cases()).filteredOn(c -> c.displayName().startsWith("TLS-")).allSatisfy(
                c -> assertThat(c.verdict()).as(c.displayName()).isEqualTo(Verdict.PASS));
        assertThat(report.cases()).filteredOn(c -> c.displayName().startsWith("CLI-2 ·")).singleElement()
                .satisfies(c -> assertThat(c.verdict()).isEqualTo(Verdict.PASS));
        assertThat(ms).as("run time").isLessThan(90_000);
        return report;
    }
}
