// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.UUID;

/**
 * Decodes the request header a client sends first, v0 or v1, into one {@link VlessRequest}, then removes itself so
 * that the bytes after the header reach the next handler as payload (HDR-11).
 *
 * <p>Nothing is consumed until the header is complete, so a header split at any byte decodes the same (HDR-10) and
 * a fallback can be handed every byte received. Bad input fails as soon as the offending byte arrives, with a
 * {@link VlessProtocolException} naming the rule; the decoder never writes or closes. It does not know the users:
 * the handler that receives the request checks the UUID (HDR-3).
 *
 * @see "spec/VLESS.md §4"
 */
public final class VlessRequestDecoder extends ByteToMessageDecoder {

    private enum State { READ_HEADER, DONE, FAILED }

    private State state = State.READ_HEADER;

    /** Creates a decoder for one connection. */
    public VlessRequestDecoder() {
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
                out.add(decode(in.readSlice(length)));
                state = State.DONE;
                ctx.pipeline().remove(this);
                break;
            case DONE:
                out.add(in.readRetainedSlice(in.readableBytes()));
                break;
            case FAILED:
                // The handler owns the connection now; what it did not take is discarded, never parsed.
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
                throw new VlessProtocolException(ProtocolError.TRUNCATED,
                        "stream ended after " + in.readableBytes() + " bytes of request header");
            }
        } else if (state == State.DONE && in.isReadable()) {
            decode(ctx, in, out);
        }
    }

    /**
     * The length of the request header at the start of {@code in}'s readable bytes, or -1 while incomplete. Reads
     * nothing; checks every field that has arrived.
     *
     * @throws VlessProtocolException at the first field that breaks a rule
     */
    public static int headerLength(ByteBuf in) {
        final int start = in.readerIndex();
        final int end = in.writerIndex();
        if (start >= end) {
            return -1;
        }
        VlessVersion version = VlessVersion.valueOf(in.getByte(start));
        int pos = start + 1 + 16;
        if (version == VlessVersion.V0) {
            if (pos >= end) {
                return -1;
            }
            pos += 1 + in.getUnsignedByte(pos);
        }
        if (pos >= end) {
            return -1;
        }
        VlessCommand command = VlessCommand.valueOf(in.getByte(pos));
        if (command.v1Only() && version == VlessVersion.V0) {
            // §15.3: command 5 breaks its own rule, MUX-1, besides HDR-6.
            SpecRule rule = command == VlessCommand.UDP_MUX ? SpecRule.MUX_1 : SpecRule.HDR_6;
            throw new VlessProtocolException(ProtocolError.COMMAND_NOT_IN_VERSION, rule, String.format(
                    "command %d (%s) in a v0 request", command.byteValue(), command));
        }
        pos++;
        if (!command.hasAddress()) {
            return pos - start;
        }
        if (pos + 2 > end) {
            return -1;
        }
        if (in.getUnsignedShort(pos) == 0) {
            throw new VlessProtocolException(ProtocolError.PORT_ZERO, "port 0 (expected: 1-65535)");
        }
        pos += 2;
        if (pos >= end) {
            return -1;
        }
        VlessAddressType type = VlessAddressType.valueOf(in.getByte(pos));
        pos++;
        int addressLength = VlessAddressCodec.DEFAULT.addressLength(type, in, pos, end);
        if (addressLength < 0 || pos + addressLength > end) {
            return -1;
        }
        return pos + addressLength - start;
    }

    /**
     * Decodes one whole request header from {@code in}, advancing its reader index past it.
     *
     * @throws VlessProtocolException for bad input, or {@link ProtocolError#TRUNCATED} when {@code in} ends early
     */
    public static VlessRequest decode(ByteBuf in) {
        int length = headerLength(in);
        if (length < 0) {
            throw new VlessProtocolException(ProtocolError.TRUNCATED,
                    "request header incomplete after " + in.readableBytes() + " bytes");
        }
        VlessVersion version = VlessVersion.valueOf(in.readByte());
        UUID user = new UUID(in.readLong(), in.readLong());
        byte[] addons = new byte[0];
        if (version == VlessVersion.V0) {
            addons = new byte[in.readUnsignedByte()];
            in.readBytes(addons);
        }
        VlessCommand command = VlessCommand.valueOf(in.readByte());
        VlessAddress address = null;
        if (command.hasAddress()) {
            int port = in.readUnsignedShort();
            VlessAddressType type = VlessAddressType.valueOf(in.readByte());
            address = new VlessAddress(type, VlessAddressCodec.DEFAULT.readAddress(type, in), port);
        }
        return new VlessRequest(version, user, addons, command, address);
    }
}
