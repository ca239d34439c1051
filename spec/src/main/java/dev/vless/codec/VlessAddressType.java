// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

/**
 * The address type byte; VLESS numbers these differently from SOCKS5.
 *
 * @see "spec/VLESS.md rule ADR-1"
 */
public enum VlessAddressType {
    /** Type 1: four bytes of IPv4 address. */
    IPV4((byte) 1),
    /** Type 2: a length byte (1..255) and that many bytes of domain name. */
    DOMAIN((byte) 2),
    /** Type 3: sixteen bytes of IPv6 address. */
    IPV6((byte) 3);

    private final byte byteValue;

    VlessAddressType(byte byteValue) {
        this.byteValue = byteValue;
    }

    /** The address type field's byte. */
    public byte byteValue() {
        return byteValue;
    }

    /** The type for a wire byte; throws {@link ProtocolError#UNKNOWN_ADDRESS_TYPE} for any other byte. */
    public static VlessAddressType valueOf(byte b) {
        switch (b) {
            case 1:
                return IPV4;
            case 2:
                return DOMAIN;
            case 3:
                return IPV6;
            default:
                throw new VlessProtocolException(ProtocolError.UNKNOWN_ADDRESS_TYPE,
                        String.format("address type 0x%02x (expected: 1, 2 or 3)", b & 0xff));
        }
    }
}
