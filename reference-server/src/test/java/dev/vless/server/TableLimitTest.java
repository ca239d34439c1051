// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static dev.vless.server.NatContextTest.seenBy;
import static dev.vless.server.testing.TestClient.ascii;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The table-entry limit of LIM-1: beyond it the least recently used entry goes. Observable through mapping rule 2
 * (NAT-3) under per-destination mapping: a heard destination is dialed from the port it wrote to only while its heard
 * entry lasts.
 */
class TableLimitTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b
            .maxTableEntries(2)
            .mappingPolicy(MappingPolicy.PER_DESTINATION)).runForEachTest();

    @Test
    @DisplayName("LIM-1 · at the entry limit the least recently used entry is evicted, and rule 2 no longer finds it")
    void leastRecentlyUsedEntryIsEvicted() throws Exception {
        try (UdpPeer a = UdpPeer.bind("127.0.0.2");
             UdpPeer b = UdpPeer.bind("127.0.0.3");
             TestClient crf = server.openCrumfurs();
             TestClient toA = server.openUdp(a.address())) {
            InetSocketAddress mapped = seenBy(a, toA);                      // dialed A
            b.send("from b", mapped);                                        // heard B: two entries, the limit
            assertThat(crf.readUmfurs().source()).isEqualTo(b.address());
            a.send("from a", mapped);                                        // heard A: B is now the oldest, evicted
            assertThat(toA.readFrame()).isEqualTo(ascii("from a"));
            assertThat(server.stats().liveMappings()).isEqualTo(2);
            try (TestClient toB = server.openUdp(b.address())) {
                // Without the eviction rule 2 would answer B from `mapped` (NatMappingTest shows it does).
                assertThat(seenBy(b, toB)).as("B dialed from a new port: its heard entry is gone")
                        .isNotEqualTo(mapped);
            }
            // A was used more recently than B: an entry of A survives (dialing B evicted A's older one), so A is
            // still answered from its first port.
            try (TestClient toAgain = server.openUdp(a.address())) {
                assertThat(seenBy(a, toAgain)).isEqualTo(mapped);
            }
        }
    }
}
