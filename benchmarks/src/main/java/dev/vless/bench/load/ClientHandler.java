// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.InetSocketAddress;

/**
 * The last handler of a generator's TCP connection, told when it can send: at connect without TLS, after the
 * handshake with it.
 */
abstract class ClientHandler extends ChannelInboundHandlerAdapter {

    private boolean tls;

    /** The connection can carry data now. */
    abstract void ready(ChannelHandlerContext ctx);

    /** The connection could not be set up; it is closed after this. */
    void failed(ChannelHandlerContext ctx, Throwable cause) {
    }

    /**
     * Connects on {@code bootstrap}'s loop to {@code address}, with TLS when {@code ssl} is given (full handshake: no
     * session is reused), then {@code decoders} (may be empty) and {@code handler} last.
     */
    static ChannelFuture connect(Bootstrap bootstrap, InetSocketAddress address, SslContext ssl,
            java.util.function.Supplier<io.netty.channel.ChannelHandler[]> decoders, ClientHandler handler) {
        handler.tls = ssl != null;
        return bootstrap.handler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ChannelPipeline p = ch.pipeline();
                if (ssl != null) {
                    p.addLast(ssl.newHandler(ch.alloc()));
                }
                p.addLast(decoders.get());
                p.addLast(handler);
            }
        }).connect(address);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (!tls) {
            ready(ctx);
        }
        ctx.fireChannelActive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent e) {
            if (e.isSuccess()) {
                ready(ctx);
            } else {
                failed(ctx, e.cause());
                ctx.close();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failed(ctx, cause);
        ctx.close();
    }
}
