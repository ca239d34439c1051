// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.client.VlessClient;
import dev.vless.conformance.Report;
import dev.vless.conformance.Selection;
import dev.vless.conformance.Verdict;
import dev.vless.link.ShareLink;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code --socks}: the user starts the client with the link the harness prints, after it printed it. The cases that
 * need a client fresh from start are not applicable, the others run on that one client, and when it goes away the
 * cases after are TARGET_DOWN.
 */
class ExternalClientConformanceTest {

    private static final Pattern LINK = Pattern.compile("Scripted server: (vless://\\S+)");

    @Test
    void aClientStartedByTheUserFromThePrintedLink() throws Exception {
        check(0);
    }

    @Test
    void whenTheUsersClientGoesAwayTheCasesAfterAreTargetDown() throws Exception {
        check(2);
    }

    /** With {@code stopAfter} > 0 the "user" stops the client once that many cases have finished. */
    private static void check(int stopAfter) throws Exception {
        InetSocketAddress socks = ClientRun.freeSocksAddress();
        AtomicReference<VlessClient> started = new AtomicReference<>();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        // The "user": reads the console, and starts the reference client with the link once it is printed.
        PrintStream console = new PrintStream(new OutputStream() {
            private final StringBuilder line = new StringBuilder();

            @Override
            public synchronized void write(int b) {
                all.write(b);
                if (b != '\n') {
                    line.append((char) b);
                    return;
                }
                if (stopAfter > 0 && line.toString().startsWith(String.format("[%3d/", stopAfter))
                        && started.get() != null) {
                    started.get().close();
                }
                Matcher m = LINK.matcher(line);
                if (m.find() && started.get() == null) {
                    VlessClient c = VlessClient.builder().shareLink(ShareLink.parse(m.group(1))).socks(socks).build();
                    c.start().join();
                    started.set(c);
                }
                line.setLength(0);
            }
        }, true, StandardCharsets.UTF_8);
        try {
            ClientOptions o = ClientOptions.defaults(new ExternalClientLauncher(socks, Duration.ofSeconds(20)));
            Report report = ClientConformance.run(o, Selection.parse(stopAfter > 0 ? "header,relay" : "header,crumfurs,delivery,udp,tls"), console, false);
            String out = all.toString(StandardCharsets.UTF_8);
            assertThat(report.unchecked()).as(out).isNull();
            assertThat(started.get()).as("the client was started from the printed link").isNotNull();
            if (stopAfter > 0) {
                // The case that found it gone FAILs with the finding; every case after it is TARGET_DOWN.
                assertThat(report.cases()).as(out).anySatisfy(c -> {
                    assertThat(c.verdict()).isEqualTo(Verdict.FAIL);
                    assertThat(c.message()).startsWith("the client exited during this case");
                });
                assertThat(report.cases()).as(out).anySatisfy(c -> assertThat(c.verdict())
                        .isEqualTo(Verdict.TARGET_DOWN));
                assertThat(report.cases()).as(out).noneSatisfy(c -> assertThat(c.verdict())
                        .isIn(Verdict.ERROR, Verdict.BLOCKED));
                return;
            }
            assertThat(report.cases()).filteredOn(c -> c.rules().contains("CRF-5")).singleElement()
                    .satisfies(c -> {
                        assertThat(c.verdict()).isEqualTo(Verdict.NOT_APPLICABLE);
                        assertThat(c.message()).contains("fresh");
                    });
            assertThat(report.cases()).filteredOn(c -> c.rules().contains("HDR-9")).singleElement()
                    .satisfies(c -> assertThat(c.verdict()).as(out).isEqualTo(Verdict.PASS));
            assertThat(report.cases()).filteredOn(c -> c.displayName().startsWith("CLI-2 · a datagram"))
                    .singleElement().satisfies(c -> assertThat(c.verdict()).as(out).isEqualTo(Verdict.PASS));
            assertThat(report.cases()).as(out).noneSatisfy(c -> assertThat(c.verdict())
                    .isIn(Verdict.FAIL, Verdict.ERROR, Verdict.BLOCKED, Verdict.WARN));
        } finally {
            if (started.get() != null) {
                started.get().close();
            }
        }
    }
}
