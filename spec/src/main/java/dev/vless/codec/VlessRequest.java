// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.UUID;

/**
 * A request header, v0 or v1, of any command. It holds no payload: bytes after the header follow it down the
 * pipeline as buffers of their own.
 *
 * @param version the version field
 * @param user    the user ID field
 * @param addons  the v0 addons field's bytes (opaque protobuf, usually empty); always empty for v1
 * @param command the command field
 * @param address the port and address fields; {@code null} exactly when the command is MUX or CRUMFURS
 * @see "spec/VLESS.md §4"
 */
public record VlessRequest(VlessVersion version, UUID user, byte[] addons, VlessCommand command, VlessAddress address) {

    /** Bytes of version, user ID and command: the whole CRUMFURS or UDP-MUX request. */
    public static final int CRUMFURS_LENGTH = 18;
    /** The longest header: v0 with 255 addon bytes and a 255-byte domain name. */
    public static final int MAX_LENGTH = 1 + 16 + 1 + 255 + 1 + 2 + 1 + 1 + 255;

    /** Checks every field against the rules of its version. */
    public VlessRequest {
        requireNonNull(version, "version");
        requireNonNull(user, "user");
        requireNonNull(command, "command");
        addons = requireNonNull(addons, "addons").clone();
        if (version == VlessVersion.V1 && addons.length != 0) {
            throw new IllegalArgumentException("addons: " + addons.length + " bytes (expected: none in v1)");
        }
        if (addons.length > 255) {
            throw new IllegalArgumentException("addons: " + addons.length + " bytes (expected: 0-255)");
        }
        if (version == VlessVersion.V0 && command.v1Only()) {
            throw new IllegalArgumentException("command: " + command + " (expected: TCP, UDP or MUX in v0)");
        }
        if (command.hasAddress()) {
            requireNonNull(address, "address");
            if (address.port() == 0) {
                throw new IllegalArgumentException("port: 0 (expected: 1-65535)");
            }
        } else if (address != null) {
            throw new IllegalArgumentException("address: " + address + " (expected: none for " + command + ")");
        }
    }

    /** A v1 request for a TCP or UDP relay (or Mux) to {@code address}. */
    public static VlessRequest v1(UUID user, VlessCommand command, VlessAddress address) {
        return new VlessRequest(VlessVersion.V1, user, new byte[0], command, address);
    }

    /** The v1 CRUMFURS request of {@code user}. */
    public static VlessRequest crumfurs(UUID user) {
        return new VlessRequest(VlessVersion.V1, user, new byte[0], VlessCommand.CRUMFURS, null);
    }

    /** The v1 UDP-MUX request (command 5) of {@code user}: 18 bytes, like a CRUMFURS request (MUX-1). */
    public static VlessRequest mux(UUID user) {
        return new VlessRequest(VlessVersion.V1, user, new byte[0], VlessCommand.UDP_MUX, null);
    }

    /** A v0 request without addons. */
    public static VlessRequest v0(UUID user, VlessCommand command, VlessAddress address) {
        return new VlessRequest(VlessVersion.V0, user, new byte[0], command, address);
    }

    /** A copy of the addons field's bytes. */
    @Override
    public byte[] addons() {
        return addons.clone();
    }

    /** The number of addon bytes, without copying them. */
    public int addonsLength() {
        return addons.length;
    }

    /** The length of this header on the wire. */
    public int encodedLength() {
        int n = 1 + 16 + (version == VlessVersion.V0 ? 1 + addons.length : 0) + 1;
        if (address != null) {
            n += 2 + 1 + VlessAddressCodec.DEFAULT.encodedLength(address.type(), address.host());
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VlessRequest r && version == r.version && user.equals(r.user)
                && Arrays.equals(addons, r.addons) && command == r.command
                && java.util.Objects.equals(address, r.address);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(version, user, Arrays.hashCode(addons), command, address);
    }

    @Override
    public String toString() {
        return "VlessRequest[" + version + " " + user + " " + command
                + (addons.length > 0 ? " addons=" + HexFormat.of().formatHex(addons) : "")
                + (address != null ? " " + address : "") + "]";
    }
}
