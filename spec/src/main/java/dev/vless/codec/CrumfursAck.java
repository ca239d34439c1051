// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

/**
 * The server's one-byte answer to a CRUMFURS request, {@code 0x14} (CRUMFURS_ESTABLISHED).
 *
 * @see "spec/VLESS.md rule CRF-1"
 */
public record CrumfursAck() {

    /** The only instance a codec needs. */
    public static final CrumfursAck INSTANCE = new CrumfursAck();

    /** The acknowledgement byte. */
    public static final byte VALUE = 0x14;
}
