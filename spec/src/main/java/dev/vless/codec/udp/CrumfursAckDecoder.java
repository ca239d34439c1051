// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import dev.vless.codec.CrumfursAck;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessProtocolException;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Reads the first byte a client receives on a CRUMFURS connection, expecting {@code 0x14}, emits
 * {@link CrumfursAck#INSTANCE} and removes itself; the UMFURS stream behind it reaches the next handler (normally an
 * {@link UmfursDecoder}).
 *
 * @see "spec/VLESS.md §9"
 */
public final class CrumfursAckDecoder extends ByteToMessageDecoder {

    private enum State { READ_ACK, DONE, FAILED }

    private State state = State.READ_ACK;

    /** Creates a decoder for one CRUMFURS connection. */
    public CrumfursAckDecoder() {
        setSingleDecode(true);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (state) {
            case READ_ACK:
                if (!in.isReadable()) {
                    return;
                }
                byte b = in.getByte(in.readerIndex());
                if (b != CrumfursAck.VALUE) {
                    state = State.FAILED;
                    throw new VlessProtocolException(ProtocolError.BAD_ACKNOWLEDGEMENT,
                            String.format("first byte 0x%02x (expected: 0x14)", b & 0xff));
                }
                in.skipBytes(1);
                out.add(CrumfursAck.INSTANCE);
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

    // A stream that ends before the acknowledgement never established CRUMFURS; report it like the static decode does.
    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (state == State.READ_ACK && !in.isReadable()) {
            state = State.FAILED;
            throw new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.CRF_1,
                    "stream ended before the acknowledgement byte");
        }
        super.decodeLast(ctx, in, out);
    }

    /**
     * Reads the acknowledgement from {@code in}.
     *
     * @throws VlessProtocolException when the byte is not 0x14, or {@link ProtocolError#TRUNCATED} when none is there
     */
    public static CrumfursAck decode(ByteBuf in) {
        if (!in.isReadable()) {
            throw new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.CRF_1,
                    "no acknowledgement byte");
        }
        byte b = in.readByte();
        if (b != CrumfursAck.VALUE) {
            throw new VlessProtocolException(ProtocolError.BAD_ACKNOWLEDGEMENT,
                    String.format("first byte 0x%02x (expected: 0x14)", b & 0xff));
        }
        return CrumfursAck.INSTANCE;
    }
}
