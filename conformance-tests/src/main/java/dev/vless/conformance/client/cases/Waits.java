// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.cases;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.Expect;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.client.ClientHarness;
import dev.vless.conformance.client.ServerConnection;
import dev.vless.conformance.client.SocksApplication;
import dev.vless.spec.SpecRule;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/** Waiting for what the client under test should deliver, shared by the client case classes. */
final class Waits {

    private Waits() {
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** The datagram with exactly {@code payload} at {@code peer} within {@code timeout}, or {@code null}. */
    static UdpPeer.Datagram atPeer(UdpPeer peer, byte[] payload, Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = until - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            UdpPeer.Datagram d = peer.receive(Duration.ofNanos(left));
            if (d != null && Arrays.equals(d.payload(), payload)) {
                return d;
            }
        }
    }

    /** The datagram with exactly {@code payload} at the application within {@code timeout}, or {@code null}. */
    static SocksApplication.Udp.Received atApp(SocksApplication.Udp app, byte[] payload, Duration timeout)
            throws IOException {
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = until - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            SocksApplication.Udp.Received r = app.receive(Duration.ofNanos(left));
            if (r != null && Arrays.equals(r.payload(), payload)) {
                return r;
            }
        }
    }

    /** Whether the application labelled {@code r} with exactly {@code source} (address and port). */
    static boolean labelled(SocksApplication.Udp.Received r, InetSocketAddress source) {
        return r.source().getPort() == source.getPort() && r.source().getAddress().equals(source.getAddress());
    }

    static String label(SocksApplication.Udp.Received r) {
        return r.sourceName() + ":" + r.source().getPort();
    }

    static String addr(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    /**
     * The client's first UDP request after the application sent a datagram, if it is UDP-MUX; otherwise the case does
     * not apply. A client that sends no UDP request at all blocks the case by CLI-4 (it must carry the datagram).
     */
    static ServerConnection requireMux(ClientHarness h) throws InterruptedException {
        ServerConnection first = h.firstUdpRequest(SpecRule.byId("CLI-4").orElseThrow());
        if (!first.is(VlessCommand.UDP_MUX)) {
            throw Expect.notRun("the client did not ask for UDP-MUX (its first UDP request was "
                    + (first.is(VlessCommand.CRUMFURS) ? "CRUMFURS" : "command 2") + ")");
        }
        return first;
    }

    /** Waits until the server has answered {@code c} (0x14 or 0x15 written); false after {@code timeout}. */
    static boolean answered(ClientHarness h, ServerConnection c, Duration timeout) throws InterruptedException {
        return h.server().await(x -> x == c && x.answeredNanos() != 0, timeout) != null;
    }
}
