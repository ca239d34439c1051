// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One very short run of every workload and the memory probe, against a reference server child process (and v2ray
 * where it is installed), to show that the generator works end to end. The figures are not checked: a loaded build
 * machine makes them meaningless.
 */
class LoadGeneratorTest {

    @TempDir
    Path out;

    @Test
    void measuresEveryWorkloadOnEveryTargetAndWritesTheReports() throws Exception {
        boolean v2ray = Files.isExecutable(Path.of("/usr/bin/v2ray"));
        List<String> args = new ArrayList<>(List.of("--udp", "2x64x2", "--tcp-bulk", "1", "--tcp-connect", "1",
                "--duration", "500ms", "--warmup", "200ms", "--server-warmup", "0", "--memory", "8",
                "--protocol", "v1,v0", "--udp-mode", "per-remote,mux", "--many-peers", "16x2",
                "--security", "plain", // UDP over TLS: LoadGeneratorVariantsTest
                "--out", out.toString()));
        if (v2ray) {
            args.add("--v2ray");
        }
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int code = LoadGenerator.run(new PrintStream(console, true, StandardCharsets.UTF_8),
                args.toArray(String[]::new));

        String printed = console.toString(StandardCharsets.UTF_8);
        assertThat(code).as(printed).isZero();
        JsonNode json = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        Set<String> rows = new HashSet<>();
        for (JsonNode r : json.get("results")) {
            rows.add(r.get("workload").asText() + " → " + r.get("target").asText());
            assertThat(r.get("operations").asLong()).as(r.toString()).isPositive();
        }
        assertThat(rows).contains("udp-echo → direct", "udp-echo → reference v1", "udp-echo → reference v0",
                "tcp-bulk → reference v1", "tcp-connect → direct (TLS)", "tcp-connect → reference v1 (TLS)");
        if (v2ray) {
            assertThat(rows).anyMatch(r -> r.startsWith("udp-echo → v2ray") && r.endsWith(" v0"));
            assertThat(rows).anyMatch(r -> r.startsWith("tcp-connect → v2ray") && r.endsWith(" v0 (TLS)"));
        }
        assertThat(rows).contains("udp-echo → reference v1 mux");
        assertThat(json.get("memory")).isNotEmpty();
        // Many peers: per remote, a CRUMFURS and one connection per remote; over UDP-MUX, one connection for all.
        Set<String> peerRows = new HashSet<>();
        for (JsonNode r : json.get("manyPeers")) {
            peerRows.add(r.get("target").asText() + ": " + r.get("tcpConnections").asInt());
            assertThat(r.get("totalMs").asDouble()).as(r.toString()).isPositive();
        }
        assertThat(peerRows).containsExactlyInAnyOrder("reference v1 (TLS): 17", "reference v1 mux (TLS): 1");
        assertThat(Files.readString(out.resolve("results.md"))).contains("| workload | target | rate |");
    }

    @Test
    void everyTargetTakesEverySlotOfARoundOnceInNRounds() {
        int n = 4;
        int[][] slots = new int[n][n]; // slots[target][position]: how often
        for (int round = 0; round < n; round++) {
            int[] order = LoadGenerator.roundOrder(round, n);
            assertThat(order).as("round %d runs each target once", round).containsExactlyInAnyOrder(0, 1, 2, 3);
            for (int position = 0; position < n; position++) {
                slots[order[position]][position]++;
            }
        }
        for (int[] target : slots) {
            assertThat(target).containsOnly(1);
        }
        assertThat(LoadGenerator.roundOrder(0, 3)).containsExactly(0, 1, 2);
    }
}
