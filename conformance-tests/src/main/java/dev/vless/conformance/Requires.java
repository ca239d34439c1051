// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** Capabilities a case needs; without them it is NOT APPLICABLE, with the reason (h2spec's skipped). */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface Requires {
    /** The capabilities. */
    Capability[] value();
}
