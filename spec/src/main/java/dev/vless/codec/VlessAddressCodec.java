// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import io.netty.buffer.ByteBuf;
import io.netty.util.NetUtil;
import java.nio.charset.StandardCharsets;

/**
 * Reads and writes the address field that follows an address type byte. The request, and UMFURS codecs share it.
 *
 * @see "spec/VLESS.md §5"
 */
public abstract class VlessAddressCodec {

    /** The codec of the specification. */
    public static final VlessAddressCodec DEFAULT = new VlessAddressCodec() { };

    /** Subclasses may only refine the default codec. */
    protected VlessAddressCodec() {
    }

    /**
     * The length of the address field of {@code type} that starts at {@code index}, or -1 while bytes before
     * {@code endIndex} are not enough to tell. Checks what is there without consuming anything, so that bad input
     * fails as soon as it arrives.
     *
     * @throws VlessProtocolException for an empty domain (ADR-2) or a byte a domain must not contain (ADR-3)
     */
    public int addressLength(VlessAddressType type, ByteBuf in, int index, int endIndex) {
        switch (type) {
            case IPV4:
                return 4;
            case IPV6:
                return 16;
            case DOMAIN:
                if (index >= endIndex) {
                    return -1;
                }
                int len = in.getUnsignedByte(index);
                if (len == 0) {
                    throw new VlessProtocolException(ProtocolError.EMPTY_DOMAIN, "domain name of length 0");
                }
                int last = Math.min(endIndex, index + 1 + len);
                for (int i = index + 1; i < last; i++) {
                    byte b = in.getByte(i);
                    if (!isDomainByte((char) (b & 0xff))) {
                        throw new VlessProtocolException(ProtocolError.INVALID_DOMAIN, String.format(
                                "byte 0x%02x at %d of the domain name (expected: 0x21-0x7e)", b & 0xff,
                                i - index - 1));
                    }
                }
                return 1 + len;
            default:
                throw new AssertionError(type);
        }
    }

    /** Reads an address field of {@code type} that {@link #addressLength} has found complete. */
    public String readAddress(VlessAddressType type, ByteBuf in) {
        switch (type) {
            case IPV4: {
                int ip = in.readInt();
                return (ip >>> 24) + "." + ((ip >> 16) & 0xff) + "." + ((ip >> 8) & 0xff) + "." + (ip & 0xff);
            }
            case IPV6: {
                byte[] ip = new byte[16];
                in.readBytes(ip);
                return NetUtil.bytesToIpAddress(ip);
            }
            case DOMAIN: {
                int len = in.readUnsignedByte();
                String name = in.toString(in.readerIndex(), len, StandardCharsets.US_ASCII);
                in.skipBytes(len);
                return name;
            }
            default:
                throw new AssertionError(type);
        }
    }

    /** Writes the address field of {@code type}; {@code host} is as {@link VlessAddress} holds it. */
    public void writeAddress(VlessAddressType type, String host, ByteBuf out) {
        switch (type) {
            case IPV4:
            case IPV6:
                out.writeBytes(NetUtil.createByteArrayFromIpAddressString(host));
                break;
            case DOMAIN:
                out.writeByte(host.length());
                out.writeCharSequence(host, StandardCharsets.US_ASCII);
                break;
            default:
                throw new AssertionError(type);
        }
    }

    /** The length {@link #writeAddress} writes. */
    public int encodedLength(VlessAddressType type, String host) {
        switch (type) {
            case IPV4:
                return 4;
            case IPV6:
                return 16;
            case DOMAIN:
                return 1 + host.length();
            default:
                throw new AssertionError(type);
        }
    }

    /** Whether a domain name may contain this character: printable US-ASCII without space (ADR-3). */
    public static boolean isDomainByte(char c) {
        return c >= 0x21 && c <= 0x7e;
    }
}
