// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import dev.vless.codec.VlessAddress;
import io.netty.buffer.ByteBuf;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The static encoder of the UMFURS header; {@link dev.vless.codec.VlessServerEncoder} uses it in the pipeline.
 *
 * @see "spec/VLESS.md §10"
 */
public final class UmfursEncoder {

    private UmfursEncoder() {
    }

    /** The header length for a datagram from {@code source}. */
    public static int headerLength(InetSocketAddress source) {
        return VlessAddress.canonical(source.getAddress()) instanceof Inet4Address
                ? UmfursDecoder.IPV4_HEADER_LENGTH : UmfursDecoder.IPV6_HEADER_LENGTH;
    }

    /**
     * Writes the header of a UMFURS from {@code source} with a payload of {@code length} bytes: address type,
     * address, port, length. An IPv4-mapped source is written as IPv4 (UMF-3).
     */
    public static void encodeHeader(InetSocketAddress source, int length, ByteBuf out) {
        InetAddress ip = source.getAddress();
        if (ip == null) {
            throw new IllegalArgumentException("source: " + source + " (expected: an IP address, never a domain)");
        }
        if (source.getPort() == 0) {
            throw new IllegalArgumentException("source: " + source + " (expected: a port in 1-65535)");
        }
        UdpFrame.checkLength(length);
        ip = VlessAddress.canonical(ip);
        if (ip instanceof Inet4Address v4) {
            out.writeByte(1);
            out.writeInt(VlessAddress.ipv4Bits(v4)); // no copy of the address per datagram
        } else {
            out.writeByte(3);
            out.writeBytes(ip.getAddress());
        }
        out.writeShort(source.getPort());
        out.writeShort(length);
    }

    /** Writes a whole UMFURS: header, then {@code payload}'s readable bytes, leaving {@code payload} as it was. */
    public static void encode(InetSocketAddress source, ByteBuf payload, ByteBuf out) {
        encodeHeader(source, payload.readableBytes(), out);
        out.writeBytes(payload, payload.readerIndex(), payload.readableBytes());
    }
}
