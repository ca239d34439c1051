// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.mutants;

/**
 * The one bug a {@link MutantClient} has: each models a mistake real clients have made, and breaks the rule named in
 * its description, so that the client conformance suite can be shown to catch it.
 */
public enum ClientFault {

    /** No fault: a correct v1 client, in the per-remote UDP mode or (if launched so) the UDP-MUX mode. */
    CLEAN,

    /**
     * Opens CRUMFURS to the UDP destination's address and port instead of the VLESS server (a real third-party bug),
     * takes the failure there for "no CRUMFURS" and sends command 2 anyway: breaks CRF-5.
     */
    CRUMFURS_TO_TARGET,

    /** Writes the CRUMFURS request and sends its first command 2 without waiting for 0x14: breaks CRF-5. */
    NO_ACK_WAIT,

    /** Takes any first byte on CRUMFURS for the acknowledgement: breaks CRF-6. */
    WRONG_ACK_ACCEPTED,

    /** Re-opens a closed CRUMFURS at once, every time, instead of backing off from 1 s: breaks CRF-7 (SHOULD). */
    NO_BACKOFF,

    /** Drops a UMFURS whose source it has (or had) a command-2 connection to, as "already known": breaks DLV-4. */
    KNOWN_SOURCE_UMFURS_DROPPED,

    /** Hands UMFURS datagrams to the application labelled with the VLESS server's address: breaks CLI-2. */
    WRONG_SOURCE_LABEL,

    /** Trusts any TLS certificate (neither the pin nor the CAs are checked): breaks TLS-3. */
    ACCEPTS_ANY_CERTIFICATE,

    /** Takes 10 bytes too many off the start of every SOCKS5 UDP datagram from the application: breaks CLI-4. */
    CUTS_SOCKS_PAYLOAD,

    /** Never sends an empty datagram, in either direction (an empty read taken for "nothing to do"): breaks UDP-2. */
    DROPS_EMPTY_DATAGRAMS,

    /** Opens a new command-2 connection for every datagram instead of reusing one per remote: breaks CLI-1 (SHOULD). */
    CONNECTION_PER_DATAGRAM,

    /** Reads the server's frame length as a signed short, so frames of 32768 bytes and more break it: breaks UDP-2. */
    SIGNED_FRAME_LENGTH,

    /**
     * Crashes on an empty UMFURS, as a client that reads the first payload byte would (a real third-party client panics
     * on short datagrams): the process ends. Breaks UMF-5, and shows that a client dying mid-run is reported as such.
     */
    CRASHES_ON_EMPTY_UMFURS,

    // UDP-MUX faults: each puts the client in its UDP-MUX mode (command 5 first, per remote only as the fall-back).

    /** Writes its first frame right after the UDP-MUX request, without waiting for 0x15: breaks MUX-4. */
    MUX_FRAME_BEFORE_ACK,

    /** Takes command 5 closed, answered wrongly or not at all for a glitch, and drops the datagrams: breaks MUX-5. */
    MUX_NO_FALLBACK,

    /** Forgets a fall-back at once and asks for UDP-MUX again for the next association: breaks MUX-6 (SHOULD). */
    MUX_ASKS_AGAIN,

    /** Hands datagrams from MUX frames to the application labelled with the VLESS server's address: breaks MUX-23. */
    MUX_SERVER_LABEL,

    /** Re-opens a closed MUX connection at once, every time, instead of after 1 s, 2 s ...: breaks MUX-24 (SHOULD). */
    MUX_NO_BACKOFF,

    /** Reads a server frame with address type 2 (a domain) as a datagram instead of a frame error: breaks MUX-11. */
    MUX_DOMAIN_ACCEPTED;

    /** Whether the fault is about UDP-MUX, and so needs the client in its UDP-MUX mode. */
    public boolean mux() {
        return name().startsWith("MUX_");
    }
}
