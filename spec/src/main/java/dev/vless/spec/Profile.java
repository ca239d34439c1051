// SPDX-License-Identifier: Apache-2.0
package dev.vless.spec;

/** A profile of the protocol a target implements; rules outside a target's profile are not applicable to it. */
public enum Profile {
    /** VLESS v1 with CRUMFURS and the full-cone NAT context: this specification. */
    V1,
    /** Plain VLESS v0 as served by v2fly and Xray: no CRUMFURS, NAT behaviour reported but not required. */
    V0
}
