// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Sits in front of the TLS handler for the first read only, and tells whether the client speaks TLS at all. The TLS
 * engine's own complaint about a plaintext client is not enough: it may take a VLESS header for an SSLv2 record and
 * wait for more bytes until the handshake deadline, and its message would quote the bytes. A TLS record starts with
 * its content type, 20-24; an SSLv2-style hello with a byte of 0x80 or more (left to the TLS engine to refuse).
 */
final class PlaintextDetector extends ChannelInboundHandlerAdapter {

    static final String NAME = "plaintext-detector";

    private final OperatorLog operatorLog;
    private boolean sawBytes;
    private boolean plaintext;

    PlaintextDetector(OperatorLog operatorLog) {
        this.operatorLog = operatorLog;
    }

    /** Whether the client sent anything before the handshake ended. */
    boolean sawBytes() {
        return sawBytes;
    }

    /** Whether the first byte was no TLS record (and that was logged). */
    boolean plaintext() {
        return plaintext;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf && buf.isReadable()) {
            int first = buf.getUnsignedByte(buf.readerIndex());
            sawBytes = true;
            if (first < 0x80 && (first < 20 || first > 24)) {
                plaintext = true;
                operatorLog.plaintextOnTls(ctx.channel(), first);
            }
            ctx.fireChannelRead(msg);
            if (!ctx.isRemoved()) {
                ctx.pipeline().remove(this); // one look is enough; later reads go straight to the TLS handler
            }
            return;
        }
        ctx.fireChannelRead(msg);
    }
}
