// SPDX-License-Identifier: Apache-2.0
package dev.vless.spec;

import static dev.vless.spec.Party.BOTH;
import static dev.vless.spec.Party.CLIENT;
import static dev.vless.spec.Party.SERVER;
import static dev.vless.spec.RuleLevel.MAY;
import static dev.vless.spec.RuleLevel.MUST;
import static dev.vless.spec.RuleLevel.SHOULD;

import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * Every numbered requirement of {@code spec/VLESS.md}, mirrored in code.
 *
 * <p>IDs are stable: a rule is never renumbered and a retired ID is never reused. {@code SpecDocumentTest}
 * fails when this enum and the document disagree on an ID, a level or a sentence.
 */
public enum SpecRule {
    // §3 Versions and profiles
    VER_1(MUST, BOTH, "3", Scope.ALL,
            "The first byte of a request is the protocol version: 0x00 for v0 and 0x01 for v1."),
    VER_2(MUST, SERVER, "3", Scope.ALL,
            "A server MUST treat a request whose version byte it does not serve as bad input."),
    VER_3(SHOULD, SERVER, "3", Scope.V1_ONLY,
            "A v1 server SHOULD also serve v0 requests on the same listener, telling them apart by the version byte."),

    // §4 Request header
    HDR_1(MUST, BOTH, "4", Scope.V1_ONLY,
            "A v1 request is version (1), user ID (16), command (1) and, for commands 1 and 2, port (2, big-endian),"
                    + " address type (1) and address; it has no addons field."),
    HDR_2(MUST, BOTH, "4", Scope.V0_ONLY,
            "A v0 request is version (1), user ID (16), addons length N (1), addons (N), command (1) and, for commands 1"
                    + " and 2, port (2, big-endian), address type (1) and address."),
    HDR_3(MUST, SERVER, "4", Scope.ALL,
            "A server MUST treat a request whose user ID is not one of its users as bad input."),
    HDR_4(MUST, SERVER, "4", Scope.ALL,
            "A server MUST compare user IDs in a time that does not depend on where they differ."),
    HDR_5(MUST, SERVER, "4", Scope.ALL,
            "The command is 1 (TCP), 2 (UDP), 3 (Mux), 4 (CRUMFURS) or 5 (UDP-MUX); a server MUST treat any other value as"
                    + " bad input."),
    HDR_6(MUST, SERVER, "4", Scope.ALL,
            "Commands 4 and 5 exist only in v1; a server MUST treat a v0 request with command 4 or 5 as bad input."),
    HDR_7(MAY, SERVER, "4", Scope.ALL,
            "A server MAY refuse command 3 (Mux), and then MUST treat it exactly like an unknown command."),
    HDR_8(MUST, SERVER, "4", Scope.ALL,
            "A server MUST treat a request with port 0 as bad input."),
    HDR_9(MUST, BOTH, "4", Scope.V1_ONLY,
            "Nothing follows the command byte of a CRUMFURS request: its header is exactly 18 bytes."),
    HDR_10(MUST, SERVER, "4", Scope.ALL,
            "A server MUST accept a request header split at any byte over any number of TCP segments or TLS records."),
    HDR_11(MUST, SERVER, "4", Scope.ALL,
            "Bytes that follow a complete request header, in the same segment or later, are payload: the start of the TCP"
                    + " stream, the first UDP frames, or CRUMFURS input."),
    HDR_12(MUST, SERVER, "4", Scope.ALL,
            "A server MUST treat a stream that ends before its request header is complete as bad input."),

    // §5 Addresses
    ADR_1(MUST, BOTH, "5", Scope.ALL,
            "Address type 1 is an IPv4 address (4 bytes), 2 a domain name (a length byte, then that many bytes) and 3 an"
                    + " IPv6 address (16 bytes); a receiver MUST treat any other address type as bad input."),
    ADR_2(MUST, BOTH, "5", Scope.ALL,
            "A domain name is 1 to 255 bytes long; a receiver MUST treat a length of 0 as bad input."),
    ADR_3(MUST, BOTH, "5", Scope.ALL,
            "A domain name consists of printable US-ASCII bytes (0x21 to 0x7E), internationalised names in A-label form;"
                    + " a receiver MUST treat any other byte as bad input."),
    ADR_4(MUST, BOTH, "5", Scope.ALL,
            "Before any lookup, comparison or UMFURS encoding an implementation MUST canonicalise an IPv4-mapped IPv6"
                    + " address (::ffff:a.b.c.d) to the IPv4 address a.b.c.d."),

    // §6 Responses
    RSP_1(MUST, SERVER, "6", Scope.V1_ONLY,
            "A v1 server sends no response header: its first byte on a TCP connection is target data, on a UDP connection"
                    + " a frame, and on a CRUMFURS connection the acknowledgement."),
    RSP_2(MUST, SERVER, "6", Scope.V0_ONLY,
            "A v0 server sends the response header 0x00 0x00 (version 0, no addons) once, immediately before the first"
                    + " byte of response data, on TCP and UDP connections alike."),
    RSP_3(MUST, CLIENT, "6", Scope.V0_ONLY,
            "A v0 client MUST read the response version and addons length and skip that many addon bytes before the"
                    + " response data."),

    // §7 TCP relay
    TCP_1(MUST, SERVER, "7", Scope.ALL,
            "For command 1 the server connects to the target and relays bytes in both directions unchanged and in order."),
    TCP_2(MUST, SERVER, "7", Scope.ALL,
            "A server that cannot resolve or reach the target MUST close the client connection without sending a byte."),
    TCP_3(SHOULD, SERVER, "7", Scope.ALL,
            "A server SHOULD pass each direction's end of stream on separately and close the connection once both"
                    + " directions have ended."),
    TCP_4(SHOULD, BOTH, "7", Scope.ALL,
            "Both ends SHOULD enable TCP keepalive with an idle time of 60 s or less."),

    // §8 UDP frames
    UDP_1(MUST, BOTH, "8", Scope.ALL,
            "On a command-2 connection every datagram, in both directions, is one frame: length (2, big-endian, unsigned),"
                    + " then that many payload bytes."),
    UDP_2(MUST, BOTH, "8", Scope.ALL,
            "A frame length of 0 is a valid empty datagram and lengths of 32768 and above are valid; a receiver MUST NOT"
                    + " treat the length as signed."),
    UDP_3(MUST, SERVER, "8", Scope.ALL,
            "The server sends the payload of every client frame as one datagram to the connection's target, which the"
                    + " request fixes for the connection's life."),
    UDP_4(MUST, SERVER, "8", Scope.ALL,
            "The server MUST receive datagrams into buffers of at least 65535 bytes and MUST NOT truncate a datagram it"
                    + " relays."),
    UDP_5(MUST, SERVER, "8", Scope.ALL,
            "A frame the server's socket cannot send (over 65507 payload bytes to IPv4, 65527 to IPv6) is dropped and"
                    + " counted, and the connection stays open and in sync."),
    UDP_6(MUST, SERVER, "8", Scope.ALL,
            "A server MUST serve command 2 whether or not the user has a live CRUMFURS."),
    UDP_7(MUST, SERVER, "8", Scope.V0_ONLY,
            "A v0 command-2 connection never joins a NAT context: it has a socket of its own and receives only datagrams"
                    + " from its target."),
    UDP_8(MUST, SERVER, "8", Scope.ALL,
            "When the client ends the stream of a command-2 connection, the server closes that connection."),

    // §9 CRUMFURS
    CRF_1(MUST, SERVER, "9", Scope.V1_ONLY,
            "The server answers a valid CRUMFURS request with exactly one byte, 0x14 (CRUMFURS_ESTABLISHED), and then"
                    + " sends nothing but UMFURS messages on that connection."),
    CRF_2(MUST, SERVER, "9", Scope.V1_ONLY,
            "The server keeps a CRUMFURS connection open until the client ends it, a newer CRUMFURS of the same context"
                    + " replaces it, or the server shuts down."),
    CRF_3(MUST, SERVER, "9", Scope.V1_ONLY,
            "A NAT context has at most one live CRUMFURS: when a new one is established the server closes the old one."),
    CRF_4(MUST, SERVER, "9", Scope.V1_ONLY,
            "Bytes a client sends on a CRUMFURS connection are read and discarded, and the client's end of stream closes"
                    + " the channel."),
    CRF_5(MUST, CLIENT, "9", Scope.V1_ONLY,
            "A v1 client MUST open CRUMFURS and receive 0x14 before its first command-2 request."),
    CRF_6(MUST, CLIENT, "9", Scope.V1_ONLY,
            "A client MUST treat a first byte other than 0x14 on a CRUMFURS connection as a protocol error and close the"
                    + " connection."),
    CRF_7(SHOULD, CLIENT, "9", Scope.V1_ONLY,
            "A client SHOULD re-open a closed CRUMFURS with back-off, starting at 1 s and doubling up to 60 s."),

    // §10 UMFURS
    UMF_1(MUST, BOTH, "10", Scope.V1_ONLY,
            "A UMFURS message is address type (1), source IP (4 or 16), source port (2, big-endian), length (2,"
                    + " big-endian, unsigned) and payload: the address precedes the port."),
    UMF_2(MUST, BOTH, "10", Scope.V1_ONLY,
            "The address type of a UMFURS is 1 or 3; a receiver MUST treat 2 (domain) or any other value as a protocol"
                    + " error."),
    UMF_3(MUST, SERVER, "10", Scope.V1_ONLY,
            "A server MUST send a source that is an IPv4-mapped IPv6 address as address type 1."),
    UMF_4(MUST, SERVER, "10", Scope.V1_ONLY,
            "The source of a UMFURS is the true source address and port of the datagram as the server's socket received"
                    + " it."),
    UMF_5(MUST, BOTH, "10", Scope.V1_ONLY,
            "A UMFURS with length 0 is a valid empty datagram."),
    UMF_6(MUST, BOTH, "10", Scope.V1_ONLY,
            "A receiver MUST treat a UMFURS whose source port is 0 as a protocol error."),

    // §11 NAT context and mapping
    NAT_1(MUST, SERVER, "11", Scope.V1_ONLY,
            "A v1 server keeps one NAT context per user as seen from one client IP address, and every v1 command-2"
                    + " connection belongs to the context of its UUID and client IP."),
    NAT_2(MUST, SERVER, "11", Scope.V1_ONLY,
            "Mapping rule 1: if the context has dialed the target X before, the server sends to X from the socket of that"
                    + " first dial."),
    NAT_3(MUST, SERVER, "11", Scope.V1_ONLY,
            "Mapping rule 2: otherwise, if X has sent a datagram to one of the context's sockets, the server sends to X"
                    + " from the first socket that received from X."),
    NAT_4(SHOULD, SERVER, "11", Scope.V1_ONLY,
            "Mapping rule 3: otherwise the server SHOULD send from the context's existing socket for X's address family"
                    + " (endpoint-independent mapping)."),
    NAT_5(MAY, SERVER, "11", Scope.V1_ONLY,
            "Instead of rule 3 a server MAY open a new socket for each new destination (the per-destination policy)."),
    NAT_6(MUST, SERVER, "11", Scope.V1_ONLY,
            "A context keeps two tables, dialed (address to the socket of its first dial) and heard (address to the first"
                    + " socket that received from it), and neither entry is overwritten while its socket lives."),
    NAT_7(MUST, SERVER, "11", Scope.ALL,
            "A server resolves a domain target once, when the header arrives, and uses the first IPv4 address (else the"
                    + " first IPv6 address) for the connection's whole life; if resolution fails it closes without sending"
                    + " a byte."),
    NAT_8(MUST, SERVER, "11", Scope.ALL,
            "Datagrams of different NAT contexts, or of a context and a v0 connection, never share a server port (no port"
                    + " overloading, RFC 4787 REQ-3)."),
    NAT_9(MUST, SERVER, "11", Scope.V1_ONLY,
            "A datagram received on one context's socket is never delivered to another context."),
    NAT_10(SHOULD, SERVER, "11", Scope.V1_ONLY,
            "A context socket SHOULD bind the configured outbound address of its family, so that the mapped address does"
                    + " not depend on the route."),

    // §12 Delivery
    DLV_1(MUST, SERVER, "12", Scope.V1_ONLY,
            "A datagram from X received on any socket of a context goes to the context's open command-2 connection whose"
                    + " target is X, the newest by completed request header if there are several."),
    DLV_2(MUST, SERVER, "12", Scope.V1_ONLY,
            "With no such connection and no open MUX connection (§23), the datagram goes to the context's live CRUMFURS as"
                    + " a UMFURS (endpoint-independent filtering)."),
    DLV_3(MUST, SERVER, "12", Scope.V1_ONLY,
            "With neither, the datagram is dropped and counted."),
    DLV_6(MUST, SERVER, "12", Scope.V1_ONLY,
            "A datagram whose source port is 0, or whose source address is not a unicast address (unspecified,"
                    + " multicast or 255.255.255.255), is dropped and counted before any other rule applies: it creates"
                    + " and refreshes no entry and goes to no connection."),
    DLV_4(MUST, CLIENT, "12", Scope.V1_ONLY,
            "A client MUST accept datagrams from X on CRUMFURS at any time, including while it has or had a connection to"
                    + " X."),
    DLV_5(MUST, SERVER, "12", Scope.ALL,
            "A server MUST NOT stop reading its UDP sockets for a slow client: datagrams beyond a connection's or"
                    + " CRUMFURS's unsent-data limit are dropped and counted."),

    // §13 Lifetime
    LIF_1(MUST, SERVER, "13", Scope.V1_ONLY,
            "A context socket does not expire while a command-2 connection mapped to it is open, and an open connection's"
                    + " external address never changes."),
    LIF_2(MUST, SERVER, "13", Scope.V1_ONLY,
            "Without open connections a context socket lives at least 120 s after its last outbound datagram (RFC 4787"
                    + " REQ-5)."),
    LIF_3(SHOULD, SERVER, "13", Scope.V1_ONLY,
            "The socket lifetime SHOULD be configurable and SHOULD default to 300 s."),
    LIF_4(MUST, SERVER, "13", Scope.V1_ONLY,
            "An outbound datagram refreshes the lifetime of its socket and of its table entries; an inbound one MAY."),
    LIF_5(SHOULD, SERVER, "13", Scope.ALL,
            "A server SHOULD close a command-2 connection that carried no datagram in either direction for the lifetime."),
    LIF_6(MUST, SERVER, "13", Scope.V1_ONLY,
            "A dialed or heard entry expires after the lifetime without traffic to or from its address."),
    LIF_7(SHOULD, SERVER, "13", Scope.ALL,
            "A released UDP port SHOULD stay bound, discarding what it receives, for a cool-down (default 30 s)."),

    // §14 Limits
    LIM_1(SHOULD, SERVER, "14", Scope.V1_ONLY,
            "A server SHOULD bound, configurably, per context: table entries (default 4096, least recently used evicted),"
                    + " sockets (64), open command-2 connections (256, least recently active closed beyond that), unsent"
                    + " bytes per connection or CRUMFURS (1 MiB), and contexts per UUID (8)."),

    // §15 Bad input
    ERR_1(MUST, SERVER, "15", Scope.ALL,
            "On bad input the server sends no byte."),
    ERR_2(MUST, SERVER, "15", Scope.ALL,
            "After bad input the server either hands the connection, with every byte received so far, to a configured"
                    + " fallback, or reads and discards input until the handshake deadline and then closes."),
    ERR_3(SHOULD, SERVER, "15", Scope.ALL,
            "The moment and manner of closing after bad input SHOULD NOT depend on which check failed."),
    ERR_4(MUST, SERVER, "15", Scope.ALL,
            "The handshake deadline is one fixed time from TCP accept (default 4 s) covering TLS and the whole header,"
                    + " never extended by arriving bytes; a header not complete by then is bad input."),
    ERR_5(MUST, SERVER, "15", Scope.ALL,
            "Bad input on one connection does not affect the server's other connections, and the server goes on serving"
                    + " valid requests."),

    // §16 Destinations
    DST_1(SHOULD, SERVER, "16", Scope.ALL,
            "By default a server SHOULD refuse targets that, after resolution, are loopback, unspecified, link-local,"
                    + " private, multicast, broadcast or its own addresses, unless an operator allows them."),
    DST_2(MUST, SERVER, "16", Scope.ALL,
            "A server refuses a destination by closing without sending a byte and without fallback."),

    // §17 TLS
    TLS_1(MUST, BOTH, "17", Scope.V1_ONLY,
            "v1 runs inside TLS; a plaintext v1 listener exists only behind a TLS terminator or for testing."),
    TLS_2(SHOULD, BOTH, "17", Scope.V1_ONLY,
            "Implementations SHOULD use TLS 1.3."),
    TLS_3(MUST, CLIENT, "17", Scope.ALL,
            "A client MUST check the server's certificate against the CAs it trusts or a pinned SHA-256 of the"
                    + " certificate, and MUST NOT send a request over a connection whose certificate matches neither."),

    // §18 Client
    CLI_1(SHOULD, CLIENT, "18", Scope.V1_ONLY,
            "A client SHOULD use one command-2 connection per remote UDP address and reuse it for every datagram to that"
                    + " address."),
    CLI_2(MUST, CLIENT, "18", Scope.V1_ONLY,
            "A client MUST hand a datagram received as UMFURS to the application labelled with its UMFURS source."),
    CLI_3(SHOULD, CLIENT, "18", Scope.ALL,
            "A client SHOULD close a command-2 connection that has been idle for a configurable time."),
    CLI_4(MUST, CLIENT, "18", Scope.ALL,
            "A client MUST carry data between the application and the server unchanged: each datagram the application"
                    + " sends is one frame with exactly its payload, each datagram received is handed over whole, and"
                    + " TCP bytes pass unchanged and in order."),
    CLI_5(SHOULD, CLIENT, "18", Scope.ALL,
            "A client SHOULD pass each direction's TCP end of stream on separately: the application's to the server"
                    + " and the server's to the application, relaying the other direction until it ends too."),

    // §23 Multiplexed UDP (command 5)
    MUX_1(MUST, BOTH, "23", Scope.V1_ONLY,
            "A UDP-MUX request is version 1, user ID and command 5, 18 bytes with nothing after the command byte; a"
                    + " server MUST treat command 5 in a v0 request as bad input."),
    MUX_2(MAY, SERVER, "23", Scope.V1_ONLY,
            "A server MAY leave command 5 unsupported, and then MUST treat it exactly like an unknown command."),
    MUX_3(MUST, SERVER, "23", Scope.V1_ONLY,
            "A server that supports command 5 answers a valid request, once the connection belongs to its NAT context,"
                    + " with exactly one byte, 0x15 (MUX_ESTABLISHED), and from then on sends nothing but frames."),
    MUX_4(MUST, CLIENT, "23", Scope.V1_ONLY,
            "A client MUST NOT send a frame before it has read 0x15, and MUST read bytes that arrive with it as frames."),
    MUX_5(MUST, CLIENT, "23", Scope.V1_ONLY,
            "A client MUST take end of stream, a first byte other than 0x15, or no byte within a deadline (default 5 s)"
                    + " as the mode being unavailable: it closes the connection and carries its datagrams per remote"
                    + " (command 2 and CRUMFURS) instead."),
    MUX_6(SHOULD, CLIENT, "23", Scope.V1_ONLY,
            "A client that found the mode unavailable SHOULD NOT request it from that server again for 10 minutes."),
    MUX_7(MUST, BOTH, "23", Scope.V1_ONLY,
            "On a MUX connection every datagram, in both directions, is one frame: address type (1), address, port (2,"
                    + " big-endian), length (2, big-endian, unsigned) and payload, the UMFURS layout; a client's frame"
                    + " may also use address type 2 (a domain name)."),
    MUX_8(MUST, BOTH, "23", Scope.V1_ONLY,
            "A client's frame names the datagram's destination; a server's frame names the datagram's true source as"
                    + " the server's socket received it, an IPv4-mapped source as address type 1 and never a domain name."),
    MUX_9(MUST, BOTH, "23", Scope.V1_ONLY,
            "A frame of length 0 is a valid empty datagram and lengths of 32768 and above are valid; a receiver MUST"
                    + " NOT treat the length as signed."),
    MUX_10(MUST, SERVER, "23", Scope.V1_ONLY,
            "A server MUST discard a client's frame to port 0 without sending it or counting it as a datagram."),
    MUX_11(MUST, BOTH, "23", Scope.V1_ONLY,
            "A frame error (an unknown address type, an empty domain name, a domain byte outside 0x21 to 0x7E, a"
                    + " domain name or source port 0 from the server) MUST close the connection at once; a server sends"
                    + " no byte after it and hands nothing to a fallback."),
    MUX_12(MUST, SERVER, "23", Scope.V1_ONLY,
            "When the client ends the stream of a MUX connection the server closes it; a partial frame at the end is"
                    + " discarded and counted."),
    MUX_13(MUST, SERVER, "23", Scope.V1_ONLY,
            "A MUX connection belongs to the NAT context of its user ID and client IP, and the server sends a frame to"
                    + " X from the socket the mapping rules choose for X, exactly as for a command-2 connection to X."),
    MUX_14(MUST, SERVER, "23", Scope.V1_ONLY,
            "A frame whose destination the server refuses (DST-1, after ADR-4) is dropped and counted; the connection"
                    + " stays open."),
    MUX_15(MUST, SERVER, "23", Scope.V1_ONLY,
            "A server resolves a domain destination once per MUX connection and uses the answer (the first IPv4"
                    + " address, else the first IPv6 address) while that address's dialed entry lives; frames to a name"
                    + " that fails to resolve, or resolves to a refused address, are dropped and counted for 30 s."),
    MUX_16(MUST, SERVER, "23", Scope.V1_ONLY,
            "Frames to a name that is being resolved wait, in order; frames to other destinations never wait for it."),
    MUX_17(MUST, SERVER, "23", Scope.V1_ONLY,
            "A datagram from X that no command-2 connection takes (DLV-1) goes to the context's open MUX connection"
                    + " that most recently sent a datagram to X."),
    MUX_18(MUST, SERVER, "23", Scope.V1_ONLY,
            "Failing that, the datagram goes to the context's newest open MUX connection, the one whose 0x15 went out"
                    + " last; it goes to CRUMFURS only when the context has no open MUX connection."),
    MUX_19(MUST, SERVER, "23", Scope.V1_ONLY,
            "A MUX connection receives no datagram that DLV-6 drops, and a closed MUX connection is never chosen:"
                    + " datagrams queued to it are discarded and counted."),
    MUX_20(MUST, SERVER, "23", Scope.V1_ONLY,
            "No socket of a NAT context expires while the context has an open MUX connection."),
    MUX_21(SHOULD, SERVER, "23", Scope.V1_ONLY,
            "A server SHOULD close a MUX connection that carried no frame in either direction for the lifetime,"
                    + " counting from its 0x15 and every frame read or written, frames to port 0 included."),
    MUX_22(SHOULD, SERVER, "23", Scope.V1_ONLY,
            "A server SHOULD bound, configurably: MUX connections per context (8, least recently active closed beyond"
                    + " that, not counted toward the command-2 limit), unsent bytes per MUX connection (1 MiB), lookups in"
                    + " flight (8) and cached names (1024) per MUX connection, and new destinations per context and"
                    + " second."),
    MUX_23(MUST, CLIENT, "23", Scope.V1_ONLY,
            "A client MUST hand a datagram received in a MUX frame to the application labelled with the frame's"
                    + " source."),
    MUX_24(SHOULD, CLIENT, "23", Scope.V1_ONLY,
            "A client SHOULD re-open a closed MUX connection with the back-off of CRF-7.");

    /** The profiles a rule applies to. */
    private enum Scope {
        ALL(EnumSet.allOf(Profile.class)),
        V1_ONLY(EnumSet.of(Profile.V1)),
        V0_ONLY(EnumSet.of(Profile.V0));

        private final Set<Profile> profiles;

        Scope(Set<Profile> profiles) {
            this.profiles = profiles;
        }
    }

    private final String id;
    private final RuleLevel level;
    private final Party party;
    private final String section;
    private final Set<Profile> profiles;
    private final String requirement;

    SpecRule(RuleLevel level, Party party, String section, Scope scope, String requirement) {
        this.id = name().replace('_', '-');
        this.level = level;
        this.party = party;
        this.section = section;
        this.profiles = scope.profiles;
        this.requirement = requirement;
    }

    /** The stable ID, for example {@code HDR-3}. */
    public String id() {
        return id;
    }

    /** The requirement level. */
    public RuleLevel level() {
        return level;
    }

    /** Whom the rule binds. */
    public Party party() {
        return party;
    }

    /** The number of the section of {@code spec/VLESS.md} that states the rule. */
    public String section() {
        return section;
    }

    /** The profiles the rule applies to. */
    public Set<Profile> profiles() {
        return EnumSet.copyOf(profiles);
    }

    /** Whether the rule applies to a target of the given profile. */
    public boolean appliesTo(Profile profile) {
        return profiles.contains(profile);
    }

    /** The requirement sentence, word for word as in the document. */
    public String requirement() {
        return requirement;
    }

    /** The document anchor of the rule, for links such as {@code VLESS.md#hdr-3}. */
    public String anchor() {
        return id.toLowerCase(java.util.Locale.ROOT);
    }

    /** Looks a rule up by its ID ({@code "NAT-2"}), case-insensitively. */
    public static Optional<SpecRule> byId(String id) {
        String name = id.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
        for (SpecRule rule : values()) {
            if (rule.name().equals(name)) {
                return Optional.of(rule);
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return id;
    }
}
