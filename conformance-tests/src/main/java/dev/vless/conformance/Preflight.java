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

    /**
     * {@code null} when the target serves what the cases need, else the likely causes in one line. The run stops only
     * for what a case could never judge: nothing listening, a TLS mismatch, a wrong user ID, peers the target refuses or
     * cannot reach, another client of the same user. Anything else the pre-flight sees wrong is a finding for the cases
     * (a response header on v1, a missing 0x14, a reply that comes as a UMFURS): it goes to {@code events} and the run
     * goes on, so that the rule broken gets its FAIL with evidence instead of the whole target going unchecked.
     */
    static String check(VlessTarget t, PrintStream console, RunEvents events) {
        if (console != null) {
            console.println("Pre-flight: a TCP request, a UDP round trip" + (t.profile() == Profile.V1
                    ? " and a CRUMFURS" : "") + " through " + t.address() + "…");
        }
        try (Harness h = new Harness(t)) {
            // 1. Reach it at all, and TCP through it. The payload goes in a write of its own: a server that loses
            // bytes sent with the header (HDR-11) is a case's finding, not a reason to check nothing.
            Outcome tcp;
            TcpPeer echo = h.tcpEcho();
            byte[] hello = "pre-flight: TCP through the target".getBytes(StandardCharsets.US_ASCII);
            try {
                tcp = echoThrough(h, echo, hello);
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
                if (!contains(b, hello)) {
                    return "a TCP request through the target to the harness's peer " + echo.address() + " got other"
                            + " bytes back (" + WireLog.hex(b) + "): is this a VLESS server, and is the profile right"
                            + " (--profile v1|v0)?";
                }
                // Relayed, with bytes around it (a response header on v1, say): RSP-1's and RSP-2's cases judge that.
                events.add("pre-flight: a TCP request was relayed, but the answer was " + WireLog.hex(b) + " where "
                        + WireLog.hex(hello) + " alone was expected; the cases judge it");
                tcpOk = true;
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
            if (!tcpOk && echo.accepted(Duration.ZERO) != null) {
                // The target reached the peer, so neither the user ID nor the destination policy is in the way.
                return "a valid TCP request reached the harness's peer " + echo.address() + ", but the payload was not"
                        + " relayed (" + describe(tcp) + "): the suite needs a working TCP relay for every case and"
                        + " its checks between cases (TCP-1, HDR-11)";
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
                if (tcp.kind() == Outcome.Kind.DATA && tcp.bytes().length >= 2 && tcp.bytes()[0] == 0
                        && tcp.bytes()[1] == 0) {
                    return "TCP through the target works, answered with a v0 response header (00 00), and CRUMFURS"
                            + " (command 4) is not answered with 0x14: the target is probably a v0-only server (try"
                            + " --profile v0)";
                }
                // A v1 answer to a v1 request: the server speaks v1, so a missing 0x14 is CRF-1's to judge.
                events.add("pre-flight: TCP through the target works as v1, but a CRUMFURS request was not answered"
                        + " with 0x14; the CRUMFURS cases judge it");
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
                boolean nothing = arrived == null && peer.pending() == 0 && back == null;
                String what = "a UDP round trip (command 2) to the harness's peer " + peer.address() + " did not"
                        + " complete: " + (nothing ? "nothing reached the peer" : back == null
                        ? "the reply never came back as a frame" : "a wrong frame came back");
                // Nothing at all can be a network in the way of a remote target (the cases could not tell that from
                // a fault); on this machine's loopback, where TCP to the same peer address just worked, it cannot.
                if (nothing && !t.has(Capability.LOOPBACK_TARGET)) {
                    return "TCP through the target works but " + what + "; the target may not relay UDP, may refuse"
                            + " UDP to this address, or a firewall may drop UDP between it and --peers";
                }
                events.add("pre-flight: " + what + "; the UDP cases judge it");
            }

            // 4. Another client of the same user would replace the harness's CRUMFURS (CRF-3) throughout the run.
            if (crumfurs != null) {
                Outcome o = crumfurs.await(INTERFERENCE_WATCH);
                if (o.kind() == Outcome.Kind.CLOSED || o.kind() == Outcome.Kind.RESET) {
                    if (Interference.closesCrumfursItself(t, t.user())) {
                        events.add("pre-flight: the target closed the harness's CRUMFURS (" + o + "), and one in a"
                                + " context no other client uses too: the target's doing, CRF-2's cases judge it");
                    } else {
                        return Interference.MESSAGE + " (the harness's CRUMFURS was " + o + " during the pre-flight)";
                    }
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

    /**
     * Reads the answer to {@code hello} sent through {@code c}: until it holds {@code hello} (or as many bytes and
     * a few more, for a server that adds some), the connection ends, or {@code timeout} passes.
     */
    private static Outcome awaitEcho(VlessConnection c, byte[] hello, Duration timeout) throws IOException {
        Outcome first = c.await(timeout);
        if (first.kind() != Outcome.Kind.DATA) {
            return first;
        }
        byte[] all = first.bytes();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!contains(all, hello) && all.length < hello.length + 64 && System.nanoTime() < deadline) {
            Outcome more = c.await(Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime())));
            if (more.kind() != Outcome.Kind.DATA) {
                break;
            }
            all = VlessConnection.concat(all, more.bytes());
        }
        return new Outcome(Outcome.Kind.DATA, all, first.elapsedMs());
    }

    /**
     * A valid command-1 request through the target to {@code echo}, {@code hello} written apart from the header, and
     * what came back: the probe the pre-flight and the liveness check share.
     */
    static Outcome echoThrough(Harness h, TcpPeer echo, byte[] hello) throws IOException {
        VlessConnection c = h.tcp(echo.address(), new byte[0]);
        writeApart(c, hello);
        return awaitEcho(c, hello, h.target().ioTimeout());
    }

    /**
     * Writes {@code payload} a moment after the header went, so that it arrives apart from it: the probes ask whether
     * the target serves, and a target that loses what comes in the header's read (HDR-11) is a case's finding.
     */
    private static void writeApart(VlessConnection c, byte[] payload) throws IOException {
        try {
            Thread.sleep(APART_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        c.write(payload);
    }

    private static final long APART_MS = 50;

    static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
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
