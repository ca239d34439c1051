// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

/** Which failed rules make the run fail (exit status, JUnit failure). */
public enum Policy {
    /** Only MUST rules; an unmet SHOULD is a warning. The default. */
    MUST,
    /** MUST and SHOULD rules. */
    MUST_AND_SHOULD
}
