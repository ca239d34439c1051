// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.conformance.client.ClientConformance;
import dev.vless.conformance.client.ClientOptions;
import dev.vless.conformance.client.V2rayClientLauncher;
import dev.vless.spec.Profile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Runs the client suite's v0 profile against Debian's v2ray 4.34 as a VLESS client (a SOCKS inbound, a VLESS v0
 * outbound to the harness's server over TLS, trusting the harness's certificate as a CA) and compares the verdicts
 * with the reviewed expectation file {@code expectations/v2ray-4.34-client-v0.json}, as {@link V2rayConformanceTest}
 * does for v2ray as a server. Regenerate after a reviewed change with {@code -Dvless.updateExpectations=true}.
 */
class V2rayClientConformanceTest {

    static final Path EXPECTATIONS = Path.of("expectations", "v2ray-4.34-client-v0.json");

    @Test
    void clientVerdictsOnV2rayMatchTheReviewedExpectations() throws Exception {
        Path binary = V2rayConformanceTest.findV2ray();
        Path dir = Files.createTempDirectory("v2ray-client-conformance");
        Path ca = dir.resolve("harness-ca.pem");
        ClientOptions options = ClientOptions.defaults(new V2rayClientLauncher(binary, ca,
                java.time.Duration.ofSeconds(15))).withProfile(Profile.V0).withCaOut(ca)
                .withReportDir(Path.of("target", "vless-conformance-v2ray-client"));
        Report report = ClientConformance.run(options, Selection.all(), System.out, true);
        assertThat(report.unchecked()).as("pre-flight").isNull();
        Map<String, Object> actual = V2rayConformanceTest.summary(report);
        actual.remove("server");
        actual.remove("classification");
        actual.put("client", "Debian v2ray 4.34.0 (VLESS v0 outbound over TLS, SOCKS5 inbound, loopback)");
        V2rayConformanceTest.compareOrUpdate(EXPECTATIONS, actual, "the client suite's findings on v2ray 4.34",
                "target/vless-conformance-v2ray-client/report.md", report);
    }
}
