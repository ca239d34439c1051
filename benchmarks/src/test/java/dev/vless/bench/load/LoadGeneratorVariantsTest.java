// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.channel.epoll.Epoll;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Short runs of the options that vary the targets: UDP over TLS (--security), one user against a user per flow
 * (--scaling) and one reference server per transport (--server-transport); and the columns every UDP row has: kernel
 * drops at both ends and the server's cores. Figures are not checked, only that each row is there and measured.
 */
class LoadGeneratorVariantsTest {

    private static final List<String> SHORT = List.of("--tcp-bulk", "0", "--duration", "300ms", "--warmup", "200ms",
            "--server-warmup", "0");

    @TempDir
    Path out;

    @Test
    void udpOverTlsRunsOnEveryStartedServerInBothUdpModesWithDropsAndCores() throws Exception {
        boolean v2ray = Files.isExecutable(Path.of("/usr/bin/v2ray"));
        // tcp-connect too: it shares the TLS servers with the UDP workloads.
        List<String> args = new ArrayList<>(List.of("--udp", "2x64x2", "--security", "tls", "--udp-mode",
                "per-remote,mux", "--tcp-connect", "1"));
        if (v2ray) {
            args.add("--v2ray");
        }
        Map<String, JsonNode> rows = run(args);

        assertThat(rows).containsKeys("udp-echo → direct", "udp-echo → reference v1 (TLS)",
                "udp-echo → reference v1 mux (TLS)");
        assertThat(rows).doesNotContainKey("udp-echo → reference v1"); // --security tls: no plaintext rows
        assertThat(rows).containsKeys("tcp-connect → direct (TLS)", "tcp-connect → reference v1 (TLS)");
        if (v2ray) {
            assertThat(rows.keySet()).anyMatch(r -> r.startsWith("udp-echo → v2ray") && r.endsWith(" v0 (TLS)"));
        }
        JsonNode tls = rows.get("udp-echo → reference v1 (TLS)");
        assertThat(tls.get("variant").asText()).isEqualTo("TLS");
        assertThat(tls.get("server").asText()).isEqualTo("reference v1");
        assertThat(tls.get("serverDrops").isIntegralNumber()).as(tls.toString()).isTrue();
        assertThat(tls.get("clientDrops").isIntegralNumber()).as(tls.toString()).isTrue();
        assertThat(tls.get("serverCores").asDouble()).as(tls.toString()).isPositive();
        assertThat(tls.get("shareOfDirect").isNumber()).as("TLS rows are shares of the plain direct path").isTrue();
        JsonNode direct = rows.get("udp-echo → direct");
        assertThat(direct.get("serverDrops").isNull()).as("the direct path has no server").isTrue();
        assertThat(direct.get("clientDrops").isIntegralNumber()).isTrue();
        assertThat(Files.readString(out.resolve("results.md"))).contains("| loss | drops server / generator | server "
                + "cores | server CPU µs/op |");
    }

    @Test
    void scalingAndTransportsAreTargetsOfTheirOwnInTheSameRun() throws Exception {
        List<String> transports = Epoll.isAvailable() ? List.of("epoll", "nio") : List.of("nio");
        Map<String, JsonNode> rows = run(List.of("--udp", "1x64x1", "--security", "plain", "--tcp-connect", "0",
                "--scaling", "2",
                "--scaling-shape", "64x2", "--udp-mode", "per-remote,mux", "--server-transport",
                String.join(",", transports), "--server-options", "--udp-receive-buffer 65536"));

        for (String t : transports) {
            assertThat(rows).containsKeys("udp-echo → reference v1 [" + t + "]",
                    "udp-scaling → reference v1 [" + t + "], 1 user", "udp-scaling → reference v1 [" + t + "], 2 users");
        }
        assertThat(rows).containsKeys("udp-scaling → direct", "udp-scaling → reference v1 mux [nio], 1 user",
                "udp-scaling → reference v1 mux [nio], 2 users"); // a MUX connection per user
        assertThat(rows.get("udp-scaling → reference v1 [nio], 2 users").get("variant").asText())
                .isEqualTo("2 users");
        assertThat(Files.readString(out.resolve("logs").resolve("reference-nio.log"))).as("--server-options")
                .doesNotContain("Unknown option");
        assertThat(Files.readString(out.resolve("results.md")))
                .contains("| scaling: flows | target | 1 user: rate |", "| 2 flows × 64 B × 2 in flight | reference v1 "
                        + "[nio] |");
    }

    /** Runs the generator with {@link #SHORT} and {@code args}; the results by "workload → target". */
    private Map<String, JsonNode> run(List<String> args) throws Exception {
        List<String> all = new ArrayList<>(SHORT);
        all.addAll(args);
        all.addAll(List.of("--out", out.toString()));
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int code = LoadGenerator.run(new PrintStream(console, true, StandardCharsets.UTF_8), all.toArray(String[]::new));
        assertThat(code).as(console.toString(StandardCharsets.UTF_8)).isZero();
        Map<String, JsonNode> rows = new HashMap<>();
        for (JsonNode r : new ObjectMapper().readTree(out.resolve("results.json").toFile()).get("results")) {
            rows.put(r.get("workload").asText() + " → " + r.get("target").asText(), r);
            assertThat(r.get("operations").asLong()).as(r.toString()).isPositive();
        }
        return rows;
    }
}
