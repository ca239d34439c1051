// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.reliability;

import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.server.DestinationFilter;
import dev.vless.server.VlessServer;
import dev.vless.server.VlessServerConfig;
import dev.vless.server.internal.FdLimit;
import dev.vless.server.testing.LogCapture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The default --max-connections fits the descriptors the process may open, and a larger setting is warned about. */
class FdLimitDefaultTest {

    @Test
    @DisplayName("the default connection and cooling limits fit the process's descriptor limit")
    void defaultsFitTheLimit() {
        long limit = FdLimit.processLimit();
        assumeTrue(limit > 0, "a JVM that reports its descriptor limit");
        VlessServerConfig c = VlessServer.builder().user(USER).buildConfig();
        assertThat(c.maxConnections()).isLessThan((int) Math.min(Integer.MAX_VALUE, limit));
        assertThat(FdLimit.needed(c.maxConnections(), c.maxCoolingSockets()))
                .as("two descriptors per connection, one per cooling port, and the reserve")
                .isLessThanOrEqualTo(limit);
    }

    @Test
    @DisplayName("an operator's --max-connections above what fits gets one WARN at start naming the option")
    void tooManyConnectionsIsWarnedAbout() throws Exception {
        long limit = FdLimit.processLimit();
        assumeTrue(limit > 0, "a JVM that reports its descriptor limit");
        try (LogCapture log = LogCapture.start()) {
            VlessServer server = VlessServer.builder()
                    .listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                    .plaintext().user(USER).destinations(DestinationFilter.allowingLoopback()).ioThreads(1)
                    .maxConnections((int) Math.min(Integer.MAX_VALUE, limit))
                    .build();
            try {
                server.start().join();
            } finally {
                server.stop().join();
            }
            assertThat(log.linesAtOrAbove("WARN")).hasSize(1);
            assertThat(log.linesAtOrAbove("WARN").get(0)).contains("--max-connections " + limit)
                    .contains("ulimit -n").contains("file descriptors");
            // The startup line (INFO, which the tests' logging hides) gives the limit; the banner test covers it.
        }
    }
}
