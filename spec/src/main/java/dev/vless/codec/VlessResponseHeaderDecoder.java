// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Decodes the v0 response header a client receives before the response data, into one {@link VlessResponseHeader},
 * then removes itself so that the data behind it flows on unchanged (RSP-3).
 *
 * @see "spec/VLESS.md §6"
 */
public final class VlessResponseHeaderDecoder extends ByteToMessageDecoder {

    private enum State { READ_HEADER, DONE, FAILED }

    private State state = State.READ_HEADER;

    /** Creates a decoder for one v0 connection. */
    public VlessResponseHeaderDecoder() {
        setSingleDecode(true);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (state) {
            case READ_HEADER:
                int length;
                try {
                    length = headerLength(in);
                } catch (VlessProtocolException e) {
                    state = State.FAILED;
                    throw e;
                }
                if (length < 0) {
                    return;
                }
                out.add(decode(in));
                state = State.DONE;
                ctx.pipeline().remove(this);
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

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (state == State.READ_HEADER && in.isReadable()) {
            decode(ctx, in, out);
            if (state == State.READ_HEADER) {
                state = State.FAILED;
                throw new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.RSP_3,
                        "stream ended after " + in.readableBytes() + " bytes of response header");
            }
        } else if (state == State.DONE && in.isReadable()) {
            decode(ctx, in, out);
        }
    }

    /** The length of the response header at the start of {@code in}, or -1 while incomplete; reads nothing. */
    public static int headerLength(ByteBuf in) {
        int start = in.readerIndex();
        if (!in.isReadable()) {
            return -1;
        }
        byte version = in.getByte(start);
        if (version != VlessVersion.V0.byteValue()) {
            throw new VlessProtocolException(ProtocolError.BAD_RESPONSE_VERSION,
                    String.format("response version 0x%02x (expected: 0x00)", version & 0xff));
        }
        if (in.readableBytes() < 2) {
            return -1;
        }
        int length = 2 + in.getUnsignedByte(start + 1);
        return in.readableBytes() < length ? -1 : length;
    }

    /** Decodes one whole response header from {@code in}, advancing past it. */
    public static VlessResponseHeader decode(ByteBuf in) {
        if (headerLength(in) < 0) {
            throw new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.RSP_3,
                    "response header incomplete after " + in.readableBytes() + " bytes");
        }
        in.skipBytes(1);
        byte[] addons = new byte[in.readUnsignedByte()];
        in.readBytes(addons);
        return new VlessResponseHeader(addons);
    }
}
