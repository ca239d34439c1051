// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import dev.vless.codec.MuxAck;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Reads the first byte a client receives on a UDP-MUX connection, expecting {@code 0x15}, emits
 * {@link MuxAck#INSTANCE} and removes itself; bytes that came with it reach the next handler (normally a
 * {@link MuxFrameDecoder}) as frames (MUX-4).
 *
 * <p>Any other first byte, or the end of the stream before one, is {@link ProtocolError#MUX_UNAVAILABLE}: not a
 * broken server but one without the mode (or a fallback answering), which the client answers by falling back to
 * command 2 (MUX-5).
 *
 * @see "spec/VLESS.md §23"
 */
public final class MuxAckDecoder extends ByteToMessageDecoder {

    private enum State { READ_ACK, DONE, FAILED }

    private State state = State.READ_ACK;

    /** Creates a decoder for one UDP-MUX connection. */
    public MuxAckDecoder() {
        setSingleDecode(true);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (state) {
            case READ_ACK:
                if (!in.isReadable()) {
                    return;
                }
                try {
                    out.add(decode(in));
                } catch (VlessProtocolException e) {
                    state = State.FAILED;
                    in.skipBytes(in.readableBytes());
                    throw e;
                }
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
        if (state == State.READ_ACK && !in.isReadable()) {
            state = State.FAILED;
            throw new VlessProtocolException(ProtocolError.MUX_UNAVAILABLE,
                    "stream ended before the answer byte (expected: 0x15)");
        }
        super.decodeLast(ctx, in, out);
    }

    /**
     * Reads the answer byte from {@code in}.
     *
     * @throws VlessProtocolException {@link ProtocolError#MUX_UNAVAILABLE} when the byte is not 0x15 or none is there
     */
    public static MuxAck decode(ByteBuf in) {
        if (!in.isReadable()) {
            throw new VlessProtocolException(ProtocolError.MUX_UNAVAILABLE, "no answer byte (expected: 0x15)");
        }
        byte b = in.readByte();
        if (b != MuxAck.VALUE) {
            throw new VlessProtocolException(ProtocolError.MUX_UNAVAILABLE,
                    String.format("first byte 0x%02x (expected: 0x15)", b & 0xff));
        }
        return MuxAck.INSTANCE;
    }
}
