// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz.live;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.conformance.RawDatagrams;
import dev.vless.fuzz.live.RemoteScenario.Datagram;
import dev.vless.fuzz.live.RemoteScenario.Forged;
import dev.vless.fuzz.live.RemoteScenario.Peer;
import dev.vless.server.testing.LogCapture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Live fuzzing of the server from the remote side: bursts of datagrams to a NAT context's sockets from real peers and,
 * where a raw socket can be opened, from forged sources (port 0, 1 and 65535, other loopback hosts, multicast and
 * broadcast addresses, the exact address of a connection's target), of sizes from 0 to 65507 bytes, to its IPv4 and
 * its dual-stack IPv6 socket. {@link RemoteScenario} checks every delivery; after each burst a valid client must be
 * served, and at the end nothing is logged at WARN or above, file descriptors and direct memory are back, and the
 * leak detector (at paranoid) has nothing to report.
 */
class RemoteDatagramFuzzTest {

    @Test
    @DisplayName("DLV-1 · DLV-2 · DLV-6 · UMF-4 · datagrams from any source reach only their receiver, with their true label")
    void datagramsFromAnySourceReachOnlyTheirReceiver() throws Exception {
        long seed = LiveFuzz.seed();
        long until = System.nanoTime() + LiveFuzz.duration().toNanos();
        String unavailable = RawDatagrams.unavailableReason();
        System.out.println("remote live fuzzer: seed " + seed + " (-Dvless.fuzz.live.seed=" + seed + " replays it)"
                + (unavailable == null ? "" : "; forged sources skipped: " + unavailable));
        Random random = new Random(seed);
        int bursts = 0;
        int datagrams = 0;
        try (LiveRig rig = LiveRig.start(false); LogCapture log = LogCapture.start();
                RawDatagrams raw = unavailable == null ? RawDatagrams.open() : null) {
            int fds = LiveRig.openFds();
            rig.assertServesValidClient("start");
            long memory = LiveRig.directMemory();
            try (RemoteScenario scenario = new RemoteScenario(rig, raw)) {
                while (System.nanoTime() < until || bursts == 0) {
                    List<Datagram> burst = burst(random, scenario);
                    String name = "remote-" + seed + "-burst-" + bursts;
                    try {
                        scenario.run(burst, name);
                        rig.assertServesValidClient(name);
                    } catch (AssertionError e) {
                        throw LiveFuzz.finding(e, name, List.of("kind: remote"),
                                burst.stream().map(Datagram::line).toList());
                    }
                    bursts++;
                    datagrams += burst.size();
                }
            }
            rig.assertResourcesBack(fds, memory);
            assertThat(log.linesAtOrAbove("WARN")).as("log lines at WARN or above").isEmpty();
        }
        System.out.println("remote live fuzzer: " + bursts + " bursts, " + datagrams + " datagrams, no finding");
    }

    /** A burst of 1-160 datagrams with sources, sockets and sizes drawn to reach the edges often. */
    static List<Datagram> burst(Random r, RemoteScenario s) throws Exception {
        int n = 1 + r.nextInt(160);
        List<Datagram> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new Datagram(source(r, s), s.a6 != null && r.nextInt(4) == 0, s.payload(size(r), r)));
        }
        return out;
    }

    private static RemoteScenario.Source source(Random r, RemoteScenario s) throws Exception {
        int k = r.nextInt(100);
        if (!s.forging() || k < 35) {
            int p = r.nextInt(7);
            return p < 4 ? Peer.B : p < 6 ? Peer.A : Peer.A6;
        }
        if (k < 42) {
            return new Forged(null, true); // A's exact address, from a raw socket: must reach A's connection
        }
        int port = switch (r.nextInt(8)) {
            case 0, 1 -> 0;
            case 2 -> 1;
            case 3 -> 65535;
            default -> 1 + r.nextInt(65535);
        };
        InetAddress ip = switch (r.nextInt(9)) {
            case 0 -> InetAddress.getByName("127.0.0.1");
            case 1 -> s.a.address().getAddress();
            case 2, 3 -> InetAddress.getByAddress(new byte[] {(byte) (224 + r.nextInt(16)), (byte) r.nextInt(256),
                    (byte) r.nextInt(256), (byte) r.nextInt(256)});
            case 4 -> InetAddress.getByName("255.255.255.255");
            // 0.0.0.0 is left out: the kernel writes a local address in its place.
            default -> InetAddress.getByAddress(new byte[] {127, (byte) r.nextInt(256), (byte) r.nextInt(256),
                    (byte) (1 + r.nextInt(254))});
        };
        return new Forged(new InetSocketAddress(ip, port), false);
    }

    private static int size(Random r) {
        int k = r.nextInt(100);
        if (k < 40) {
            return r.nextInt(17);
        } else if (k < 70) {
            return 17 + r.nextInt(1484);
        } else if (k < 90) {
            return 1501 + r.nextInt(7500);
        } else if (k < 98) {
            return 9001 + r.nextInt(23000);
        }
        return r.nextBoolean() ? RawDatagrams.MAX_PAYLOAD : 32001 + r.nextInt(RawDatagrams.MAX_PAYLOAD - 32000);
    }
}
