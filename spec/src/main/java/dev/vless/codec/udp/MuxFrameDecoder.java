// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressCodec;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessProtocolException;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits a UDP-MUX stream (after the {@code 0x15}) into {@link MuxFrame}s: address type, address, port, length,
 * payload (MUX-7). Which address types are valid depends on the direction: a client's frames may name a domain, a
 * server's may not, and a server's source port is never 0 (MUX-8).
 *
 * <p>Every field is checked as soon as it has arrived, so bad input fails without waiting for the rest of the frame.
 * Once it has failed the decoder discards everything: the stream is out of sync and the connection closes (MUX-11).
 *
 * @see "spec/VLESS.md §23"
 */
public final class MuxFrameDecoder extends ByteToMessageDecoder {

    /** Which side wrote the frames being decoded. */
    public enum Direction {
        /** Frames a client sends: address type 1, 2 or 3, the destination; port 0 is a valid no-op. */
        FROM_CLIENT,
        /** Frames a server sends: address type 1 or 3, the true source, never port 0. */
        FROM_SERVER
    }

    /** Address type, port and length: the bytes of a frame header besides the address field. */
    private static final int FIXED_HEADER_BYTES = 1 + 2 + 2;

    private final Direction direction;
    private boolean failed;

    /** Creates a decoder for one connection, for the frames {@code direction} names. */
    public MuxFrameDecoder(Direction direction) {
        this.direction = java.util.Objects.requireNonNull(direction, "direction");
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            if (frameLength(in, direction) >= 0) {
                out.add(decode(in, direction));
            }
        } catch (VlessProtocolException e) {
            failed = true;
            in.skipBytes(in.readableBytes());
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
                throw new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.MUX_12,
                        "stream ended inside a MUX frame, " + before + " bytes in");
            }
        }
    }

    /**
     * The length of the whole frame at the start of {@code in}'s readable bytes, or -1 while it is incomplete. Reads
     * nothing, allocates nothing, and checks every field that has arrived.
     *
     * @throws VlessProtocolException for a frame error (MUX-11)
     */
    public static int frameLength(ByteBuf in, Direction direction) {
        int start = in.readerIndex();
        int end = in.writerIndex();
        if (start >= end) {
            return -1;
        }
        byte typeByte = in.getByte(start);
        VlessAddressType type;
        if (direction == Direction.FROM_SERVER) {
            if (typeByte == 1) {
                type = VlessAddressType.IPV4;
            } else if (typeByte == 3) {
                type = VlessAddressType.IPV6;
            } else {
                throw new VlessProtocolException(ProtocolError.BAD_SOURCE_TYPE, SpecRule.MUX_11, String.format(
                        "address type 0x%02x in a server's frame (expected: 1 or 3; a source is never a domain)",
                        typeByte & 0xff));
            }
        } else {
            try {
                type = VlessAddressType.valueOf(typeByte);
            } catch (VlessProtocolException e) {
                throw new VlessProtocolException(e.error(), SpecRule.MUX_11, detail(e));
            }
        }
        int addressLength;
        try {
            addressLength = VlessAddressCodec.DEFAULT.addressLength(type, in, start + 1, end);
        } catch (VlessProtocolException e) {
            throw new VlessProtocolException(e.error(), SpecRule.MUX_11, detail(e));
        }
        if (addressLength < 0) {
            return -1;
        }
        int portIndex = start + 1 + addressLength;
        if (portIndex + 2 > end) {
            return -1;
        }
        if (direction == Direction.FROM_SERVER && in.getUnsignedShort(portIndex) == 0) {
            throw new VlessProtocolException(ProtocolError.SOURCE_PORT_ZERO, SpecRule.MUX_11,
                    "source port 0 in a server's frame");
        }
        if (portIndex + 4 > end) {
            return -1;
        }
        int length = FIXED_HEADER_BYTES + addressLength + in.getUnsignedShort(portIndex + 2);
        return end - start < length ? -1 : length;
    }

    /**
     * Decodes one whole frame from {@code in}, advancing past it; the frame holds a retained slice of {@code in}.
     *
     * @throws VlessProtocolException for a frame error, {@link ProtocolError#TRUNCATED} when {@code in} ends early
     */
    public static MuxFrame decode(ByteBuf in, Direction direction) {
        if (frameLength(in, direction) < 0) {
            throw new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.MUX_12,
                    "MUX frame incomplete after " + in.readableBytes() + " bytes");
        }
        VlessAddressType type = VlessAddressType.valueOf(in.readByte());
        String host = VlessAddressCodec.DEFAULT.readAddress(type, in);
        int port = in.readUnsignedShort();
        int length = in.readUnsignedShort();
        VlessAddress address = new VlessAddress(type, host, port);
        if (type == VlessAddressType.IPV6 && address.isIpv4Mapped()) {
            address = VlessAddress.of(address.toInetSocketAddress()); // canonical (ADR-4)
        }
        return new MuxFrame(address, in.readRetainedSlice(length));
    }

    /** The detail of {@code e} without the rule and slug its message starts with. */
    private static String detail(VlessProtocolException e) {
        String m = e.getMessage();
        int colon = m.indexOf(": ");
        return colon < 0 ? m : m.substring(colon + 2);
    }
}
