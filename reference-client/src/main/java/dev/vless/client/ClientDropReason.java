// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

/** Why the client dropped a UDP datagram; {@link ClientStats#drops(ClientDropReason)} counts each. */
public enum ClientDropReason {
    /** A SOCKS5 UDP datagram with FRAG other than 0: the client does not reassemble fragments (RFC 1928 §7). */
    FRAGMENTED,
    /** A datagram on an association's relay port from another local source than the association's client. */
    FOREIGN_SOURCE,
    /** A SOCKS5 UDP datagram whose header could not be read. */
    MALFORMED,
    /** A destination VLESS cannot carry: port 0, or a domain name with bytes outside printable ASCII (ADR-3). */
    BAD_DESTINATION,
    /**
     * The VLESS connection or the application's socket could not take more: not writable, or the bounded queue of a
     * connection still being opened was full. The client never buffers without bound.
     */
    BACKLOG,
    /** The VLESS connection for the destination could not be opened, or no CRUMFURS came up in time (CRF-5). */
    UPSTREAM_FAILED,
    /** A datagram from the server with no SOCKS5 association left to hand it to. */
    NO_ASSOCIATION
}
