// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.mutants;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.conformance.Report;
import dev.vless.conformance.Selection;
import dev.vless.conformance.Verdict;
import dev.vless.conformance.client.ClientConformance;
import dev.vless.conformance.client.ClientOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The tls and full-cone groups against faulty clients: the fault is reported under its rule, and the clean client
 * fails nothing (its UDP-MUX cases do not apply: it never asks for the mode).
 */
class MuxTlsFullConeMutantTest {

    @Test
    void cleanClientFailsNothing() throws Exception {
        Report r = run(ClientFault.CLEAN, "mux,tls,full-cone");
        assertThat(r.cases()).filteredOn(c -> c.verdict() != Verdict.PASS && c.verdict() != Verdict.NOT_APPLICABLE)
                .as("clean client").isEmpty();
        assertThat(r.cases()).filteredOn(c -> c.displayName().startsWith("MUX-"))
                .allSatisfy(c -> assertThat(c.verdict()).isEqualTo(Verdict.NOT_APPLICABLE));
    }

    @Test
    void anyCertificateFailsTls3() throws Exception {
        expectFail(run(ClientFault.ACCEPTS_ANY_CERTIFICATE, "tls"), "TLS-3");
    }

    @Test
    void wrongLabelFailsCli2() throws Exception {
        expectFail(run(ClientFault.WRONG_SOURCE_LABEL, "full-cone"), "CLI-2");
    }

    private static void expectFail(Report r, String rule) {
        assertThat(r.rules()).filteredOn(x -> x.id().equals(rule)).singleElement()
                .satisfies(x -> assertThat(x.verdict()).as(x.note()).isEqualTo(Verdict.FAIL));
        assertThat(r.cases()).anyMatch(c -> c.verdict() == Verdict.FAIL && c.message().startsWith(rule));
    }

    private static Report run(ClientFault fault, String selection) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ClientOptions o = ClientOptions.defaults(MutantClient.launcher(fault, ClientMutationTest.IDLE))
                .withIoTimeout(ClientMutationTest.IO_TIMEOUT).withUdpIdle(ClientMutationTest.IDLE)
                .withReportDir(Files.createTempDirectory("client-mutant-report"));
        Report report = ClientConformance.run(o, Selection.parse(selection), console, false);
        for (Report.CaseResult c : report.cases()) {
            System.out.println("== " + fault + " " + c.verdict() + " " + c.durationMs() + " ms  " + c.displayName()
                    + (c.message() == null ? "" : "  -- " + (c.verdict() == Verdict.FAIL ? c.message()
                    : List.of(c.message().split("\n")).get(0))));
        }
        return report;
    }
}
