// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a class of client conformance cases: one {@code @Test} per requirement, tagged with the rule IDs it checks and
 * a group, named "{@code CRF-5 · ...}", as the server cases are.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@ExtendWith(ClientExtension.class)
@Tag("client-conformance")
public @interface ClientCases {
}
