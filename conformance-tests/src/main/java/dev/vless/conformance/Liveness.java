// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Watches whether the target still serves valid requests, between cases: a TCP request through it to a harness echo
 * peer. When it stops, the case that was running is named, and either the target is restarted with the user's
 * {@code --restart-cmd} or every later case is TARGET_DOWN rather than a string of errors blamed on their rules.
 */
final class Liveness {

    /** How long a restarted target may take to serve again. */
    private static final long RESTART_WAIT_MS = 30_000;
    /** How long the restart command itself may run. */
    private static final long RESTART_COMMAND_MS = 60_000;

    private final VlessTarget target;
    private final String restartCommand;
    private final RunEvents events;
    private volatile String down;
    private int restarts;
    /** How often the target was found to have stopped serving: a case compares it before and after itself. */
    private int deaths;
    /** Cases running now; and every case that ran since the last probe that found the target serving. */
    private final java.util.Set<String> running = new java.util.LinkedHashSet<>();
    private final java.util.Set<String> sinceGoodProbe = new java.util.LinkedHashSet<>();

    /**
     * The finding for the case after which the target was found not serving.
     *
     * @param finding   what the report says, starting with {@link RootCauses#DIED}
     * @param alongside other cases that ran since the target last served (cases run side by side): any of them may
     *                  have stopped it, so none can be blamed
     */
    record Death(String finding, java.util.List<String> alongside) {
    }

    Liveness(VlessTarget target, String restartCommand, RunEvents events) {
        this.target = target;
        this.restartCommand = restartCommand;
        this.events = events;
    }

    /** Why later cases cannot run (the target is down and was not brought back), or {@code null}. */
    String down() {
        return down;
    }

    /** A case begins. */
    synchronized void started(String caseName) {
        running.add(caseName);
        sinceGoodProbe.add(caseName);
    }

    /** How often the target has been found not serving so far. */
    synchronized int deaths() {
        return deaths;
    }

    /** How often the target was restarted. */
    int restarts() {
        return restarts;
    }

    /** {@code null} when a valid TCP request through the target is served now, else what happened instead. */
    String probe() {
        byte[] hello = "liveness probe: a valid request through the target".getBytes(StandardCharsets.US_ASCII);
        try (Harness h = new Harness(target)) {
            TcpPeer echo = h.tcpEcho();
            // The payload in a write of its own, and the answer taken if it holds the payload: the probe asks only
            // "does it still serve", not "does it keep HDR-11 and RSP-1", which are cases' questions.
            Outcome o = Preflight.echoThrough(h, echo, hello);
            if (o.kind() == Outcome.Kind.DATA) {
                return Preflight.contains(o.bytes(), hello) ? null : "a valid request got other bytes back";
            }
            if (o.kind() == Outcome.Kind.STILL_OPEN) {
                throw new SocketTimeoutException("no answer within " + target.ioTimeout().toMillis() + " ms");
            }
            throw new EOFException(o.toString());
        } catch (ConnectException e) {
            return "connection refused at " + target.address();
        } catch (SocketTimeoutException e) {
            return "a valid request was not answered within " + target.ioTimeout().toMillis() + " ms";
        } catch (EOFException e) {
            return "a valid request was closed without an answer";
        } catch (javax.net.ssl.SSLException e) {
            return "the TLS handshake failed: " + e.getMessage();
        } catch (IOException e) {
            return "a valid request failed: " + e.getMessage();
        }
    }

    /**
     * Probes after a case. When the target no longer serves, records which case it died in, then restarts it if a
     * command was given.
     *
     * @return {@code null} while the target serves, else the finding for the case that was running
     */
    synchronized Death afterCase(String caseName) {
        running.remove(caseName);
        if (down != null) {
            return null;
        }
        String failure = probe();
        if (failure != null) {
            // Once more after a pause: a server still tearing down the case's connections may be slow once.
            sleep(300);
            failure = probe();
        }
        if (failure == null) {
            sinceGoodProbe.clear();
            sinceGoodProbe.addAll(running);
            return null;
        }
        deaths++;
        java.util.List<String> alongside = sinceGoodProbe.stream().filter(n -> !n.equals(caseName)).toList();
        sinceGoodProbe.clear();
        sinceGoodProbe.addAll(running);
        String finding = RootCauses.DIED + " (" + failure + ")" + (alongside.isEmpty() ? ""
                : " — or during one that ran beside it: «" + String.join("», «", alongside) + "»; which of them"
                + " stopped it cannot be told, so none is blamed: rerun them one at a time with --select");
        events.add("the target stopped serving during «" + caseName + "»" + (alongside.isEmpty() ? ""
                : " or a case beside it") + ": " + failure);
        if (restartCommand == null) {
            down = "the target stopped serving during «" + caseName + "» (" + failure + ") and no --restart-cmd"
                    + " was given";
            return new Death(finding, alongside);
        }
        String restartFailure = restart();
        if (restartFailure == null) {
            restarts++;
            events.add("restarted the target with --restart-cmd (restart " + restarts + ")");
        } else {
            down = "the target stopped serving during «" + caseName + "» and --restart-cmd did not bring it back: "
                    + restartFailure;
            events.add(down);
        }
        return new Death(finding, alongside);
    }

    /**
     * The pre-flight failed on a target that had served its first request: when it no longer serves at all, it died
     * during the pre-flight, which is no misconfiguration. With a restart command it is restarted and the run goes
     * on (the cases will meet the crash again, each by name).
     *
     * @return {@code null} when the run can go on, else why the target cannot be checked
     */
    synchronized String afterFailedPreflight(String cause) {
        String failure = probe();
        if (failure == null) {
            return cause; // still serving: the pre-flight's finding stands
        }
        events.add("the target stopped serving during the pre-flight (" + cause + "): " + failure);
        if (restartCommand == null) {
            return "the target stopped serving during the pre-flight (" + cause + "; then " + failure + "): it may"
                    + " have crashed; give --restart-cmd so that the suite restarts it and names the case of each crash";
        }
        String restartFailure = restart();
        if (restartFailure != null) {
            return "the target stopped serving during the pre-flight, and --restart-cmd did not bring it back: "
                    + restartFailure;
        }
        restarts++;
        events.add("restarted the target with --restart-cmd (restart " + restarts + ")");
        return null;
    }

    /** Runs the restart command and waits for the target to serve; {@code null} on success, else why not. */
    private String restart() {
        try {
            Process p = new ProcessBuilder("sh", "-c", restartCommand).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(RESTART_COMMAND_MS, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return "the command ran longer than " + RESTART_COMMAND_MS / 1000 + " s";
            }
            if (p.exitValue() != 0) {
                return "the command exited with status " + p.exitValue();
            }
        } catch (IOException e) {
            return "the command could not be started: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RESTART_WAIT_MS);
        String last = "not tried";
        while (System.nanoTime() < deadline) {
            if (portOpen(target.address())) {
                last = probe();
                if (last == null) {
                    return null;
                }
            } else {
                last = "nothing listens at " + target.address();
            }
            sleep(200);
        }
        return "it did not serve within " + RESTART_WAIT_MS / 1000 + " s of the command (" + last + ")";
    }

    private static boolean portOpen(InetSocketAddress address) {
        try (Socket s = new Socket()) {
            s.connect(address, 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
