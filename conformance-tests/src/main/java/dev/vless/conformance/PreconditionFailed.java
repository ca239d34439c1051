// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.spec.SpecRule;

/**
 * A setup step of a case failed, and that step is another rule's subject: the case is BLOCKED by that rule and says
 * nothing about its own. Thrown by {@link Expect#blocked}; an {@link AssertionError} whose message names a rule the
 * case is not tagged with is treated the same way (the shared helpers check setup steps that way).
 */
public final class PreconditionFailed extends RuntimeException {

    private final SpecRule rule;

    public PreconditionFailed(SpecRule rule, String message) {
        super(message);
        this.rule = rule;
    }

    /** The rule whose check failed in the setup. */
    public SpecRule rule() {
        return rule;
    }
}
