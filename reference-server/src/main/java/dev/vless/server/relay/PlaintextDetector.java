// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Looks at the first byte a client sends, once, and tells the operator when the client speaks the other protocol
 * than the port: plaintext on the TLS port, or TLS on a plaintext port. On the TLS port it sits in front of the TLS
 * handler: the TLS engine's own complaint about a plaintext client is not enough, since it may take a VLESS header
 * for an SSLv2 record and wait for more bytes until the handshake deadline, and its message would quote the bytes. A
 * TLS record starts with its content type, 20-24 (a ClientHello with 22); an SSLv2-style hello with a byte of 0x80 or
 * more (left to the TLS engine to refuse).
 */
final class PlaintextDetector extends ChannelInboundHandlerAdapter {

    static final String NAME = "plaintext-detector";
    /** The content type of a TLS handshake record: what a TLS client's first byte is. */
    private static final int TLS_HANDSHAKE = 22;

    private final OperatorLog operatorLog;
    private final boolean tlsPort;
    private boolean sawBytes;
    private boolean plaintext;

    /** A detector for a TLS port. */
    PlaintextDetector(OperatorLog operatorLog) {
        this(operatorLog, true);
    }

    /** A detector for a TLS port ({@code tlsPort}) or a plaintext one. */
    PlaintextDetector(OperatorLog operatorLog, boolean tlsPort) {
        this.operatorLog = operatorLog;
        this.tlsPort = tlsPort;
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
            if (!tlsPort) {
                if (first == TLS_HANDSHAKE) {
                    operatorLog.tlsOnPlaintext(ctx.channel());
                }
            } else if (first < 0x80 && (first < 20 || first > 24)) {
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
