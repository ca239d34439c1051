// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.util.Map;

/**
 * Server rules no case can check from outside the server, each with the reason the report gives for its
 * NOT_OBSERVABLE verdict. Every other server rule has a case; a rule in neither place is UNCOVERED.
 */
final class Unobservable {

    private static final Map<String, String> REASONS = Map.of(
            "HDR-4", "a comparison whose time depends on where two user IDs differ differs by nanoseconds, far below"
                    + " the jitter of a network round trip; what does show, that the close after an unknown user ID"
                    + " does not depend on the ID, is checked by ERR-2 and ERR-3",
            "LIF-3", "whether the lifetime can be configured and what its default is are facts of the server's"
                    + " configuration, not of its behaviour; the lifetime cases check the lifetime the run is told"
                    + " (--udp-lifetime)");

    private Unobservable() {
    }

    /** Why {@code ruleId} cannot be checked from outside, or {@code null} when it can. */
    static String reason(String ruleId) {
        return REASONS.get(ruleId);
    }
}
