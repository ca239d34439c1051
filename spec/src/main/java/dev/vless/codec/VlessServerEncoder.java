// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import dev.vless.codec.udp.UmfursEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Encodes what a server sends that is not relayed data: the v0 {@link VlessResponseHeader}, the
 * {@link CrumfursAck}, the {@link MuxAck}, and UMFURS messages (which are also a server's UDP-MUX frames, MUX-7). Any {@code AddressedEnvelope<ByteBuf, InetSocketAddress>} (a
 * {@link dev.vless.codec.udp.UmfursMessage}, or a received {@code DatagramPacket} as it is) is written as a UMFURS
 * from its sender, without copying the payload.
 *
 * @see "spec/VLESS.md §6, §9, §10, §23"
 */
@Sharable
public final class VlessServerEncoder extends MessageToMessageEncoder<Object> {

    /** The stateless instance. */
    public static final VlessServerEncoder INSTANCE = new VlessServerEncoder();

    private VlessServerEncoder() {
        super(Object.class);
    }

    @Override
    public boolean acceptOutboundMessage(Object msg) {
        if (msg instanceof VlessResponseHeader || msg instanceof CrumfursAck || msg instanceof MuxAck) {
            return true;
        }
        return msg instanceof AddressedEnvelope<?, ?> e && e.content() instanceof ByteBuf
                && e.sender() instanceof InetSocketAddress;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) {
        if (msg instanceof VlessResponseHeader header) {
            ByteBuf buf = ctx.alloc().ioBuffer(header.encodedLength());
            encode(header, buf);
            out.add(buf);
        } else if (msg instanceof CrumfursAck) {
            out.add(ctx.alloc().ioBuffer(1).writeByte(CrumfursAck.VALUE));
        } else if (msg instanceof MuxAck) {
            out.add(ctx.alloc().ioBuffer(1).writeByte(MuxAck.VALUE));
        } else {
            AddressedEnvelope<?, ?> envelope = (AddressedEnvelope<?, ?>) msg;
            ByteBuf payload = (ByteBuf) envelope.content();
            InetSocketAddress source = (InetSocketAddress) envelope.sender();
            ByteBuf header = ctx.alloc().ioBuffer(UmfursEncoder.headerLength(source));
            try {
                UmfursEncoder.encodeHeader(source, payload.readableBytes(), header);
            } catch (RuntimeException e) {
                header.release();
                throw e;
            }
            out.add(header);
            out.add(payload.retain());
        }
    }

    /** Writes the wire form of a v0 response header. */
    public static void encode(VlessResponseHeader header, ByteBuf out) {
        out.writeByte(VlessVersion.V0.byteValue());
        out.writeByte(header.addons().length);
        out.writeBytes(header.addons());
    }
}
