// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.IOException;
import java.time.Duration;

/**
 * Checks that read an event off a connection and fail with the requirement, the allowed outcomes and what happened —
 * the shape every conformance failure message has.
 */
public final class Expect {

    private Expect() {
    }

    /**
     * The target must send no byte and close by the declared handshake deadline plus a second. Only the upper bound:
     * for closes that are not bad input (TCP-2, DST-2), where closing at once is right. Bad input must also be held
     * until the deadline: see {@link #notBeforeDeadline}.
     *
     * @return what happened, for cases that check more (such as the time of closing)
     */
    public static Outcome noByteThenClose(VlessConnection c, String requirement) throws IOException {
        VlessTarget t = c.target;
        Outcome o = c.await(t.closeAllowance());
        if (o.kind() == Outcome.Kind.DATA) {
            throw new AssertionError(requirement + "\n  allowed: no byte, then close within "
                    + t.closeAllowance().toMillis() + " ms\n  actual: " + o);
        }
        if (o.kind() == Outcome.Kind.STILL_OPEN) {
            throw new AssertionError(requirement + "\n  allowed: close within " + t.closeAllowance().toMillis()
                    + " ms (the handshake deadline plus 1 s)\n  actual: " + o);
        }
        return o;
    }

    /**
     * Bad input that was closed must not have been closed before the handshake deadline (ERR-2: the server reads and
     * discards until then), measured against the run's calibrated deadline less
     * {@link DeadlineCalibration#TOLERANCE_MS}. A close at once would tell a prober which check failed. Nothing to check for a target with a fallback (whose
     * timing is the fallback's) or for an outcome other than a close.
     *
     * @param sinceConnectStartMs when the close came, counted from the start of the connect
     * @param requirement         the failure's first lines: the rule to blame, and the kind of input
     */
    public static void notBeforeDeadline(Harness h, Outcome o, long sinceConnectStartMs, String requirement) {
        if (h.target().fallback() || (o.kind() != Outcome.Kind.CLOSED && o.kind() != Outcome.Kind.RESET)) {
            return;
        }
        DeadlineCalibration d = h.deadlineCalibration();
        if (sinceConnectStartMs < d.earliestCloseMs()) {
            throw violation(requirement, "no byte, then close no earlier than " + d.earliestCloseMs()
                    + " ms after connecting (the handshake deadline of " + d.reference().toMillis() + " ms, "
                    + (d.measured() ? "as measured on a stalled header" : "as declared") + ", less "
                    + DeadlineCalibration.TOLERANCE_MS + " ms), and no later than "
                    + d.closeAllowance().toMillis() + " ms", o + " (" + sinceConnectStartMs
                    + " ms after connecting): closed before the deadline");
        }
    }

    /** The target must send nothing and keep the connection open for {@code time}. */
    public static void silentAndOpen(VlessConnection c, Duration time, String requirement) throws IOException {
        Outcome o = c.await(time);
        if (o.kind() != Outcome.Kind.STILL_OPEN) {
            throw new AssertionError(requirement + "\n  allowed: nothing, connection open for " + time.toMillis()
                    + " ms\n  actual: " + o);
        }
    }

    /**
     * A setup step failed that is {@code rule}'s subject, not the case's: the case is BLOCKED by {@code rule}.
     *
     * @param rule an ID such as {@code "UDP-3"}
     */
    public static PreconditionFailed blocked(String rule, String step, String actual) {
        dev.vless.spec.SpecRule r = dev.vless.spec.SpecRule.byId(rule)
                .orElseThrow(() -> new IllegalArgumentException("rule: " + rule + " (expected: a rule ID)"));
        return new PreconditionFailed(r, rule + ": " + step + "\n  actual: " + actual);
    }

    /**
     * The case cannot apply here, found at run time: NOT_APPLICABLE with {@code reason} (such as a lifetime case run
     * without the target's lifetime). Throw it.
     */
    public static org.opentest4j.TestAbortedException notRun(String reason) {
        return new org.opentest4j.TestAbortedException(ConformanceExtension.NOT_APPLICABLE + reason);
    }

    /**
     * What the rule speaks of cannot be seen from outside on this target (such as entry expiry on a target whose one
     * socket per family serves every destination): NOT_OBSERVABLE with {@code reason}. Throw it.
     */
    public static org.opentest4j.TestAbortedException notObservable(String reason) {
        return new org.opentest4j.TestAbortedException(ConformanceExtension.NOT_OBSERVABLE + reason);
    }

    /** Fails with the standard message shape. */
    public static AssertionError violation(String requirement, String allowed, String actual) {
        return new AssertionError(requirement + "\n  allowed: " + allowed + "\n  actual: " + actual);
    }
}
