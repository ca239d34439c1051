// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * The v0 response header: version 0 and addons, sent once before the first response byte. v1 has none.
 *
 * @param addons the addons field's bytes, usually empty
 * @see "spec/VLESS.md rule RSP-2"
 */
public record VlessResponseHeader(byte[] addons) {

    /** The header every v0 server sends: {@code 00 00}. */
    public static final VlessResponseHeader DEFAULT = new VlessResponseHeader(new byte[0]);

    /** Checks and copies the addons. */
    public VlessResponseHeader {
        addons = requireNonNull(addons, "addons").clone();
        if (addons.length > 255) {
            throw new IllegalArgumentException("addons: " + addons.length + " bytes (expected: 0-255)");
        }
    }

    /** A copy of the addons field's bytes. */
    @Override
    public byte[] addons() {
        return addons.clone();
    }

    /** The length of this header on the wire. */
    public int encodedLength() {
        return 2 + addons.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VlessResponseHeader h && Arrays.equals(addons, h.addons);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(addons);
    }

    @Override
    public String toString() {
        return "VlessResponseHeader[addons=" + HexFormat.of().formatHex(addons) + "]";
    }
}
