// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.mutants;

/**
 * One deliberate bug of {@link MutantServer} each. Every fault models a mistake real VLESS or NAT implementations
 * have made (or could easily make); the comment says which. {@link MutationTest} checks that the suite reports each
 * under the rule it breaks.
 */
public enum Fault {

    // ---- lifetime (§13) ----

    /** The timeout constant was divided once too often (seconds read as a third): sockets expire after L/3. */
    SHORT_LIFETIME,
    /** Only the creation time is stored: outbound datagrams do not refresh, a socket's life counts from its birth. */
    NO_REFRESH,
    /** The sweeper looks only at outbound traffic and forgets the connections mapped to the socket. */
    EXPIRY_WHILE_OPEN,
    /** Command-2 connections have no idle timer at all: a client that forgets them leaks them forever. */
    NO_IDLE_CLOSE,
    /** Per-destination mode: the tables grow forever, entries and their sockets are never swept. */
    ENTRIES_NEVER_EXPIRE,

    // ---- mapping (§11) ----

    /** The design note's rule 3 read as "always a new socket" and rule 2 forgotten: a socket per address and port. */
    SYMMETRIC,
    /** The v0 code path reused for v1: each command-2 connection gets a socket of its own. */
    PER_CONNECTION_SOCKETS,
    /** One NAT table for the whole server, as in the design note's first sketch: all users share one context. */
    GLOBAL_CONTEXT,
    /** The context is looked up by user ID only; devices sharing a subscription share a context. */
    UUID_ONLY_CONTEXT,

    // ---- delivery (§12) ----

    /** The connection list is searched from the front, so the oldest connection to X wins. */
    OLD_CONNECTION,
    /** Every datagram is treated as "unknown" and sent as UMFURS, even with a connection to its source open. */
    KNOWN_SOURCE_TO_CRUMFURS,

    // ---- UDP framing (§8) ----

    /** The length is read as a Java short: 32768 and above are negative, and the connection is closed. */
    SIGNED_LENGTH,
    /** The frame length is written and read in the host's (little-endian) byte order. */
    LITTLE_ENDIAN,
    /** Datagrams are received into 2048-byte buffers, as v2ray does: longer ones are cut silently. */
    TRUNCATION,
    /** A send error on an oversized frame propagates and closes the connection. */
    OVERSIZE_CLOSES,

    // ---- CRUMFURS (§9) ----

    /** The acknowledgement byte is never written (forgotten flush, or thought to be optional). */
    NO_ACK,
    /** The handler returns after the acknowledgement and closes the channel with it. */
    CLOSES_AFTER_ACK,
    /** A second CRUMFURS is acknowledged but the first stays registered and open, and keeps the UMFURS. */
    NO_REPLACE,
    /** The channel is read as if it carried requests: any client byte is a protocol error that closes it. */
    JUNK_CLOSES,

    // ---- request header (§4, §6) ----

    /** The v0 response code path is shared with v1: 00 00 goes out before the first response byte on v1 too. */
    V1_RESPONSE_HEADER,
    /** The header is parsed from the first read and the rest of that read buffer is thrown away. */
    TRAILING_BYTES_DROPPED,
    /** The parser assumes one read returns the whole header; a short first read is bad input. */
    SPLIT_HEADER_REFUSED,

    // ---- bad input (§15) ----

    /** The user check was lost in a refactoring: any user ID is accepted. */
    ANY_UUID,
    /** An unknown user gets a polite error byte before the close: an oracle for a prober. */
    ANSWER_ON_BAD_UUID,
    /** The domain validator throws where it is called and the connection is closed at once; others wait. */
    IMMEDIATE_CLOSE_ON_ONE_KIND,
    /** The deadline is armed only after bad input was detected: a stalled header holds the connection forever. */
    NO_DEADLINE,

    // ---- UDP-MUX (§23) ----

    /** The MUX connection was built like a v0 connection: frames leave from a socket of its own, not the context's. */
    MUX_OWN_SOCKET,
    /** Only replies are delivered on MUX: a datagram from a remote no MUX connection sent to is dropped. */
    MUX_UNSOLICITED_DROPPED,
    /** The MUX list is searched from the front: unknown remotes go to the oldest open MUX connection. */
    MUX_OLDEST,
    /** A frame with a bad address is skipped (as far as the parser can guess) instead of closing the connection. */
    MUX_FRAME_ERROR_IGNORED,
    /** The command-2 code path reused for frames: a refused destination closes the whole MUX connection. */
    MUX_REFUSED_CLOSES,
    /** The answer is written by the handler and again by the attach path: 0x15 goes out twice. */
    MUX_ACK_TWICE,
    /** The MUX connection is attached to its context only after 0x15 was flushed: datagrams right after it are lost. */
    MUX_ACK_BEFORE_ATTACH,
    /** The sweeper counts command-2 connections only: sockets expire under an open MUX connection. */
    MUX_NOT_PINNING,
    /** MUX connections have no idle timer: a client that forgets one leaks it, and its context, forever. */
    MUX_NO_IDLE_CLOSE,

    // ---- TCP relay (§7) ----

    /** The relay closes both sockets when either side's stream ends (no half-close), as v2ray does. */
    HALF_CLOSE_KILLS_BOTH,
    /**
     * Once the client has ended its direction, at most 256 KiB more of the target's stream reach it, then both close:
     * the first write that has to wait fails on a half-closed connection, as on Netty 4.2.18's epoll transport.
     */
    HALF_CLOSED_REPLY_CUT
}
