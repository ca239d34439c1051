// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.socks;

import dev.vless.codec.VlessAddressCodec;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.socksx.v5.DefaultSocks5CommandRequest;
import io.netty.handler.codec.socksx.v5.Socks5AddressType;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;
import io.netty.handler.codec.socksx.v5.Socks5CommandType;
import io.netty.util.NetUtil;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Decodes the SOCKS5 request ({@code VER CMD RSV ATYP DST.ADDR DST.PORT}, RFC 1928 §4) into one
 * {@link DefaultSocks5CommandRequest}; bytes the application sent behind the request follow it as buffers, unchanged.
 *
 * <p>Unlike the VLESS decoders it does not remove itself: the handler behind it replaces itself with the backend's
 * handler when the request arrives, and a decoder removing itself at that moment would hand the trailing bytes to
 * the replaced handler's old successor. The front takes this decoder out once the backend's handler is in place.
 *
 * <p>Netty's own request decoder folds every failure into one "decoder result"; this one tells them apart, because
 * each gets a different answer: a version other than 5 closes the connection without a reply, an unknown address
 * type is answered with 0x08, and a domain name that VLESS cannot carry (ADR-2, ADR-3) with 0x08 as well. The command
 * is not judged here; the front answers commands it does not serve with 0x07.
 */
public final class Socks5CommandDecoder extends ByteToMessageDecoder {

    /** The SOCKS version byte. */
    static final byte VERSION = 5;

    private enum State { READ_REQUEST, DONE, FAILED }

    private State state = State.READ_REQUEST;

    /** Creates a decoder for one connection. */
    public Socks5CommandDecoder() {
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (state) {
            case READ_REQUEST:
                int length;
                try {
                    length = requestLength(in);
                } catch (Socks5RequestException e) {
                    state = State.FAILED;
                    in.skipBytes(in.readableBytes());
                    throw e;
                }
                if (length < 0) {
                    return;
                }
                out.add(decode(in.readSlice(length)));
                state = State.DONE;
                break;
            case DONE:
                out.add(in.readRetainedSlice(in.readableBytes()));
                break;
            case FAILED:
                in.skipBytes(in.readableBytes());
                break;
            default:
                throw new AssertionError(state);
        }
    }

    /**
     * The length of the request at the start of {@code in}, or -1 while incomplete; reads nothing and checks each
     * field as soon as it is there.
     *
     * @throws Socks5RequestException for a bad version, an unknown address type or a domain VLESS cannot carry
     */
    public static int requestLength(ByteBuf in) {
        int start = in.readerIndex();
        int readable = in.readableBytes();
        if (readable < 1) {
            return -1;
        }
        byte version = in.getByte(start);
        if (version != VERSION) {
            throw new Socks5RequestException(null, String.format("version 0x%02x (expected: 0x05)", version & 0xff));
        }
        if (readable < 4) {
            return -1;
        }
        byte type = in.getByte(start + 3);
        int addressLength;
        if (type == Socks5AddressType.IPv4.byteValue()) {
            addressLength = 4;
        } else if (type == Socks5AddressType.IPv6.byteValue()) {
            addressLength = 16;
        } else if (type == Socks5AddressType.DOMAIN.byteValue()) {
            if (readable < 5) {
                return -1;
            }
            int nameLength = in.getUnsignedByte(start + 4);
            if (nameLength == 0) {
                throw new Socks5RequestException(Socks5CommandStatus.ADDRESS_UNSUPPORTED,
                        "empty domain name (VLESS rule ADR-2)");
            }
            int end = Math.min(start + readable, start + 5 + nameLength);
            for (int i = start + 5; i < end; i++) {
                int b = in.getUnsignedByte(i);
                if (!VlessAddressCodec.isDomainByte((char) b)) {
                    throw new Socks5RequestException(Socks5CommandStatus.ADDRESS_UNSUPPORTED, String.format(
                            "domain name byte 0x%02x (VLESS carries printable ASCII only, IDNs in A-label form: "
                                    + "rule ADR-3)", b));
                }
            }
            addressLength = 1 + nameLength;
        } else {
            throw new Socks5RequestException(Socks5CommandStatus.ADDRESS_UNSUPPORTED,
                    String.format("address type 0x%02x (expected: 1, 3 or 4)", type & 0xff));
        }
        int length = 4 + addressLength + 2;
        return readable < length ? -1 : length;
    }

    /** Decodes one whole request that {@link #requestLength} found complete. */
    public static DefaultSocks5CommandRequest decode(ByteBuf in) {
        in.skipBytes(1);
        Socks5CommandType command = Socks5CommandType.valueOf(in.readByte());
        in.skipBytes(1); // RSV
        Socks5AddressType type = Socks5AddressType.valueOf(in.readByte());
        String host;
        if (type == Socks5AddressType.IPv4 || type == Socks5AddressType.IPv6) {
            byte[] ip = new byte[type == Socks5AddressType.IPv4 ? 4 : 16];
            in.readBytes(ip);
            host = NetUtil.bytesToIpAddress(ip);
        } else {
            int length = in.readUnsignedByte();
            host = in.readCharSequence(length, StandardCharsets.US_ASCII).toString();
        }
        int port = in.readUnsignedShort();
        return new DefaultSocks5CommandRequest(command, type, host, port);
    }
}
