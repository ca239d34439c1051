// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.reliability;

import static dev.vless.server.testing.TestClient.ascii;
import static dev.vless.server.testing.TestClient.v0;
import static dev.vless.server.testing.TestClient.v1;
import static dev.vless.server.testing.VlessServerExtension.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.codec.VlessCommand;
import dev.vless.server.internal.FdLimit;
import dev.vless.server.testing.LogCapture;
import dev.vless.server.testing.Loopback;
import dev.vless.server.testing.TestClient;
import dev.vless.server.testing.UdpPeer;
import dev.vless.server.testing.VlessServerExtension;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A UDP socket that cannot be created or bound refuses that one request, counted and logged, never an exception. */
class SocketFailureTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension().runForEachTest();

    /** 192.0.2.1 (TEST-NET-1) is on no interface here, so binding it fails as a real bind does. */
    @RegisterExtension
    static final VlessServerExtension unbindable = new VlessServerExtension(b -> {
        try {
            b.outboundAddress(InetAddress.getByName("192.0.2.1"));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }).runForEachTest();

    @Test
    @DisplayName("a UDP socket that cannot bind: v0 and v1 requests are closed without a byte, counted, one INFO line")
    void bindFailureIsACountedRefusal() throws Exception {
        try (LogCapture log = LogCapture.start();
             UdpPeer target = UdpPeer.bind("127.0.0.2")) {
            try (TestClient c = unbindable.open(v0(USER, VlessCommand.UDP, target.address()),
                    TestClient.frame(ascii("a")))) {
                c.assertNoByteAndClosedWithin(Duration.ofSeconds(2));
            }
            try (TestClient c = unbindable.open(v1(USER, VlessCommand.UDP, target.address()),
                    TestClient.frame(ascii("b")))) {
                c.assertNoByteAndClosedWithin(Duration.ofSeconds(2));
            }
            assertThat(unbindable.stats().refusedNoSocket()).isEqualTo(2);
            assertThat(log.linesContaining("cannot open a v0 UDP socket for client 127.0.0.1")).hasSize(1);
            assertThat(log.linesAtOrAbove("WARN")).isEmpty();
            assertThat(log.lines()).noneMatch(l -> l.startsWith("\tat ") || l.contains("NullPointerException")
                    || l.contains("ClassCastException"));
            target.assertNothingReceived(Duration.ofMillis(50));
        }
    }

    @Test
    @DisplayName("out of file descriptors: a v0 UDP request is a counted refusal naming the limit; service resumes")
    void noFreeDescriptorIsACountedRefusal() throws Exception {
        assumeTrue(FdLimit.processLimit() > 0 && FdLimit.processLimit() <= 100_000,
                "a descriptor limit this test can exhaust in a moment");
        try (LogCapture log = LogCapture.start();
             UdpPeer target = UdpPeer.bind("127.0.0.2").echoing();
             TestClient c = server.connect()) {
            // Classes load from target/classes, a directory: a class first needed while no descriptor is free could
            // not be read. One served request and one wait beforehand load what the server and this test need.
            try (TestClient warm = server.open(v0(USER, VlessCommand.UDP, target.address()),
                    TestClient.frame(ascii("warm")))) {
                warm.expectV0ResponseHeader();
                assertThat(warm.readFrame()).isEqualTo(ascii("warm"));
            }
            Loopback.await("nothing", 100, () -> server.stats().refusedNoSocket() == 0);
            List<DatagramChannel> filler = new ArrayList<>();
            try {
                // Take every free descriptor of this JVM (server and test share it), then ask for a socket.
                while (true) {
                    try {
                        filler.add(DatagramChannel.open());
                    } catch (IOException e) {
                        assertThat(FdLimit.isExhaustion(e)).as(e.toString()).isTrue();
                        break;
                    }
                }
                c.sendHeader(v0(USER, VlessCommand.UDP, target.address()), TestClient.frame(ascii("no fd")));
                Loopback.await("the refusal counted", 5000, () -> server.stats().refusedNoSocket() == 1);
            } finally {
                for (DatagramChannel d : filler) {
                    d.close();
                }
            }
            c.assertNoByteAndClosedWithin(Duration.ofSeconds(5));
            log.awaitLine("cannot open a v0 UDP socket for client 127.0.0.1", 2000);
            assertThat(log.linesContaining("out of file descriptors")).hasSize(1);
            assertThat(log.linesContaining("--max-connections")).isNotEmpty();
            assertThat(log.linesAtOrAbove("WARN")).isEmpty();
            assertThat(log.lines()).noneMatch(l -> l.startsWith("\tat ") || l.contains("NullPointerException")
                    || l.contains("ClassCastException"));
            // Descriptors back: the next request is served.
            try (TestClient ok = server.open(v0(USER, VlessCommand.UDP, target.address()),
                    TestClient.frame(ascii("again")))) {
                ok.expectV0ResponseHeader();
                assertThat(ok.readFrame()).isEqualTo(ascii("again"));
            }
        }
    }
}
