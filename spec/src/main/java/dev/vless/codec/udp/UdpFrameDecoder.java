// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessProtocolException;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits a command-2 stream into datagrams: each frame becomes one payload {@link ByteBuf} of its own, empty frames
 * included (UDP-2). Every length is valid, so the only bad input is a stream that ends inside a frame.
 *
 * @see "spec/VLESS.md §8"
 */
public final class UdpFrameDecoder extends ByteToMessageDecoder {

    /** Creates a decoder for one connection. */
    public UdpFrameDecoder() {
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int readable = in.readableBytes();
        if (readable < UdpFrame.HEADER_LENGTH) {
            return;
        }
        int length = in.getUnsignedShort(in.readerIndex());
        if (readable < UdpFrame.HEADER_LENGTH + length) {
            return;
        }
        in.skipBytes(UdpFrame.HEADER_LENGTH);
        // A copy rather than a retained slice: a slice is a new object per datagram under Netty 4.2's default
        // allocator, and it pins the whole cumulation buffer until the datagram is sent, which keeps the decoder
        // from reusing that buffer. A datagram is at most 64 KiB and usually far less, so the copy costs little.
        ByteBuf payload = ctx.alloc().ioBuffer(length);
        in.readBytes(payload, length);
        out.add(payload);
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.isReadable()) {
            int before = in.readableBytes();
            decode(ctx, in, out);
            if (in.readableBytes() == before) {
                int readable = in.readableBytes();
                in.skipBytes(readable);
                throw new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.UDP_1,
                        "stream ended inside a UDP frame, " + readable + " bytes in");
            }
        }
    }

    /**
     * Decodes one whole frame from {@code in}, returning a retained slice of its payload.
     *
     * @throws VlessProtocolException {@link ProtocolError#TRUNCATED} when {@code in} ends inside the frame
     */
    public static ByteBuf decode(ByteBuf in) {
        if (in.readableBytes() < UdpFrame.HEADER_LENGTH
                || in.readableBytes() < UdpFrame.HEADER_LENGTH + in.getUnsignedShort(in.readerIndex())) {
            throw new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.UDP_1,
                    "UDP frame incomplete after " + in.readableBytes() + " bytes");
        }
        int length = in.readUnsignedShort();
        return in.readRetainedSlice(length);
    }
}
