// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Frames each outgoing {@link ByteBuf} as one datagram on a command-2 connection. The payload is not copied: the
 * two-byte length goes out as a buffer of its own, and both leave in the same flush.
 *
 * @see "spec/VLESS.md §8"
 */
@Sharable
public final class UdpFrameEncoder extends MessageToMessageEncoder<ByteBuf> {

    /** The stateless instance. */
    public static final UdpFrameEncoder INSTANCE = new UdpFrameEncoder();

    private UdpFrameEncoder() {
        super(ByteBuf.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) {
        int length = msg.readableBytes();
        UdpFrame.checkLength(length);
        ByteBuf header = ctx.alloc().ioBuffer(UdpFrame.HEADER_LENGTH);
        header.writeShort(length);
        out.add(header);
        out.add(msg.retain());
    }
}
