// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.Harness;
import dev.vless.conformance.Outcome;
import dev.vless.conformance.VlessConnection;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * §16 Destinations and §17 TLS: what the suite can observe without knowing the target's policy or claiming to verify
 * its TLS (D14). Every case here measures and reports; none passes or fails.
 */
@ConformanceCases
@Tag("relay")
class DestinationCases {

    /*
     * The suite cannot know which destinations an operator allowed, so DST-1 and DST-2 have no pass/fail case. The
     * one destination every target should think twice about is itself: a request to its own listener is a proxy
     * loop. A refusal closes at once (DST-2); a target that connects to itself holds the connection until its inner
     * half gives up, at its own handshake deadline, since the harness sends nothing through the loop.
     */
    @Test
    @Tag("DST-1")
    @Tag("DST-2")
    @DisplayName("DST-1 · DST-2 · a request to the target's own listener (a proxy loop): refused or not, reported")
    void selfConnect(Harness h) {
        h.informational();
        InetSocketAddress self = h.target().address();
        Duration deadline = h.target().handshakeTimeout();
        String finding;
        try {
            VlessConnection c = h.tcp(self, new byte[0]);
            Outcome o = c.await(h.target().closeAllowance());
            boolean prompt = o.elapsedMs() < deadline.toMillis() / 2;
            switch (o.kind()) {
                case CLOSED:
                case RESET:
                    finding = prompt ? "refused (" + o + ")"
                            : "not refused: connected to itself, closed when the loop gave up (" + o + ")";
                    break;
                case DATA:
                    finding = "not refused: bytes came back through the loop (" + o + ")";
                    break;
                default:
                    finding = "not refused: the loop is still open (" + o + ")";
            }
        } catch (IOException e) {
            finding = "unclear: the connection failed (" + e.getMessage() + ")";
        }
        h.fact("security.self-connect", finding);
    }

    @Test
    @Tag("TLS-1")
    @DisplayName("TLS-1 · whether the harness reached the target through TLS (reported, never verified)")
    void tlsInUse(Harness h) throws IOException {
        h.informational();
        Socket s = h.connect().socket();
        h.fact("tls.used", s instanceof SSLSocket
                ? "yes"
                : "no: plaintext (allowed only behind a TLS terminator or for testing; the suite cannot tell which)");
    }

    @Test
    @Tag("TLS-2")
    @DisplayName("TLS-2 · the TLS protocol version negotiated with the target (reported, never verified)")
    void tlsVersion(Harness h) throws IOException {
        h.informational();
        Socket s = h.connect().socket();
        if (s instanceof SSLSocket tls) {
            h.fact("tls.version", tls.getSession().getProtocol());
            h.fact("tls.cipher-suite", tls.getSession().getCipherSuite());
        } else {
            h.fact("tls.version", "none: plaintext connection");
        }
    }
}
