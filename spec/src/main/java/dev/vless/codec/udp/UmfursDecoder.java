// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessProtocolException;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Decodes the UMFURS messages a client receives on CRUMFURS after the acknowledgement, each into an
 * {@link UmfursMessage} whose source is canonical (an IPv4-mapped IPv6 source becomes IPv4, ADR-4).
 *
 * <p>Once it has failed the decoder is done: a CRUMFURS stream out of sync cannot be resynchronised, and the client
 * closes it (UMF-2).
 *
 * @see "spec/VLESS.md §10"
 */
public final class UmfursDecoder extends ByteToMessageDecoder {

    /** Bytes of a UMFURS header with an IPv4 source: type, address, port, length. */
    public static final int IPV4_HEADER_LENGTH = 1 + 4 + 2 + 2;
    /** Bytes of a UMFURS header with an IPv6 source. */
    public static final int IPV6_HEADER_LENGTH = 1 + 16 + 2 + 2;

    private boolean failed;

    /** Creates a decoder for one CRUMFURS connection. */
    public UmfursDecoder() {
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            if (messageLength(in) >= 0) {
                out.add(decode(in));
            }
        } catch (VlessProtocolException e) {
            failed = true;
            throw e;
        }
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.isReadable() && !failed) {
            int before = in.readableBytes();
            decode(ctx, in, out);
            if (in.readableBytes() == before) {
                failed = true;
                in.skipBytes(before);
                throw new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.UMF_1,
                        "stream ended inside a UMFURS, " + before + " bytes in");
            }
        }
    }

    /**
     * The length of the UMFURS at the start of {@code in}'s readable bytes, or -1 while incomplete; reads nothing and
     * checks the fields that have arrived.
     */
    public static int messageLength(ByteBuf in) {
        int start = in.readerIndex();
        int readable = in.readableBytes();
        if (readable < 1) {
            return -1;
        }
        byte type = in.getByte(start);
        int headerLength;
        if (type == 1) {
            headerLength = IPV4_HEADER_LENGTH;
        } else if (type == 3) {
            headerLength = IPV6_HEADER_LENGTH;
        } else {
            throw new VlessProtocolException(ProtocolError.BAD_SOURCE_TYPE, String.format(
                    "address type 0x%02x (expected: 1 or 3; a source is never a domain)", type & 0xff));
        }
        int portIndex = start + headerLength - 4;
        if (readable >= headerLength - 2 && in.getUnsignedShort(portIndex) == 0) {
            throw new VlessProtocolException(ProtocolError.SOURCE_PORT_ZERO, "source port 0");
        }
        if (readable < headerLength) {
            return -1;
        }
        int length = headerLength + in.getUnsignedShort(portIndex + 2);
        return readable < length ? -1 : length;
    }

    /**
     * Decodes one whole UMFURS from {@code in}, advancing past it; the message holds a retained slice of {@code in}.
     *
     * @throws VlessProtocolException for bad input, {@link ProtocolError#TRUNCATED} when {@code in} ends early
     */
    public static UmfursMessage decode(ByteBuf in) {
        if (messageLength(in) < 0) {
            throw new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.UMF_1,
                    "UMFURS incomplete after " + in.readableBytes() + " bytes");
        }
        byte[] ip = new byte[in.readByte() == 1 ? 4 : 16];
        in.readBytes(ip);
        int port = in.readUnsignedShort();
        int length = in.readUnsignedShort();
        InetAddress address;
        try {
            // getByAddress turns an IPv4-mapped IPv6 address into IPv4 (ADR-4).
            address = InetAddress.getByAddress(ip);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
        return new UmfursMessage(in.readRetainedSlice(length), new InetSocketAddress(address, port));
    }
}
