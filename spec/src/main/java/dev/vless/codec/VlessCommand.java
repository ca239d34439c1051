// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

/**
 * The command byte of a request.
 *
 * @see "spec/VLESS.md rule HDR-5"
 */
public enum VlessCommand {
    /** Command 1: relay a TCP stream to the target. */
    TCP((byte) 1),
    /** Command 2: relay UDP frames to and from the target. */
    UDP((byte) 2),
    /** Command 3: Mux.Cool; no address follows (the destination is implied); the reference server refuses it. */
    MUX((byte) 3),
    /** Command 4: open the CRUMFURS channel (v1 only); no address follows. */
    CRUMFURS((byte) 4),
    /** Command 5: multiplexed UDP, every datagram of a NAT context on one connection (v1 only); no address follows. */
    UDP_MUX((byte) 5);

    private final byte byteValue;

    VlessCommand(byte byteValue) {
        this.byteValue = byteValue;
    }

    /** The command field's byte. */
    public byte byteValue() {
        return byteValue;
    }

    /** Whether the command exists only in v1 (HDR-6, MUX-1). */
    public boolean v1Only() {
        return this == CRUMFURS || this == UDP_MUX;
    }

    /** Whether a port and an address follow this command in a request: only for TCP and UDP (HDR-1, HDR-2). */
    public boolean hasAddress() {
        return this == TCP || this == UDP;
    }

    /** The command for a wire byte; throws {@link ProtocolError#UNKNOWN_COMMAND} for any other byte. */
    public static VlessCommand valueOf(byte b) {
        switch (b) {
            case 1:
                return TCP;
            case 2:
                return UDP;
            case 3:
                return MUX;
            case 4:
                return CRUMFURS;
            case 5:
                return UDP_MUX;
            default:
                throw new VlessProtocolException(ProtocolError.UNKNOWN_COMMAND,
                        String.format("command 0x%02x (expected: 1, 2, 3, 4 or 5)", b & 0xff));
        }
    }
}
