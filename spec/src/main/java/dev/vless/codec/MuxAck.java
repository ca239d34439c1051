// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

/**
 * The server's one-byte answer to a UDP-MUX request, {@code 0x15} (MUX_ESTABLISHED): the mode is supported and every
 * later byte is frames.
 *
 * @see "spec/VLESS.md rule MUX-3"
 */
public record MuxAck() {

    /** The only instance a codec needs. */
    public static final MuxAck INSTANCE = new MuxAck();

    /** The answer byte. */
    public static final byte VALUE = 0x15;
}
