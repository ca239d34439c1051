// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.codec.VlessRequest;
import dev.vless.spec.Profile;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;

/**
 * Whether the target offers UDP-MUX (command 5, §23), asked once per run: a valid request, and up to
 * {@link #deadline} for the answer {@code 0x15}. Support is optional (MUX-2), and a server without it treats command 5
 * like an unknown command: no byte, then a close at its handshake deadline. A client cannot tell that from a slow
 * server except by a deadline (MUX-5), so the suite waits as long as a client would by default.
 *
 * @param supported   whether 0x15 came first
 * @param outcome     what the target did
 * @param waitedMs    the deadline the probe used
 * @param description one line for the run's events and the cases' notes
 * @param failure     why the probe could not complete (the target could not be reached), else {@code null}: then
 *                    the cases are ERROR, never NOT_APPLICABLE
 */
public record MuxSupport(boolean supported, Outcome outcome, long waitedMs, String description, IOException failure) {

    /** The client's default deadline for 0x15 (MUX-5). */
    static final Duration CLIENT_DEADLINE = Duration.ofSeconds(5);

    /** How long the probe waits: a client's default deadline, or the I/O timeout when that is longer. */
    static Duration deadline(VlessTarget t) {
        return t.ioTimeout().compareTo(CLIENT_DEADLINE) > 0 ? t.ioTimeout() : CLIENT_DEADLINE;
    }

    /**
     * Why the mode's server rules are NOT_APPLICABLE on this target (when not {@link #supported}), with what was
     * seen.
     */
    public String notOffered() {
        return "no 0x15 within the deadline (" + waitedMs + " ms): the target does not offer UDP-MUX (" + seen()
                + ")";
    }

    /** What the target did with the request, in words. */
    public String seen() {
        return "command 5 was " + switch (outcome.kind()) {
            case DATA -> "answered with " + outcome.bytes().length + " B " + WireLog.hex(outcome.bytes()) + " after "
                    + outcome.elapsedMs() + " ms";
            case CLOSED -> "closed without a byte after " + outcome.elapsedMs() + " ms";
            case RESET -> "reset without a byte after " + outcome.elapsedMs() + " ms";
            case STILL_OPEN -> "left open without a byte for " + outcome.elapsedMs() + " ms";
        };
    }

    /**
     * Sends the 18-byte request from {@code from} (the run's MUX context, so that the probe's MUX joins no context
     * other cases use; {@code null}: the default address) and reads what comes first. A v0 target is never asked: command 5 is a v1 command.
     */
    static MuxSupport probe(VlessTarget t, RunEvents events, InetAddress from) {
        if (t.profile() != Profile.V1) {
            return new MuxSupport(false, new Outcome(Outcome.Kind.STILL_OPEN, new byte[0], 0), 0,
                    "UDP-MUX is a v1 command; not asked of a v0 target", null);
        }
        Duration wait = deadline(t);
        WireLog log = new WireLog();
        MuxSupport found;
        try {
            try (MuxConnection c = new MuxConnection(t, log, "mux-probe", from)) {
                c.write(VlessConnection.encode(VlessRequest.mux(t.user())));
                Outcome o = c.await(wait);
                boolean ok = o.kind() == Outcome.Kind.DATA && o.bytes()[0] == 0x15;
                found = new MuxSupport(ok, o, wait.toMillis(), null, null);
            }
        } catch (IOException e) {
            // Not a verdict on the mode: the cases that need it say so (the liveness watch judges the target).
            found = new MuxSupport(false, new Outcome(Outcome.Kind.RESET, new byte[0], 0), wait.toMillis(),
                    "the UDP-MUX probe could not complete: " + e.getMessage(), e);
            if (events != null) {
                events.add(found.description());
            }
            return found;
        }
        String line = found.supported() ? "UDP-MUX: the target answered command 5 with 0x15 after "
                + found.outcome().elapsedMs() + " ms; the MUX cases run"
                : "UDP-MUX: " + found.notOffered() + (t.muxRequired() ? "; --mux required, so MUX-3 fails"
                : "; its server rules are NOT_APPLICABLE");
        if (events != null) {
            events.add(line);
        }
        return new MuxSupport(found.supported(), found.outcome(), found.waitedMs(), line, null);
    }
}
