// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.cases;

import static dev.vless.conformance.client.cases.Waits.addr;
import static dev.vless.conformance.client.cases.Waits.atApp;
import static dev.vless.conformance.client.cases.Waits.bytes;
import static dev.vless.conformance.client.cases.Waits.label;
import static dev.vless.conformance.client.cases.Waits.labelled;

import dev.vless.conformance.Expect;
import dev.vless.conformance.client.ClientCases;
import dev.vless.conformance.client.ClientHarness;
import dev.vless.conformance.client.RunningClient;
import dev.vless.conformance.client.SocksApplication;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Hole punching through the scripted server's full cone (A.7), between two clients of the harness: the punches
 * arrive as UMFURS (or MUX frames) while the receiving client opens its own connection to the sender (DLV-4), later
 * rounds on that connection. DLV-4's own case, with the server choosing CRUMFURS, is in the delivery group.
 */
@ClientCases
@Tag("full-cone")
public class ClientFullConeCases {

    static final String CLI_2 = "CLI-2: a client hands a datagram received as UMFURS (or a MUX frame) to the"
            + " application labelled with its source";

    private static final int ROUNDS = 3;
    private static final Duration PUNCH_EVERY = Duration.ofMillis(300);

    @Test
    @Tag("CLI-2")
    @Tag("DLV-4")
    @DisplayName("CLI-2 · DLV-4 · hole punching between two clients: each application gets the other's datagrams"
            + " labelled with the other's external address, both ways, " + ROUNDS + " rounds")
    public void holePunch(ClientHarness h) throws Exception {
        SocksApplication.Udp appA = h.udp();
        RunningClient b = h.secondClient();
        SocksApplication.Udp appB = h.track(h.app(b).associate());
        InetSocketAddress extA = h.server().externalAddress(h.user());
        InetSocketAddress extB = h.server().externalAddress(h.secondUser());
        // The punch: both send until each has heard the other once (the first datagrams may find the other
        // client's CRUMFURS or MUX connection not yet open, and are lost as on a real NAT).
        long until = System.nanoTime() + h.ioTimeout().multipliedBy(2).toNanos();
        boolean gotA = false;
        boolean gotB = false;
        byte[] punchA = bytes("CLI-2: punch from A");
        byte[] punchB = bytes("CLI-2: punch from B");
        while ((!gotA || !gotB) && System.nanoTime() < until) {
            if (!gotB) {
                appA.send(extB, punchA);
            }
            if (!gotA) {
                appB.send(extA, punchB);
            }
            gotB |= check(atApp(appB, punchA, PUNCH_EVERY), extA, "B", "A's punch");
            gotA |= check(atApp(appA, punchB, PUNCH_EVERY), extB, "A", "B's punch");
        }
        if (!gotA || !gotB) {
            throw Expect.violation(CLI_2, "each application receives the other's datagrams, sent to its external"
                    + " address (A " + addr(extA) + ", B " + addr(extB) + ")", (gotB ? "" : "B got nothing from A; ")
                    + (gotA ? "" : "A got nothing from B; ") + "within " + h.ioTimeout().multipliedBy(2).toMillis()
                    + " ms of datagrams every " + PUNCH_EVERY.toMillis() + " ms; connections: "
                    + h.server().connections());
        }
        drain(appA);
        drain(appB);
        for (int r = 1; r <= ROUNDS; r++) {
            byte[] ab = bytes("CLI-2: round " + r + " A to B");
            byte[] ba = bytes("CLI-2: round " + r + " B to A");
            appA.send(extB, ab);
            appB.send(extA, ba);
            expect(atApp(appB, ab, h.ioTimeout()), extA, "B", "A's round-" + r + " datagram", h);
            expect(atApp(appA, ba, h.ioTimeout()), extB, "A", "B's round-" + r + " datagram", h);
        }
    }

    /** Whether {@code r} came (a punch may be lost); fails when it came with the wrong label. */
    private static boolean check(SocksApplication.Udp.Received r, InetSocketAddress from, String to, String what) {
        if (r == null) {
            return false;
        }
        if (!labelled(r, from)) {
            throw Expect.violation(CLI_2, what + " handed to " + to + " labelled " + addr(from), "labelled "
                    + label(r));
        }
        return true;
    }

    private static void expect(SocksApplication.Udp.Received r, InetSocketAddress from, String to, String what,
            ClientHarness h) {
        if (r == null) {
            throw Expect.violation(CLI_2, what + " handed to " + to + " (the hole is punched)", "nothing within "
                    + h.ioTimeout().toMillis() + " ms");
        }
        check(r, from, to, what);
    }

    private static void drain(SocksApplication.Udp app) throws Exception {
        while (app.receive(Duration.ofMillis(50)) != null) {
            // repeated punches that arrived late
        }
    }
}
