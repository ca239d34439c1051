// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressCodec;
import dev.vless.codec.VlessAddressType;
import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;

/**
 * Writes UDP-MUX frames. A server's frame is byte for byte a UMFURS (MUX-7), so its header comes from
 * {@link UmfursEncoder}; a client's frame may also name a domain.
 *
 * @see "spec/VLESS.md §23"
 */
public final class MuxFrameEncoder {

    private MuxFrameEncoder() {
    }

    /** The header length of a frame to or from {@code address}. */
    public static int headerLength(VlessAddress address) {
        return 1 + VlessAddressCodec.DEFAULT.encodedLength(address.type(), address.host()) + 2 + 2;
    }

    /** The header length of a server's frame from {@code source}. */
    public static int headerLength(InetSocketAddress source) {
        return UmfursEncoder.headerLength(source);
    }

    /**
     * Writes the header of a client's frame to {@code destination} with a payload of {@code length} bytes. Port 0 is
     * allowed: the server discards such a frame (MUX-10), so a client may use it as keepalive or padding.
     */
    public static void encodeHeader(VlessAddress destination, int length, ByteBuf out) {
        UdpFrame.checkLength(length);
        VlessAddressType type = destination.type();
        out.writeByte(type.byteValue());
        VlessAddressCodec.DEFAULT.writeAddress(type, destination.host(), out);
        out.writeShort(destination.port());
        out.writeShort(length);
    }

    /**
     * Writes the header of a server's frame from {@code source}: the UMFURS header, an IPv4-mapped source as IPv4
     * (MUX-8). Allocates nothing for an IPv4 source.
     */
    public static void encodeHeader(InetSocketAddress source, int length, ByteBuf out) {
        UmfursEncoder.encodeHeader(source, length, out);
    }

    /** Writes a whole frame: header, then the payload's readable bytes, leaving the frame as it was. */
    public static void encode(MuxFrame frame, ByteBuf out) {
        ByteBuf payload = frame.content();
        encodeHeader(frame.address(), payload.readableBytes(), out);
        out.writeBytes(payload, payload.readerIndex(), payload.readableBytes());
    }
}
