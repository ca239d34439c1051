// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.codec.VlessResponseHeader;
import dev.vless.netty.EpollHalfClose;
import dev.vless.server.internal.FdLimit;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP relay between a client connection and its target (command 1) or the fallback. Both channels share one event
 * loop; each side reads only after its last write went out, so a slow side slows the other instead of filling
 * memory. Each direction's end is passed on by itself; the connection closes once both ended (TCP-3).
 */
final class TcpRelay {

    private static final Logger log = LoggerFactory.getLogger(TcpRelay.class);

    private final Channel inbound;
    private final Channel outbound;
    private boolean v0HeaderPending;
    private boolean clientEnded;
    private boolean targetEnded;

    private TcpRelay(Channel inbound, Channel outbound, boolean v0) {
        this.inbound = inbound;
        this.outbound = outbound;
        this.v0HeaderPending = v0;
    }

    /**
     * Connects to {@code target} on the client's event loop and calls {@code done} with the relay, or with
     * {@code null} when the target cannot be reached.
     */
    static void connect(Channel inbound, ServerRuntime runtime, InetSocketAddress target, boolean v0,
            Consumer<TcpRelay> done) {
        TcpRelay[] holder = new TcpRelay[1];
        Bootstrap b = new Bootstrap();
        runtime.transport.keepAliveOptions().forEach(b::option); // TCP-4
        b
                .group(inbound.eventLoop())
                .channel(runtime.transport.socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRegistered(ChannelHandlerContext ctx) {
                        EpollHalfClose.apply(ctx.channel()); // the target ends first, the client still sends
                        ctx.fireChannelRegistered();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        holder[0].fromTarget(msg);
                    }

                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        if (evt instanceof ChannelInputShutdownEvent) {
                            holder[0].targetEnded();
                        }
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        closeOnFlush(inbound);
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        log.debug("{} (target side): {}", inbound, cause.toString());
                        ctx.close();
                    }
                })
                .connect(target)
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        if (FdLimit.isExhaustion(f.cause())) {
                            // Not the target's fault: the operator can fix this one.
                            runtime.metrics.refusedNoSocket.increment();
                            runtime.operatorLog.noSocket(inbound, "a TCP connection", f.cause());
                        }
                        log.debug("{}: cannot connect to {}: {}", inbound, target, f.cause().toString());
                        done.accept(null);
                    } else if (!inbound.isActive()) {
                        f.channel().close();
                    } else {
                        holder[0] = new TcpRelay(inbound, f.channel(), v0);
                        done.accept(holder[0]);
                    }
                });
    }

    /** The handler that goes into the client's pipeline. */
    ChannelHandler inboundHandler() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                outbound.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
                    if (f.isSuccess()) {
                        readMore(inbound);
                    } else {
                        f.channel().close();
                        closeOnFlush(inbound);
                    }
                });
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
                    clientEnded();
                } else {
                    ctx.fireUserEventTriggered(evt);
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                closeOnFlush(outbound);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                log.debug("{} (client side): {}", inbound, cause.toString());
                ctx.close();
            }
        };
    }

    /** Starts reading both sides once the relay is in place. */
    void start() {
        readMore(inbound);
        readMore(outbound);
    }

    private void fromTarget(Object msg) {
        if (v0HeaderPending) {
            v0HeaderPending = false;
            inbound.write(VlessResponseHeader.DEFAULT); // RSP-2: right before the first response byte
        }
        inbound.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                readMore(outbound);
            } else {
                f.channel().close();
                closeOnFlush(outbound);
            }
        });
    }

    private void clientEnded() {
        if (clientEnded) {
            return;
        }
        clientEnded = true;
        shutdownOutput(outbound);
        closeIfBothEnded();
    }

    private void targetEnded() {
        if (targetEnded) {
            return;
        }
        targetEnded = true;
        shutdownOutput(inbound);
        closeIfBothEnded();
    }

    private void closeIfBothEnded() {
        if (clientEnded && targetEnded) {
            closeOnFlush(inbound);
            closeOnFlush(outbound);
        }
    }

    /**
     * Asks {@code ch} for more input unless its input has already ended. Reading an ended side is pointless, and
     * re-arming EPOLLIN after a half-close used to fail with ENOENT, which closed the whole connection and lost data
     * still in flight the other way (a client that sends a request and shuts its output at once never saw the
     * response). That was Netty's epoll fault, not the kernel's; {@link EpollHalfClose} has the whole story.
     */
    private static void readMore(Channel ch) {
        if (!(ch instanceof DuplexChannel duplex) || !duplex.isInputShutdown()) {
            ch.read();
        }
    }

    /** Ends one direction after what is queued has gone: close_notify under TLS, then a TCP FIN. */
    private static void shutdownOutput(Channel ch) {
        ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            SslHandler ssl = ch.pipeline().get(SslHandler.class);
            if (ssl != null) {
                ssl.closeOutbound().addListener(x -> shutdownSocket(ch));
            } else {
                shutdownSocket(ch);
            }
        });
    }

    private static void shutdownSocket(Channel ch) {
        if (ch instanceof DuplexChannel duplex && ch.isActive()) {
            duplex.shutdownOutput();
        } else {
            ch.close();
        }
    }

    static void closeOnFlush(Channel ch) {
        if (ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
