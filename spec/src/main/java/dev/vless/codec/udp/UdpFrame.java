// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import io.netty.buffer.ByteBuf;

/**
 * Sizes and the static codec of the UDP frame, {@code length(2, big-endian, unsigned) payload}, that carries one
 * datagram in either direction of a command-2 connection. In a pipeline a decoded frame is its payload
 * {@link ByteBuf}: one object per datagram, nothing wrapped around it.
 *
 * @see "spec/VLESS.md §8"
 */
public final class UdpFrame {

    /** Bytes of the length field. */
    public static final int HEADER_LENGTH = 2;
    /** The largest payload the length field can carry. */
    public static final int MAX_PAYLOAD = 0xffff;
    /** The largest UDP payload an IPv4 socket can send (65535 - 20 - 8). */
    public static final int MAX_IPV4_PAYLOAD = 65507;
    /** The largest UDP payload an IPv6 socket can send without jumbograms (65535 - 8). */
    public static final int MAX_IPV6_PAYLOAD = 65527;

    private UdpFrame() {
    }

    /** Writes one frame carrying {@code payload}'s readable bytes to {@code out}, leaving {@code payload} as it was. */
    public static void encode(ByteBuf payload, ByteBuf out) {
        int length = payload.readableBytes();
        checkLength(length);
        out.writeShort(length);
        out.writeBytes(payload, payload.readerIndex(), length);
    }

    /** Throws if {@code length} does not fit the length field. */
    public static void checkLength(int length) {
        if (length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload: " + length + " bytes (expected: 0-" + MAX_PAYLOAD + ")");
        }
    }
}
