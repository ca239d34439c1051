// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

/**
 * How a NAT context picks a socket for a destination it has neither dialed nor heard from (mapping rule 3).
 *
 * @see "spec/VLESS.md rules NAT-4, NAT-5"
 */
public enum MappingPolicy {
    /** One socket per address family for the whole context: full cone, the default (NAT-4). */
    ENDPOINT_INDEPENDENT,
    /** A new socket for each new destination, as the original design note says (NAT-5); breaks simultaneous open. */
    PER_DESTINATION
}
