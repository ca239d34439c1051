// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Keeps a copy of every byte received before the request is accepted, so that a fallback can be handed the
 * connection whole (ERR-2). It lives only for the header; the decoder fails within a few hundred bytes of bad input.
 */
final class RawCapture extends ChannelInboundHandlerAdapter {

    static final String NAME = "raw-capture";

    private CompositeByteBuf captured;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf && buf.isReadable()) {
            if (captured == null) {
                captured = ctx.alloc().compositeBuffer(64);
            }
            captured.addComponent(true, buf.copy());
        }
        ctx.fireChannelRead(msg);
    }

    /** The bytes captured so far, handed over to the caller; the capture is empty afterwards. */
    ByteBuf take(ChannelHandlerContext anyCtx) {
        ByteBuf out = captured != null ? captured : anyCtx.alloc().buffer(0);
        captured = null;
        return out;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (captured != null) {
            captured.release();
            captured = null;
        }
    }
}
