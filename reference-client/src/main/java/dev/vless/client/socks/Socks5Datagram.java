// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.socks;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import io.netty.buffer.ByteBuf;
import io.netty.util.NetUtil;
import java.nio.charset.StandardCharsets;

/**
 * The header of a datagram on a SOCKS5 UDP association (RFC 1928 §7): {@code RSV(2) FRAG(1) ATYP(1) DST.ADDR
 * DST.PORT(2)}, then the payload. Towards the application the address is the datagram's source.
 */
public final class Socks5Datagram {

    /** The shortest header: an IPv4 address. */
    public static final int MIN_HEADER_LENGTH = 10;

    private static final byte ATYP_IPV4 = 1;
    private static final byte ATYP_DOMAIN = 3;
    private static final byte ATYP_IPV6 = 4;

    private Socks5Datagram() {
    }

    /**
     * A decoded header.
     *
     * @param fragment the FRAG field; 0 for a datagram that stands alone
     * @param address  DST.ADDR and DST.PORT, in VLESS terms (a SOCKS5 domain becomes a VLESS domain)
     * @param length   the header's length: the payload starts this many bytes in
     */
    public record Header(int fragment, VlessAddress address, int length) {
    }

    /**
     * Reads the header at the start of {@code in}'s readable bytes without consuming anything.
     *
     * @throws IllegalArgumentException when the header is truncated, names an unknown address type, or holds an
     *                                  address VLESS cannot carry (a domain with bytes outside printable ASCII)
     */
    public static Header decodeHeader(ByteBuf in) {
        int start = in.readerIndex();
        int readable = in.readableBytes();
        if (readable < 4) {
            throw new IllegalArgumentException("datagram of " + readable + " bytes (expected: a SOCKS5 UDP header)");
        }
        int fragment = in.getUnsignedByte(start + 2);
        byte type = in.getByte(start + 3);
        int addressStart = start + 4;
        String host;
        VlessAddressType vlessType;
        int addressLength;
        switch (type) {
            case ATYP_IPV4:
            case ATYP_IPV6: {
                addressLength = type == ATYP_IPV4 ? 4 : 16;
                need(readable, 4 + addressLength + 2);
                byte[] ip = new byte[addressLength];
                in.getBytes(addressStart, ip);
                host = NetUtil.bytesToIpAddress(ip);
                vlessType = type == ATYP_IPV4 ? VlessAddressType.IPV4 : VlessAddressType.IPV6;
                break;
            }
            case ATYP_DOMAIN: {
                need(readable, 5);
                int nameLength = in.getUnsignedByte(addressStart);
                addressLength = 1 + nameLength;
                need(readable, 4 + addressLength + 2);
                host = in.toString(addressStart + 1, nameLength, StandardCharsets.ISO_8859_1);
                vlessType = VlessAddressType.DOMAIN;
                break;
            }
            default:
                throw new IllegalArgumentException(String.format("address type 0x%02x (expected: 1, 3 or 4)",
                        type & 0xff));
        }
        int port = in.getUnsignedShort(addressStart + addressLength);
        VlessAddress address = new VlessAddress(vlessType, host, port);
        return new Header(fragment, address, 4 + addressLength + 2);
    }

    /** The length of the header {@link #encodeHeader} writes for {@code source}. */
    public static int headerLength(VlessAddress source) {
        switch (source.type()) {
            case IPV4:
                return 4 + 4 + 2;
            case IPV6:
                return 4 + 16 + 2;
            case DOMAIN:
                return 4 + 1 + source.host().length() + 2;
            default:
                throw new AssertionError(source.type());
        }
    }

    /**
     * Writes the header of a datagram from {@code source} to the application: RSV 0, FRAG 0, then the address as the
     * record holds it (callers pass UMFURS sources canonical, ADR-4).
     */
    public static void encodeHeader(VlessAddress source, ByteBuf out) {
        out.writeShort(0);
        out.writeByte(0);
        switch (source.type()) {
            case IPV4:
                out.writeByte(ATYP_IPV4);
                out.writeBytes(NetUtil.createByteArrayFromIpAddressString(source.host()));
                break;
            case IPV6:
                out.writeByte(ATYP_IPV6);
                out.writeBytes(NetUtil.createByteArrayFromIpAddressString(source.host()));
                break;
            case DOMAIN:
                out.writeByte(ATYP_DOMAIN);
                out.writeByte(source.host().length());
                out.writeCharSequence(source.host(), StandardCharsets.US_ASCII);
                break;
            default:
                throw new AssertionError(source.type());
        }
        out.writeShort(source.port());
    }

    private static void need(int readable, int length) {
        if (readable < length) {
            throw new IllegalArgumentException("datagram of " + readable + " bytes ends inside its SOCKS5 header of "
                    + length + " bytes");
        }
    }
}
