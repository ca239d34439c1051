// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

/** Why the server dropped a datagram; each is counted (DLV-3, DLV-5, DLV-6, UDP-5, UDP-7, MUX-12..MUX-22). */
public enum DropReason {
    /** No open connection to the source and no live CRUMFURS (DLV-3). */
    NO_RECEIVER,
    /** The client connection or CRUMFURS had more unsent bytes than the limit (DLV-5). */
    CLIENT_BACKLOG,
    /**
     * The client connections and CRUMFURS of the datagram's NAT context together had more unsent bytes than
     * {@code --max-unsent-bytes-per-context}.
     */
    CONTEXT_BACKLOG,
    /** All client connections of the server together had more unsent bytes than {@code --max-unsent-bytes-total}. */
    SERVER_BACKLOG,
    /**
     * The JVM had more direct memory in use than {@code --max-direct-memory}: the datagram was dropped rather than
     * copied into a new buffer, so that no event loop waits at the JVM's limit.
     */
    DIRECT_MEMORY,
    /** The UDP socket could not take more outbound datagrams. */
    SOCKET_BACKLOG,
    /** Larger than the socket can send or the configured maximum (UDP-5). */
    OVERSIZE,
    /** A v0 connection's socket received from someone other than its target (UDP-7). */
    FOREIGN_SOURCE,
    /** The socket refused the datagram (for example an ICMP error or a closed socket). */
    SEND_FAILED,
    /** Received by a released port during its cool-down (LIF-7). */
    COOL_DOWN,
    /** From source port 0 or a source address that is not unicast (DLV-6); creates no entry. */
    INVALID_SOURCE,
    /**
     * Handing the datagram to its client failed with an unexpected error: a server bug, logged at DEBUG only (a
     * remote could otherwise fill the log). Tests and fuzzers expect this counter to stay at zero.
     */
    DELIVERY_ERROR,
    /** A MUX frame to a destination the destination policy refuses, or to a name that resolved to one (MUX-14). */
    REFUSED_DESTINATION,
    /** A MUX frame to a domain name that did not resolve; the failure holds for 30 s (MUX-15). */
    UNRESOLVED,
    /**
     * A MUX frame to a name waiting for its lookup: more bytes were waiting than the connection's unsent limit, or the
     * connection closed before the lookup ended (MUX-16).
     */
    NAME_BACKLOG,
    /**
     * A MUX frame to a new destination beyond the NAT context's {@code --mux-new-destinations-per-second} (MUX-22).
     */
    NEW_DESTINATION_RATE,
    /** The partial frame a MUX client's stream ended with (MUX-12). */
    TRUNCATED_FRAME
}
