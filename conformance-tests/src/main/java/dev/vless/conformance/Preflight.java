// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.spec.Profile;
import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import javax.net.ssl.SSLException;

/**
 * Checks, before any case, that the target serves the requests every case builds on: a TCP request through it to a
 * harness peer, a UDP round trip through a command-2 connection, and (v1) the CRUMFURS answer, each with the peers the
 * cases use. A target that fails here cannot be checked, and ~40 failing rules would only hide the one thing that is
 * wrong: the run stops (exit 3) with one line naming the likely causes, from what was observed.
 */
final class Preflight {

    /** How long another client of the same user has to show itself by replacing the harness's CRUMFURS (CRF-3). */
    static final Duration INTERFERENCE_WATCH = Duration.ofMillis(1500);

    private Preflight() {
    }

    /** {@code null} when the target serves what the cases need, else the likely causes in one line. */
    static String check(VlessTarget t, PrintStream console) {
        if (console != null) {
            console.println("Pre-flight: a TCP request, a UDP round trip" + (t.profile() == Profile.V1
                    ? " and a CRUMFURS" : "") + " through " + t.address() + "…");
        }
        try (Harness h = new Harness(t)) {
            // 1. Reach it at all, and TCP through it.
            Outcome tcp;
            TcpPeer echo = h.tcpEcho();
            byte[] hello = "pre-flight: TCP through the target".getBytes(StandardCharsets.US_ASCII);
            try {
                VlessConnection c = h.tcp(echo.address(), hello);
                tcp = c.await(t.ioTimeout());
                // v0 answers with its response header (00 00) before the relayed bytes (RSP-2).
                int expected = (t.profile() == Profile.V0 ? 2 : 0) + hello.length;
                if (tcp.kind() == Outcome.Kind.DATA && tcp.bytes().length < expected) {
                    byte[] all = tcp.bytes();
                    try {
                        all = VlessConnection.concat(all, c.readExactly(expected - all.length));
                    } catch (IOException e) {
                        // judged below on what did arrive
                    }
                    tcp = new Outcome(Outcome.Kind.DATA, all, tcp.elapsedMs());
                }
            } catch (TargetUnreachableException e) {
                return unreachable(t, e);
            }
            boolean tcpOk = tcp.kind() == Outcome.Kind.DATA && Arrays.equals(relayed(t, tcp.bytes()), hello);
            if (tcp.kind() == Outcome.Kind.DATA && !tcpOk) {
                byte[] b = tcp.bytes();
                if (!t.tls() && b.length >= 2 && b[0] == 0x15 && b[1] == 0x03) {
                    return "the target answered a plaintext request with a TLS alert: it speaks TLS, so the link needs"
                            + " security=tls (and sni=/pcs= or --insecure)";
                }
                return "a TCP request through the target to the harness's peer " + echo.address() + " got other bytes"
                        + " back (" + WireLog.hex(b) + "): is this a VLESS server, and is the profile right (--profile"
                        + " v1|v0)?";
            }

            // 2. v1: CRUMFURS needs no destination, so it tells a wrong user ID from a refused peer address.
            Boolean crumfursOk = null;
            CrumfursChannel crumfurs = null;
            if (t.profile() == Profile.V1) {
                try {
                    crumfurs = h.crumfurs();
                    crumfursOk = true;
                } catch (AssertionError | IOException e) {
                    crumfursOk = false;
                }
            }
            if (!tcpOk && !Boolean.TRUE.equals(crumfursOk) && !t.tls() && TargetSockets.answersTls(t)) {
                return "the target speaks TLS, but the link says security=none: use security=tls in the link (with"
                        + " sni= and pcs=, or --insecure)";
            }
            if (!tcpOk) {
                String what = "a valid TCP request to the harness's peer " + echo.address() + " was " + describe(tcp);
                if (Boolean.TRUE.equals(crumfursOk)) {
                    return what + ", but CRUMFURS was answered: the user ID is right and the target refuses the peer"
                            + " address (its destination policy; start the reference server with --allow-loopback, or"
                            + " give --peers addresses the target may reach)";
                }
                if (Boolean.FALSE.equals(crumfursOk)) {
                    return what + ", and CRUMFURS was not answered either: the user ID in the link is probably not one"
                            + " of the target's users (or the target is not a VLESS v1 server: try --profile v0)";
                }
                return what + ": the user ID in the link is probably wrong, or the target refuses the peer address"
                        + " (start the reference server with --allow-loopback, or give --peers addresses it may reach)";
            }
            if (Boolean.FALSE.equals(crumfursOk)) {
                return "TCP through the target works but CRUMFURS (command 4) is not answered with 0x14: the target"
                        + " is probably a v0-only server (try --profile v0)";
            }

            // 3. UDP through a command-2 connection.
            UdpPeer peer = h.udpPeer(0).echo();
            UdpConnection udp = h.udp(peer.address());
            byte[] ping = "pre-flight: UDP through the target".getBytes(StandardCharsets.US_ASCII);
            udp.send(ping);
            byte[] back;
            try {
                back = udp.receive();
            } catch (EOFException e) {
                back = null;
            }
            if (back == null || !Arrays.equals(back, ping)) {
                UdpPeer.Datagram arrived = peer.receive(Duration.ZERO);
                return "TCP through the target works but a UDP round trip (command 2) to the harness's peer "
                        + peer.address() + " does not: " + (arrived == null && peer.pending() == 0 && back == null
                        ? "nothing reached the peer" : back == null ? "the reply never came back as a frame"
                        : "a wrong frame came back") + "; the target may not relay UDP, or may refuse UDP to this"
                        + " address";
            }

            // 4. Another client of the same user would replace the harness's CRUMFURS (CRF-3) throughout the run.
            if (crumfurs != null) {
                Outcome o = crumfurs.await(INTERFERENCE_WATCH);
                if (o.kind() == Outcome.Kind.CLOSED || o.kind() == Outcome.Kind.RESET) {
                    return Interference.MESSAGE + " (the harness's CRUMFURS was " + o + " during the pre-flight)";
                }
            }
            return null;
        } catch (IOException | InterruptedException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return "the pre-flight could not complete: " + e.getMessage();
        }
    }

    /** The relayed bytes of a TCP answer: after the v0 response header where the profile has one. */
    static byte[] relayed(VlessTarget t, byte[] answer) {
        if (t.profile() == Profile.V0 && answer.length >= 2 && answer[0] == 0) {
            int from = Math.min(answer.length, 2 + (answer[1] & 0xff));
            return Arrays.copyOfRange(answer, from, answer.length);
        }
        return answer;
    }

    private static String unreachable(VlessTarget t, TargetUnreachableException e) {
        Throwable cause = e.getCause();
        if (cause instanceof ConnectException) {
            return "nothing accepts connections at " + t.address() + " (" + cause.getMessage() + "): is the server"
                    + " running, and are the link's host and port right?";
        }
        if (cause instanceof SocketTimeoutException && !(cause.getMessage() != null
                && cause.getMessage().contains("Read"))) {
            return t.address() + " did not answer a TCP connect within " + t.ioTimeout().toMillis() + " ms: check"
                    + " the address and any firewall";
        }
        if (t.tls() && (cause instanceof SSLException || cause instanceof EOFException
                || cause instanceof SocketTimeoutException || cause instanceof java.net.SocketException)) {
            return "the TLS handshake with " + t.address() + " failed (" + cause.getMessage() + "): if the server is"
                    + " plaintext, use security=none in the link; if it speaks TLS, check its certificate against"
                    + " pcs=, sni=, --ca or --insecure";
        }
        return e.getMessage();
    }

    private static String describe(Outcome o) {
        return switch (o.kind()) {
            case CLOSED -> "closed without a byte after " + o.elapsedMs() + " ms";
            case RESET -> "reset without a byte after " + o.elapsedMs() + " ms";
            case STILL_OPEN -> "not answered within " + o.elapsedMs() + " ms";
            case DATA -> "answered with " + WireLog.hex(o.bytes());
        };
    }
}
