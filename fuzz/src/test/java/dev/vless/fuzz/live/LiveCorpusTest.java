// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz.live;

import dev.vless.conformance.RawDatagrams;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Replays every input the live fuzzers (or people) ever found to fail, from {@code corpus/*.txt} beside this class in
 * the test resources, with the fuzzers' own checks. A file is a few lines of {@code key: value}: {@code kind: remote}
 * with {@code datagram:} lines ({@link RemoteScenario.Datagram#line()}), or {@code kind: client} with
 * {@code transport: plaintext|tls} and {@code input:} lines ({@link ClientScenario.Input#line()}); {@code #} starts a
 * comment saying what the input once broke.
 */
class LiveCorpusTest {

    @TestFactory
    Stream<DynamicTest> everyCorpusInputPasses() throws Exception {
        Path dir = corpus();
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.toString().endsWith(".txt")).sorted().forEach(files::add);
        }
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> replay(f)));
    }

    private static void replay(Path file) throws Exception {
        List<String> lines = new ArrayList<>();
        String kind = null;
        String transport = "plaintext";
        for (String raw : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String l = raw.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            if (l.startsWith("kind:")) {
                kind = l.substring(5).strip();
            } else if (l.startsWith("transport:")) {
                transport = l.substring(10).strip();
            } else {
                lines.add(l);
            }
        }
        String name = file.getFileName().toString();
        if ("remote".equals(kind)) {
            List<RemoteScenario.Datagram> burst = new ArrayList<>();
            boolean forged = false;
            for (String l : lines) {
                RemoteScenario.Datagram d = RemoteScenario.Datagram.parse(l);
                forged |= d.source() instanceof RemoteScenario.Forged;
                burst.add(d);
            }
            String unavailable = RawDatagrams.unavailableReason();
            Assumptions.assumeTrue(!forged || unavailable == null,
                    () -> name + " forges sources, which this process cannot: " + unavailable);
            try (LiveRig rig = LiveRig.start(false); RawDatagrams raw = forged ? RawDatagrams.open() : null;
                    RemoteScenario scenario = new RemoteScenario(rig, raw)) {
                scenario.run(burst, name);
                rig.assertServesValidClient(name);
            }
        } else if ("client".equals(kind)) {
            List<ClientScenario.Input> batch = new ArrayList<>();
            for (String l : lines) {
                batch.add(ClientScenario.Input.parse(l));
            }
            try (LiveRig rig = LiveRig.start(transport.equals("tls"))) {
                new ClientScenario(rig).run(batch, name);
                rig.assertServesValidClient(name);
            }
        } else {
            throw new IllegalArgumentException(file + ": kind: " + kind + " (expected: remote or client)");
        }
    }

    private static Path corpus() throws URISyntaxException {
        return Path.of(LiveCorpusTest.class.getResource("corpus").toURI());
    }
}
