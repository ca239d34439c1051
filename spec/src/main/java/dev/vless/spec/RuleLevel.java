// SPDX-License-Identifier: Apache-2.0
package dev.vless.spec;

/** The RFC 2119 requirement level of a {@link SpecRule}. */
public enum RuleLevel {
    /** An absolute requirement; a conformance failure fails the run. */
    MUST,
    /** A recommendation; an unmet SHOULD is reported as a warning. */
    SHOULD,
    /** An option; reported for information only. */
    MAY
}
