// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Notices another client using the suite's user ID: a CRUMFURS of the same user and client IP replaces the harness's
 * own (CRF-3), so that datagrams the case waits for go to someone else and the case would fail rules the target keeps.
 * Checked when a case fails: if the newest CRUMFURS the case opened was closed by the target, a fresh one is opened and
 * watched; closed again without the harness opening another, it was replaced by a stranger.
 */
final class Interference {

    static final String MESSAGE = "interference: another client using the same user ID replaced the suite's"
            + " CRUMFURS (CRF-3); run the suite with a user ID that no running client uses";

    private Interference() {
    }

    /** {@code null}, or the interference message when another client took the case's CRUMFURS. */
    static String check(Harness h) {
        Map<String, CrumfursChannel> newest = new LinkedHashMap<>();
        for (CrumfursChannel c : h.crumfursChannels()) {
            newest.put(c.user + "@" + c.clientAddress, c); // later ones replace earlier ones, as at the server
        }
        for (CrumfursChannel c : newest.values()) {
            try {
                Outcome o = c.await(java.time.Duration.ofMillis(5));
                if (o.kind() != Outcome.Kind.CLOSED && o.kind() != Outcome.Kind.RESET) {
                    continue;
                }
                if (confirm(h.target(), c)) {
                    return MESSAGE;
                }
            } catch (IOException e) {
                // the channel is gone one way or another; only a confirmed replacement counts
            }
        }
        return null;
    }

    private static boolean confirm(VlessTarget target, CrumfursChannel suspect) {
        try (Harness fresh = new Harness(target)) {
            CrumfursChannel c = fresh.crumfursFrom(suspect.clientAddress, Objects.requireNonNull(suspect.user));
            Outcome o = c.await(Preflight.INTERFERENCE_WATCH);
            boolean closed = o.kind() == Outcome.Kind.CLOSED || o.kind() == Outcome.Kind.RESET;
            return closed && !closesCrumfursItself(target, suspect.user);
        } catch (IOException | AssertionError e) {
            return false;
        }
    }

    /**
     * Whether the target closes a CRUMFURS that nobody replaces: one opened from a fresh loopback client IP, a context
     * no other client can share. Then a closed CRUMFURS is the target's doing (CRF-2), not another client's. Only a
     * target on loopback can be reached from such an address; elsewhere {@code false}.
     */
    static boolean closesCrumfursItself(VlessTarget target, java.util.UUID user) {
        if (!target.has(Capability.LOOPBACK_TARGET)) {
            return false;
        }
        try (Harness control = new Harness(target)) {
            CrumfursChannel c = control.crumfursFrom(Harness.freshLoopbackClient(), user);
            Outcome o = c.await(Preflight.INTERFERENCE_WATCH);
            return o.kind() == Outcome.Kind.CLOSED || o.kind() == Outcome.Kind.RESET;
        } catch (IOException | AssertionError e) {
            return false;
        }
    }
}
