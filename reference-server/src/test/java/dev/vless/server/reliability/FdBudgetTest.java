// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.reliability;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v0;
import static dev.vless.server.testing.VlessServerExtension.OTHER_USER;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessCommand;
import dev.vless.server.testing.LogCapture;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One user flooding or churning v0 UDP connections reaches its own socket budget and cooling cap, and another user's
 * requests are served as fast as before. Small limits (4 sockets per context, 2 contexts, 16 cooling ports) so that
 * the budget is reached within a few hundred connections instead of the process's descriptor limit.
 */
class FdBudgetTest {

    private static final int PER_CONTEXT = 4;
    private static final int CONTEXTS = 2;
    /** Headroom over the quiet median a request of the other user may take while the flood runs. */
    private static final long TOLERANCE_MS = 20;

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b
            .maxSocketsPerContext(PER_CONTEXT)
            .maxContextsPerUser(CONTEXTS)
            .maxCoolingSockets(16)).runForEachTest();

    @Test
    @DisplayName("a flood of v0 UDP connections from one user is refused beyond its budget; the other user is unaffected")
    void floodStaysInsideTheBudget() throws Exception {
        try (LogCapture log = LogCapture.start();
             UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing()) {
            long quiet = medianMillis(otherUserRoundTrips(echo.address(), 15));
            List<TestClient> held = new ArrayList<>();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger attempts = new AtomicInteger();
            Thread flooder = new Thread(() -> {
                // As fast as one thread can: connect, send the header and a frame, keep the connection open.
                while (!stop.get() && attempts.get() < 2000) {
                    try {
                        held.add(server.open(v0(USER, VlessCommand.UDP, echo.address()),
                                TestClient.frame(ascii("flood"))));
                        attempts.incrementAndGet();
                    } catch (IOException e) {
                        return; // the test's own descriptors: stop flooding, the assertions below still hold
                    }
                }
            }, "v0-flooder");
            flooder.start();
            try {
                Loopback.await("the budget to be reached", 10_000,
                        () -> server.stats().v0UdpRefusedBudget() >= 100);
                long[] busy = otherUserRoundTrips(echo.address(), 15);
                long busyMedian = medianMillis(busy);
                assertThat(busyMedian).as("other user's median round trip during the flood (quiet: %d ms, all: %s)",
                        quiet, Arrays.toString(busy)).isLessThanOrEqualTo(quiet + TOLERANCE_MS);
            } finally {
                stop.set(true);
                flooder.join(10_000);
            }
            int n = attempts.get();
            Loopback.await("every refused flood connection counted", 5000,
                    () -> server.stats().v0UdpRefusedBudget() == n - PER_CONTEXT);
            assertThat(server.stats().udpRequests()).as("every request got as far as the relay").isGreaterThan(n);
            // One line for the flood, at the default level, naming the option; no warning, no exception.
            assertThat(log.linesContaining("v0 UDP request from client 127.0.0.1 refused")).hasSize(1);
            assertThat(log.linesContaining("--max-sockets-per-context")).isNotEmpty();
            assertThat(log.linesAtOrAbove("WARN")).isEmpty();
            assertThat(log.linesContaining("Exception")).isEmpty();
            for (TestClient c : held) {
                c.close();
            }
        }
    }

    @Test
    @DisplayName("a user opening and closing v0 UDP connections fast keeps few cooling ports; the other user is unaffected")
    void churnStaysInsideTheCoolingCap() throws Exception {
        try (LogCapture log = LogCapture.start();
             UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing()) {
            long quiet = medianMillis(otherUserRoundTrips(echo.address(), 15));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger churned = new AtomicInteger();
            AtomicInteger maxCooling = new AtomicInteger();
            AtomicInteger failures = new AtomicInteger();
            Thread churner = new Thread(() -> {
                while (!stop.get() && churned.get() < 3000) {
                    try (TestClient c = server.open(v0(USER, VlessCommand.UDP, echo.address()),
                            TestClient.frame(ascii("churn")))) {
                        // One datagram each way, then close: a socket is opened and released every time.
                        c.expectV0ResponseHeader();
                        c.readFrame();
                        churned.incrementAndGet();
                    } catch (IOException | AssertionError e) {
                        failures.incrementAndGet(); // a reset from a refused one: churn on
                    }
                    maxCooling.accumulateAndGet((int) server.stats().coolingSockets(), Math::max);
                }
            }, "v0-churner");
            churner.start();
            try {
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (server.stats().coolDownReleasedEarly() < 100 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(server.stats().coolDownReleasedEarly()).as("cooling ports released early; churned %s, "
                        + "failed %s, stats %s", churned, failures, server.stats().format()).isGreaterThanOrEqualTo(100);
                long[] busy = otherUserRoundTrips(echo.address(), 15);
                assertThat(medianMillis(busy)).as("other user's median round trip during the churn (quiet: %d ms, "
                        + "all: %s)", quiet, Arrays.toString(busy)).isLessThanOrEqualTo(quiet + TOLERANCE_MS);
            } finally {
                stop.set(true);
                churner.join(10_000);
            }
            // Nothing of the budget is left held by connections that are gone: the next request is served.
            try (TestClient c = server.open(v0(USER, VlessCommand.UDP, echo.address()),
                    TestClient.frame(ascii("after")))) {
                c.expectV0ResponseHeader();
                assertThat(c.readFrame()).isEqualTo(ascii("after"));
            }
            assertThat(maxCooling.get()).as("cooling ports, sampled during the churn")
                    .isLessThanOrEqualTo(16); // the server-wide cap; each user's share (8) is CoolingCapTest's
            assertThat(log.linesAtOrAbove("WARN")).isEmpty();
            assertThat(log.linesContaining("Exception")).isEmpty();
        }
    }

    /**
     * {@code n} requests of the other user, one after another, each a fresh v0 UDP connection with one datagram out
     * and its echo back; milliseconds each. Any failure (refused, timed out) fails the test.
     */
    private static long[] otherUserRoundTrips(InetSocketAddress echo, int n) throws IOException {
        long[] ms = new long[n];
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            try (TestClient c = TestClient.connect(server.address(), java.net.InetAddress.getByName("127.0.0.5"))) {
                c.sendHeader(v0(OTHER_USER, VlessCommand.UDP, echo), TestClient.frame(ascii("other " + i)));
                c.expectV0ResponseHeader();
                assertThat(c.readFrame()).isEqualTo(ascii("other " + i));
            }
            ms[i] = (System.nanoTime() - start) / 1_000_000;
        }
        return ms;
    }

    private static long medianMillis(long[] ms) {
        long[] sorted = ms.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
