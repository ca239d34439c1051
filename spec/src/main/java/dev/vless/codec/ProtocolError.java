// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import dev.vless.spec.SpecRule;

/**
 * The kinds of malformed input a VLESS decoder rejects. Test vectors name these kinds by {@link #slug()}, so other
 * implementations can match them without our Java.
 */
public enum ProtocolError {
    /** The version byte is neither 0x00 nor 0x01. */
    BAD_VERSION("bad-version", SpecRule.VER_2),
    /** The command byte is not 1 to 5. */
    UNKNOWN_COMMAND("unknown-command", SpecRule.HDR_5),
    /** Command 4 (CRUMFURS) or 5 (UDP-MUX) in a v0 request. */
    COMMAND_NOT_IN_VERSION("command-not-in-version", SpecRule.HDR_6),
    /** The address type is not 1, 2 or 3. */
    UNKNOWN_ADDRESS_TYPE("unknown-address-type", SpecRule.ADR_1),
    /** A domain name of length 0. */
    EMPTY_DOMAIN("empty-domain", SpecRule.ADR_2),
    /** A domain name with a byte outside 0x21..0x7E. */
    INVALID_DOMAIN("invalid-domain", SpecRule.ADR_3),
    /** Port 0 in a request. */
    PORT_ZERO("port-zero", SpecRule.HDR_8),
    /** The stream ended inside a header, frame or message. */
    TRUNCATED("truncated", SpecRule.HDR_12),
    /** The first byte of a CRUMFURS connection is not 0x14. */
    BAD_ACKNOWLEDGEMENT("bad-acknowledgement", SpecRule.CRF_6),
    /** A UMFURS whose address type is 2 (domain) or unknown. */
    BAD_SOURCE_TYPE("bad-source-type", SpecRule.UMF_2),
    /** A UMFURS whose source port is 0. */
    SOURCE_PORT_ZERO("source-port-zero", SpecRule.UMF_6),
    /** A v0 response header whose version byte is not 0x00. */
    BAD_RESPONSE_VERSION("bad-response-version", SpecRule.RSP_3),
    /** The first byte of a UDP-MUX connection is not 0x15, or the stream ended before it: the mode is unavailable. */
    MUX_UNAVAILABLE("mux-unavailable", SpecRule.MUX_5);

    private final String slug;
    private final SpecRule defaultRule;

    ProtocolError(String slug, SpecRule defaultRule) {
        this.slug = slug;
        this.defaultRule = defaultRule;
    }

    /** The kind's name in test vectors, for example {@code port-zero}. */
    public String slug() {
        return slug;
    }

    /** The rule this kind of input breaks when no more specific rule applies. */
    public SpecRule defaultRule() {
        return defaultRule;
    }

    /** Looks a kind up by its vector name. */
    public static ProtocolError bySlug(String slug) {
        for (ProtocolError e : values()) {
            if (e.slug.equals(slug)) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown error kind: " + slug);
    }
}
