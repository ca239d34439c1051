// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.cases;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.PreconditionFailed;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.conformance.client.ClientHarness;
import dev.vless.conformance.client.ScriptedServer;
import dev.vless.conformance.client.ServerConnection;
import dev.vless.conformance.client.ServerScript;
import dev.vless.conformance.client.SocksApplication;
import dev.vless.spec.SpecRule;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;

/**
 * Shared steps of the cases about the per-remote UDP path (CRUMFURS and command 2). The server refuses UDP-MUX
 * (closes command 5 without a byte, as a server without the mode does), so that a client that prefers the mode
 * falls back (MUX-5) and is checked on this path too.
 */
final class PerRemote {

    private PerRemote() {
    }

    /** Makes the server refuse UDP-MUX: the client's per-remote path is what the case checks. */
    static void refuseMux(ClientHarness h) {
        h.script().mux(ServerScript.Answer.CLOSE, Duration.ZERO);
    }

    /**
     * An application that has sent one datagram to the echo {@code peer} and got it back, and the CRUMFURS the client opened
     * for it (answered 0x14). Setup failures name the rule they belong to: the CRUMFURS (CRF-5) or the relay (UDP-1).
     */
    static Established establish(ClientHarness h, UdpPeer peer) throws IOException, InterruptedException {
        refuseMux(h);
        SocksApplication.Udp app = h.udp();
        app.send(peer.address(), "hello".getBytes());
        ServerConnection crumfurs = h.server().await(c -> c.is(VlessCommand.CRUMFURS) && c.answeredNanos() != 0,
                h.ioTimeout().plusSeconds(1));
        if (crumfurs == null && !h.freshClients() && h.server().await(c -> c.is(VlessCommand.UDP_MUX) && !c.ended(),
                java.time.Duration.ZERO) != null) {
            throw new org.opentest4j.TestAbortedException(dev.vless.conformance.ConformanceExtension.NOT_APPLICABLE
                    + "the client carries UDP over UDP-MUX, and the harness cannot restart it to see its per-remote"
                    + " path (give --client-cmd)");
        }
        if (crumfurs == null) {
            throw new PreconditionFailed(SpecRule.CRF_5, "CRF-5: the client opened no CRUMFURS (answered 0x14) within "
                    + (h.ioTimeout().toMillis() + 1000) + " ms of the application's first datagram; connections seen: "
                    + h.server().connections());
        }
        UdpPeer.Datagram d = peer.receive(h.ioTimeout());
        if (d == null) {
            throw new PreconditionFailed(SpecRule.UDP_1, "UDP-1: the application's datagram to " + peer.address()
                    + " did not arrive within " + h.ioTimeout().toMillis() + " ms; connections seen: "
                    + h.server().connections());
        }
        // The echo of that datagram, so that what the case reads next is what it sends itself.
        SocksApplication.Udp.Received echo = app.receive(h.ioTimeout());
        if (echo == null) {
            throw new PreconditionFailed(SpecRule.UDP_1, "UDP-1: the echo of the application's first datagram, sent"
                    + " back by " + peer.address() + ", did not reach the application within "
                    + h.ioTimeout().toMillis() + " ms");
        }
        return new Established(app, crumfurs);
    }

    /** An application with a UDP path in place, and the CRUMFURS the server writes UMFURS on. */
    record Established(SocksApplication.Udp app, ServerConnection crumfurs) {
    }

    /** The next datagram the application gets within the I/O timeout, or {@code null}. */
    static SocksApplication.Udp.Received next(ClientHarness h, SocksApplication.Udp app) throws IOException {
        return app.receive(h.ioTimeout());
    }

    /** Fails {@code rule} unless {@code r} is {@code payload} labelled {@code source}. */
    static void expectDatagram(String rule, String what, SocksApplication.Udp.Received r, InetSocketAddress source,
            byte[] payload) {
        if (r == null) {
            throw new AssertionError(rule + ": " + what + ": the application received nothing");
        }
        if (!Arrays.equals(r.payload(), payload)) {
            throw new AssertionError(rule + ": " + what + ": the application received " + r.payload().length + " B "
                    + WireLog.hex(r.payload()) + " instead of " + payload.length + " B " + WireLog.hex(payload));
        }
        if (!Waits.labelled(r, source)) {
            throw new AssertionError(rule + ": " + what + ": the application got it labelled " + r.sourceName() + ":"
                    + r.source().getPort() + " instead of its source " + source.getAddress().getHostAddress() + ":"
                    + source.getPort());
        }
    }

    /** {@code n} bytes of a recognisable pattern. */
    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }
}
