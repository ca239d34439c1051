// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a class of conformance cases: one class per spec section, one {@code @Test} per requirement, each tagged with
 * the rule IDs it checks ({@code @Tag("HDR-3")}) and named "{@code HDR-3 · sends no byte when ...}".
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@ExtendWith(ConformanceExtension.class)
@Tag("conformance")
public @interface ConformanceCases {
}
