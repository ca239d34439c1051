// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

/**
 * The version byte that starts every request.
 *
 * @see "spec/VLESS.md rule VER-1"
 */
public enum VlessVersion {
    /** VLESS v0: addons in the request, a two-byte response header. */
    V0((byte) 0x00),
    /** VLESS v1: no addons, no response header, CRUMFURS. */
    V1((byte) 0x01);

    private final byte byteValue;

    VlessVersion(byte byteValue) {
        this.byteValue = byteValue;
    }

    /** The version field's byte. */
    public byte byteValue() {
        return byteValue;
    }

    /** The version for a wire byte; throws {@link ProtocolError#BAD_VERSION} for any other byte. */
    public static VlessVersion valueOf(byte b) {
        switch (b) {
            case 0x00:
                return V0;
            case 0x01:
                return V1;
            default:
                throw new VlessProtocolException(ProtocolError.BAD_VERSION,
                        String.format("version 0x%02x (expected: 0x00 or 0x01)", b & 0xff));
        }
    }
}
