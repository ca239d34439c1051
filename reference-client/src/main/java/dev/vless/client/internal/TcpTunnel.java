// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import dev.vless.client.socks.Socks5Replies;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessResponseHeaderDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A SOCKS5 CONNECT served through a VLESS command-1 connection. It takes the SOCKS5 front's place in the
 * application's pipeline, connects to the server on the application's event loop, answers the application, and then
 * relays both ways.
 *
 * <p>v1 has no response header, so the request header is written when the server connection is up and leaves with
 * the application's first bytes, in one TLS record; an application that waits for the other side to speak first gets
 * the header flushed after {@link #FIRST_PAYLOAD_WAIT_MILLIS}, well within the server's handshake deadline. v0's
 * response header is read and skipped (RSP-3).
 *
 * <p>Backpressure: each side stops reading while the other side's outbound buffer is above its high water mark and
 * resumes when it drains. Each direction's end of stream is passed on by itself as a FIN, and both connections close
 * once both directions have ended.
 */
final class TcpTunnel extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(TcpTunnel.class);

    /** How long the header waits for the application's first bytes before it goes alone. */
    static final long FIRST_PAYLOAD_WAIT_MILLIS = 50;

    private final ClientRuntime runtime;
    private final VlessAddress target;
    private Channel socks;
    private Channel upstream;
    private ArrayDeque<Object> early = new ArrayDeque<>();
    private ScheduledFuture<?> headerTimer;
    private boolean headerFlushed;
    private boolean socksEnded;
    private boolean upstreamEnded;

    TcpTunnel(ClientRuntime runtime, VlessAddress target) {
        this.runtime = runtime;
        this.target = target;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        socks = ctx.channel();
        // Until the tunnel is up, at most what one read already brought in is held (early).
        socks.config().setAutoRead(false);
        runtime.upstream.connect(socks.eventLoop(), p -> {
            if (runtime.upstream.v0()) {
                p.addLast("vless-response", new VlessResponseHeaderDecoder());
            }
            p.addLast("vless-encoder", VlessClientEncoder.INSTANCE);
            p.addLast("relay", new UpstreamSide());
        }).addListener(this::connected);
    }

    private void connected(Future<? super Channel> f) {
        if (!f.isSuccess()) {
            runtime.metrics.tcpFailures.increment();
            log.warn("{}: cannot reach the VLESS server: {}", runtime.upstream.describe(target), cause(f.cause()));
            releaseEarly();
            Socks5Replies.fail(socks, Socks5CommandStatus.FAILURE);
            return;
        }
        Channel ch = (Channel) f.getNow();
        if (!socks.isActive()) {
            releaseEarly();
            ch.close();
            return;
        }
        upstream = ch;
        runtime.metrics.tcpTunnels.increment();
        log.debug("{}: tunnel up", runtime.upstream.describe(target));
        upstream.write(runtime.upstream.request(VlessCommand.TCP, target));
        boolean hadEarly = !early.isEmpty();
        for (Object m : early) {
            upstream.write(m);
        }
        early = null;
        if (hadEarly) {
            flushHeader();
        } else {
            headerTimer = socks.eventLoop().schedule(this::flushHeader, FIRST_PAYLOAD_WAIT_MILLIS,
                    TimeUnit.MILLISECONDS);
        }
        Socks5Replies.succeed(socks, (InetSocketAddress) upstream.localAddress()).addListener(
                (ChannelFutureListener) r -> {
                    if (!r.isSuccess()) {
                        closeBoth();
                    }
                });
        if (socksEnded) {
            // The application ended its stream while we were connecting.
            flushHeader();
            shutdownOutput(upstream);
        } else {
            resume(socks);
        }
        resume(upstream);
    }

    private void flushHeader() {
        if (headerTimer != null) {
            headerTimer.cancel(false);
            headerTimer = null;
        }
        if (!headerFlushed && upstream != null) {
            headerFlushed = true;
            upstream.flush();
        }
    }

    // ---- the application's side (this handler sits in its pipeline) ----

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (upstream == null) {
            if (early != null) {
                early.add(msg);
            } else {
                ReferenceCountUtil.release(msg);
            }
            return;
        }
        headerFlushed = true;
        if (headerTimer != null) {
            headerTimer.cancel(false);
            headerTimer = null;
        }
        upstream.writeAndFlush(msg).addListener(this::closeOnFailure);
        if (!upstream.isWritable()) {
            socks.config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (socks.isWritable() && upstream != null) {
            resume(upstream);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            socksEnded();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseEarly();
        if (headerTimer != null) {
            headerTimer.cancel(false);
        }
        if (upstream != null) {
            closeOnFlush(upstream);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("{} (application side): {}", runtime.upstream.describe(target), cause.toString());
        closeBoth();
    }

    private void socksEnded() {
        if (socksEnded) {
            return;
        }
        socksEnded = true;
        if (upstream != null) {
            flushHeader();
            shutdownOutput(upstream);
            closeIfBothEnded();
        }
    }

    // ---- the server's side ----

    private final class UpstreamSide extends ChannelInboundHandlerAdapter {

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf) || upstream == null) {
                ReferenceCountUtil.release(msg); // v0's response header, already checked by its decoder
                return;
            }
            socks.writeAndFlush(msg).addListener(TcpTunnel.this::closeOnFailure);
            if (!socks.isWritable()) {
                upstream.config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (upstream != null && upstream.isWritable()) {
                resume(socks);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (upstream != null
                    && (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent)) {
                upstreamEnded();
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // Before the tunnel is up the connect listener answers the application; afterwards this side's end
            // ends the application's connection too.
            if (upstream != null) {
                closeOnFlush(socks);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (upstream != null) {
                log.debug("{} (server side): {}", runtime.upstream.describe(target), cause(cause));
            }
            ctx.close();
        }
    }

    private void upstreamEnded() {
        if (upstreamEnded) {
            return;
        }
        upstreamEnded = true;
        shutdownOutput(socks);
        closeIfBothEnded();
    }

    private void closeIfBothEnded() {
        if (socksEnded && upstreamEnded) {
            closeOnFlush(socks);
            closeOnFlush(upstream);
        }
    }

    private void closeOnFailure(Future<? super Void> f) {
        if (!f.isSuccess()) {
            closeBoth();
        }
    }

    private void closeBoth() {
        socks.close();
        if (upstream != null) {
            upstream.close();
        }
    }

    private void releaseEarly() {
        if (early != null) {
            for (Object m : early) {
                ReferenceCountUtil.release(m);
            }
            early = null;
        }
    }

    /** Reads again from {@code ch} unless its input has ended: reading an ended side is pointless. */
    private static void resume(Channel ch) {
        if (!(ch instanceof DuplexChannel duplex) || !duplex.isInputShutdown()) {
            ch.config().setAutoRead(true);
        }
    }

    /**
     * Ends one direction after what is queued has gone, with a TCP FIN. Under TLS no close_notify goes first: Netty's
     * OpenSSL engine, which servers commonly run, closes its sending side too when it receives close_notify, so the
     * rest of the response would be lost; a FIN is an end of stream the server passes on just as well (D21).
     */
    private static void shutdownOutput(Channel ch) {
        ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> shutdownSocket(ch));
    }

    private static void shutdownSocket(Channel ch) {
        if (ch instanceof DuplexChannel duplex && ch.isActive()) {
            duplex.shutdownOutput();
        } else {
            ch.close();
        }
    }

    private static void closeOnFlush(Channel ch) {
        if (ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    static String cause(Throwable t) {
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + m;
    }
}
