// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz.live;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.fuzz.live.ClientScenario.End;
import dev.vless.fuzz.live.ClientScenario.Input;
import dev.vless.server.testing.LogCapture;
import dev.vless.server.testing.TestClient;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Live fuzzing of the server from the client side, over plaintext and over TLS: batches of connections whose input is
 * a valid request (TCP, UDP with frames, CRUMFURS with trailing bytes; v1 and v0) mutated by flips, interesting byte
 * values, truncation, insertion, deletion and duplication, or plain random bytes, each split into chunks at random
 * points. {@link ClientScenario} checks that bad and incomplete headers get no byte back; after every batch a valid
 * client must be served, and at the end nothing is logged at WARN or above, file descriptors and direct memory are
 * back, and the leak detector (at paranoid) has nothing to report.
 */
class ClientInputFuzzTest {

    private static final int BATCH = 24;
    private static final byte[] INTERESTING = {0, 1, 2, 3, 4, 5, 0x14, 0x15, 0x20, 0x21, 0x7e, 0x7f, (byte) 0x80,
            (byte) 0xff};

    @ParameterizedTest(name = "over {0}")
    @ValueSource(strings = {"plaintext", "TLS"})
    void malformedAndSplitInputNeverGetsAResponseOrStopsService(String transport) throws Exception {
        boolean tls = transport.equals("TLS");
        long seed = LiveFuzz.seed();
        long until = System.nanoTime() + LiveFuzz.duration().toNanos();
        System.out.println("client live fuzzer (" + transport + "): seed " + seed + " (-Dvless.fuzz.live.seed=" + seed
                + " replays it)");
        Random random = new Random(seed);
        int batches = 0;
        int inputs = 0;
        int skipped = 0;
        try (LiveRig rig = LiveRig.start(tls); LogCapture log = LogCapture.start()) {
            int fds = LiveRig.openFds();
            rig.assertServesValidClient("start");
            long memory = LiveRig.directMemory();
            ClientScenario scenario = new ClientScenario(rig);
            List<byte[]> templates = templates(rig);
            while (System.nanoTime() < until || batches == 0) {
                List<Input> batch = new ArrayList<>();
                while (batch.size() < BATCH) {
                    Input in = input(random, templates);
                    if (scenario.staysOnThisMachine(in.bytes())) {
                        batch.add(in);
                    } else {
                        skipped++;
                    }
                }
                String name = "client-" + transport.toLowerCase() + "-" + seed + "-batch-" + batches;
                try {
                    scenario.run(batch, name);
                    rig.assertServesValidClient(name);
                } catch (AssertionError e) {
                    throw LiveFuzz.finding(e, name, List.of("kind: client", "transport: " + transport.toLowerCase()),
                            batch.stream().map(Input::line).toList());
                }
                batches++;
                inputs += batch.size();
            }
            rig.assertResourcesBack(fds, memory);
            assertThat(log.linesAtOrAbove("WARN")).as("log lines at WARN or above").isEmpty();
        }
        System.out.println("client live fuzzer (" + transport + "): " + batches + " batches, " + inputs
                + " connections, " + skipped + " inputs skipped (they named a destination off this machine), no finding");
    }

    /** Valid inputs of every kind the server serves, to mutate. */
    static List<byte[]> templates(LiveRig rig) {
        byte[] hello = TestClient.ascii("hello through the relay");
        List<byte[]> t = new ArrayList<>();
        t.add(TestClient.concat(TestClient.header(TestClient.v1(LiveRig.USER, VlessCommand.TCP,
                rig.tcpEcho.address())), hello));
        t.add(TestClient.concat(TestClient.header(TestClient.v1(LiveRig.USER, VlessCommand.UDP, rig.echo.address())),
                TestClient.frame(hello), TestClient.frame(new byte[0]), TestClient.frame(new byte[1200])));
        t.add(TestClient.concat(TestClient.header(VlessRequest.crumfurs(LiveRig.OTHER_USER)), hello));
        t.add(TestClient.concat(TestClient.header(TestClient.v0(LiveRig.USER, VlessCommand.TCP,
                rig.tcpEcho.address())), hello));
        t.add(TestClient.concat(TestClient.header(TestClient.v0(LiveRig.OTHER_USER, VlessCommand.UDP,
                rig.echo.address())), TestClient.frame(hello)));
        // A frame whose length runs past the end of the input.
        t.add(TestClient.concat(TestClient.header(TestClient.v1(LiveRig.USER, VlessCommand.UDP, rig.echo.address())),
                new byte[] {0x10, 0}, hello));
        return t;
    }

    static Input input(Random r, List<byte[]> templates) {
        byte[] b;
        int k = r.nextInt(100);
        if (k < 12) {
            b = new byte[r.nextInt(80)];
            r.nextBytes(b);
            if (b.length > 0 && r.nextBoolean()) {
                b[0] = (byte) r.nextInt(3); // a plausible version byte, so that the decoder reads further
            }
        } else {
            b = templates.get(r.nextInt(templates.size())).clone();
            if (k < 20) {
                // Another user: a well-formed header of an unknown user (HDR-3).
                UUID u = new UUID(r.nextLong(), r.nextLong());
                java.nio.ByteBuffer.wrap(b, 1, 16).putLong(u.getMostSignificantBits())
                        .putLong(u.getLeastSignificantBits());
            }
            int mutations = k < 30 ? 0 : 1 + r.nextInt(4);
            for (int i = 0; i < mutations; i++) {
                b = mutate(r, b);
            }
        }
        return new Input(split(r, b), r.nextInt(10) < 7 ? End.CLOSE : End.HALF_CLOSE);
    }

    private static byte[] mutate(Random r, byte[] b) {
        if (b.length == 0) {
            return new byte[] {(byte) r.nextInt(256)};
        }
        int at = r.nextInt(b.length);
        switch (r.nextInt(7)) {
            case 0:
                b[at] ^= (byte) (1 << r.nextInt(8));
                return b;
            case 1:
                // Mostly inside the header, where each field's edge values matter.
                b[Math.min(at, r.nextInt(Math.min(b.length, 40)))] = INTERESTING[r.nextInt(INTERESTING.length)];
                return b;
            case 2:
                return Arrays.copyOf(b, at);
            case 3: {
                byte[] extra = new byte[1 + r.nextInt(8)];
                r.nextBytes(extra);
                return TestClient.concat(Arrays.copyOf(b, at), extra, Arrays.copyOfRange(b, at, b.length));
            }
            case 4: {
                int end = Math.min(b.length, at + 1 + r.nextInt(8));
                return TestClient.concat(Arrays.copyOf(b, at), Arrays.copyOfRange(b, end, b.length));
            }
            case 5: {
                int end = Math.min(b.length, at + 1 + r.nextInt(24));
                return TestClient.concat(b, Arrays.copyOfRange(b, at, end));
            }
            default: {
                byte[] extra = new byte[1 + r.nextInt(64)];
                r.nextBytes(extra);
                return TestClient.concat(b, extra);
            }
        }
    }

    /** Splits {@code b} into 1-8 chunks at random points; empty chunks included. */
    static List<byte[]> split(Random r, byte[] b) {
        int n = 1 + r.nextInt(8);
        int[] cuts = new int[n + 1];
        cuts[n] = b.length;
        for (int i = 1; i < n; i++) {
            cuts[i] = b.length == 0 ? 0 : r.nextInt(b.length + 1);
        }
        Arrays.sort(cuts, 1, n);
        List<byte[]> chunks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            chunks.add(Arrays.copyOfRange(b, cuts[i], cuts[i + 1]));
        }
        return chunks;
    }
}
