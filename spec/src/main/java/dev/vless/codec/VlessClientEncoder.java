// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/**
 * Encodes the {@link VlessRequest} a client sends first. Payload written after it passes through untouched, so a v1
 * client can send the header and its first payload in one flush.
 *
 * @see "spec/VLESS.md §4"
 */
@Sharable
public final class VlessClientEncoder extends MessageToByteEncoder<VlessRequest> {

    /** The stateless instance. */
    public static final VlessClientEncoder INSTANCE = new VlessClientEncoder();

    private VlessClientEncoder() {
        super(VlessRequest.class);
    }

    @Override
    protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, VlessRequest msg, boolean preferDirect) {
        return preferDirect ? ctx.alloc().ioBuffer(msg.encodedLength()) : ctx.alloc().heapBuffer(msg.encodedLength());
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, VlessRequest msg, ByteBuf out) {
        encode(msg, out);
    }

    /** Writes the wire form of {@code request} to {@code out}. */
    public static void encode(VlessRequest request, ByteBuf out) {
        out.writeByte(request.version().byteValue());
        out.writeLong(request.user().getMostSignificantBits());
        out.writeLong(request.user().getLeastSignificantBits());
        if (request.version() == VlessVersion.V0) {
            out.writeByte(request.addonsLength());
            out.writeBytes(request.addons());
        }
        out.writeByte(request.command().byteValue());
        VlessAddress address = request.address();
        if (address != null) {
            out.writeShort(address.port());
            out.writeByte(address.type().byteValue());
            VlessAddressCodec.DEFAULT.writeAddress(address.type(), address.host(), out);
        }
    }
}
