// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.conformance.ConformanceMain;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code vless-conformance client}: usage errors say what is wrong and exit with status 2; --list runs nothing. */
class ClientMainTest {

    private static String[] run(int[] status, String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            status[0] = ConformanceMain.execute(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new String[] {o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void listsTheClientCasesWithTheirRules() {
        int[] status = new int[1];
        String[] out = run(status, "client", "--list");
        assertThat(status[0]).isZero();
        assertThat(out[0]).contains("CRF-5 · ", "[CRF-5, client-conformance, crumfurs]", "TLS-3 · ", "MUX-5 · ");
    }

    @Test
    void aTemplateWithAnUnknownPlaceholderIsAUsageError() {
        int[] status = new int[1];
        String[] out = run(status, "client", "--client-cmd", "my-client --server {link} --socks {socks} {bogus}",
                "--report-dir", "target/client-main-test");
        assertThat(status[0]).isEqualTo(2);
        assertThat(out[1]).contains("{bogus}");
    }

    @Test
    void clientCmdAndSocksTogetherIsAUsageError() {
        int[] status = new int[1];
        String[] out = run(status, "client", "--client-cmd", "c {socks}", "--socks", "127.0.0.1:1080");
        assertThat(status[0]).isEqualTo(2);
        assertThat(out[1]).contains("--client-cmd", "--socks", "one or the other");
    }

    @Test
    void aBadUdpModeIsAUsageError() {
        int[] status = new int[1];
        String[] out = run(status, "client", "--udp-mode", "sideways", "--report-dir", "target/client-main-test");
        assertThat(status[0]).isEqualTo(2);
        assertThat(out[1]).contains("--udp-mode sideways", "both, mux or per-remote");
    }
}
