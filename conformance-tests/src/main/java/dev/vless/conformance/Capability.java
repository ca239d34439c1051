// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

/** What a case may need beyond the target's profile; a target without it gets NOT APPLICABLE, with the reason. */
public enum Capability {
    /** A second user's UUID was given ({@code --user2}). */
    SECOND_USER("no second user's UUID was given (--user2 / -Dvless.user2)"),
    /** At least three distinct peer addresses the server can reach (address-dependent behaviour, hairpinning). */
    THREE_PEER_ADDRESSES("fewer than three peer addresses were given (--peers / -Dvless.peers)"),
    /** The connection to the target is plaintext, so TCP half-close can be observed directly. */
    PLAINTEXT_HALF_CLOSE("half-close cannot be observed through this harness's TLS client"),
    /** The target is the embedded reference server, whose settings (handshake deadline) the suite knows. */
    KNOWN_SETTINGS("the target's settings are not known to the suite"),
    /**
     * The target listens on an IPv4 loopback address, so the harness can connect from other client IPs (127.0.0.2, ...)
     * and the target shares this machine's {@code localhost}.
     */
    LOOPBACK_TARGET("the target is not on a loopback address, so the harness cannot connect from a second client IP"
            + " or share its localhost"),
    /**
     * The harness can send datagrams with forged sources (port 0, multicast, other hosts) to the target's UDP ports:
     * a Linux raw socket (root or CAP_NET_RAW) and a target on this machine's IPv4 loopback.
     */
    FORGED_SOURCES("the harness cannot forge UDP sources here: that needs a target on 127.0.0.0/8 and a Linux raw"
            + " socket (run the suite as root or with CAP_NET_RAW)");

    private final String missing;

    Capability(String missing) {
        this.missing = missing;
    }

    /** Why a case is not applicable when the capability is missing. */
    public String missingReason() {
        return missing;
    }
}
