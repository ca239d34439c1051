// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.util.Map;

/**
 * Server rules no case can check from outside the server, each with the reason the report gives for its
 * NOT_OBSERVABLE verdict. Every other server rule has a case; a rule in neither place is UNCOVERED.
 */
final class Unobservable {

    private static final Map<String, String> REASONS = Map.of(
            "HDR-4", "a comparison whose time depends on where two user IDs differ differs by nanoseconds, far below"
                    + " the jitter of a network round trip; what does show, that the close after an unknown user ID"
                    + " does not depend on the ID, is checked by ERR-2 and ERR-3",
            "LIF-3", "whether the lifetime can be configured and what its default is are facts of the server's"
                    + " configuration, not of its behaviour; the lifetime cases check the lifetime the run is told"
                    + " (--udp-lifetime)");

    /** Client rules whose server side a server run does check, and where. */
    private static final Map<String, String> SERVER_SIDES = Map.of(
            "CRF-5", "its server side, that command 2 is served with or without a CRUMFURS, is UDP-6",
            "CRF-6", "its server side, that the first byte on CRUMFURS is 0x14 and nothing else, is CRF-1",
            "DLV-4", "its server side, that datagrams from X go to CRUMFURS once the client's connections to X"
                    + " closed, is checked by the DLV-1 · DLV-2 case",
            "RSP-3", "its server side, the v0 response header 00 00, is RSP-2",
            "MUX-4", "its server side, that 0x15 comes alone and only frames follow it, is MUX-3",
            "MUX-5", "its server side, that a server without the mode sends no byte to command 5 (so that a client's"
                    + " deadline decides), is MUX-2",
            "MUX-6", "a server cannot see whether a client asks again within 10 minutes",
            "MUX-23", "its server side, that a frame names the datagram's true source, is MUX-8",
            "MUX-24", "its server side, that a re-opened MUX connection gets the context's datagrams, is MUX-18");

    private Unobservable() {
    }

    /** What a server run says of client rule {@code ruleId}. */
    static String clientRule(String ruleId) {
        String side = SERVER_SIDES.get(ruleId);
        return "binds clients: a run against a server cannot see it" + (side != null ? "; " + side : "");
    }

    /**
     * Rules for both sides whose client side nothing outside a client can show: the client receives what they are
     * about from nobody.
     */
    private static final Map<String, String> CLIENT_REASONS = Map.of(
            "ADR-2", "a client receives no domain names (UMFURS and a server's UDP-MUX frames carry IP addresses, and a"
                    + " domain there is a UMF-2 or MUX frame error); the names it sends are checked by HDR-1's case",
            "ADR-3", "a client receives no domain names (UMFURS and a server's UDP-MUX frames carry IP addresses, and a"
                    + " domain there is a UMF-2 or MUX frame error); the names it sends are checked by HDR-1's case",
            "ADR-4", "it binds lookups, comparisons and UMFURS encoding: a client's request may name a remote in either"
                    + " form (the server canonicalises), and what a client compares, its table of remotes, shows only"
                    + " through CLI-1, a SHOULD");

    /** Why {@code ruleId} cannot be checked from outside the side a run checks, or {@code null} when it can. */
    static String reason(String ruleId, dev.vless.spec.Party checked) {
        return checked == dev.vless.spec.Party.CLIENT ? CLIENT_REASONS.get(ruleId) : REASONS.get(ruleId);
    }

    /** What a client run says of server rule {@code ruleId}. */
    static String serverRule(String ruleId) {
        return "binds servers: a run against a client cannot see it (a server run, vless-conformance --target,"
                + " checks it)";
    }
}
