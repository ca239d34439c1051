// SPDX-License-Identifier: Apache-2.0
package dev.vless.spec;

/** The side of a VLESS connection a {@link SpecRule} binds. */
public enum Party {
    /** The rule binds servers; a black-box suite can check it from the client side. */
    SERVER,
    /** The rule binds clients; a server suite cannot observe it. */
    CLIENT,
    /** The rule binds whoever sends or receives the message it describes. */
    BOTH
}
