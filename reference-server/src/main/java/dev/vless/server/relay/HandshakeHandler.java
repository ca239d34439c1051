// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessVersion;
import dev.vless.codec.udp.UdpFrameDecoder;
import dev.vless.server.DestinationFilter;
import dev.vless.server.internal.UserRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Acts on the request header: checks the user, resolves and screens the target, and hands the connection to the
 * relay for its command. On bad input it sends no byte (ERR-1) and either hands everything received to the fallback
 * or discards input until the handshake deadline, then closes (ERR-2) — whichever check failed (ERR-3).
 *
 * <p>What an operator can fix is also written to the {@link OperatorLog}: an unknown user ID, a refused destination,
 * a failed TLS handshake. Every connection's details, without secrets, are at debug level.
 */
final class HandshakeHandler extends ChannelInboundHandlerAdapter {

    static final String NAME = "vless-handshake";
    static final String DECODER_NAME = "vless-request-decoder";

    private static final Logger log = LoggerFactory.getLogger(HandshakeHandler.class);

    private enum State {
        /** Waiting for the header. */
        HEADER,
        /** Header accepted; resolving or connecting; payload is held until the relay takes over. */
        CONNECTING,
        /** Bad input, no fallback: everything is discarded until the deadline closes the connection. */
        DISCARDING,
        /** Handed over (relay or fallback); this handler is leaving the pipeline. */
        DONE
    }

    private final ServerRuntime runtime;
    /** The look at the first byte in front of TLS, or {@code null} without TLS. */
    private final PlaintextDetector plaintext;
    private State state = State.HEADER;
    private ScheduledFuture<?> deadline;
    private boolean deadlinePassed;
    private final List<ByteBuf> held = new ArrayList<>();
    private boolean inputShutdown;

    HandshakeHandler(ServerRuntime runtime) {
        this(runtime, null);
    }

    HandshakeHandler(ServerRuntime runtime, PlaintextDetector plaintext) {
        this.runtime = runtime;
        this.plaintext = plaintext;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        // One fixed deadline from accept, covering TLS and the header, never extended (ERR-4).
        deadline = ctx.executor().schedule(() -> deadlinePassed(ctx),
                runtime.config.handshakeTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (state) {
            case HEADER:
                if (msg instanceof VlessRequest request) {
                    onRequest(ctx, request);
                } else {
                    ReferenceCountUtil.release(msg);
                }
                break;
            case CONNECTING:
                if (msg instanceof ByteBuf buf) {
                    held.add(buf);
                } else {
                    ReferenceCountUtil.release(msg);
                }
                break;
            default:
                ReferenceCountUtil.release(msg);
        }
    }

    private void onRequest(ChannelHandlerContext ctx, VlessRequest request) {
        if (!runtime.users.contains(request.user())) {
            runtime.operatorLog.unknownUser(ctx.channel(), request.user());
            // A user ID is a password: the log gets its first 8 hex digits, never more.
            badInput(ctx, "unknown user ID " + UserRegistry.shortId(request.user()) + "…");
            return;
        }
        if (request.command() == VlessCommand.MUX) {
            badInput(ctx, "command 3 (Mux) is not supported"); // HDR-7: exactly like an unknown command
            return;
        }
        if (request.command() == VlessCommand.UDP_MUX && !runtime.config.udpMux()) {
            badInput(ctx, "command 5 (UDP-MUX) is turned off"); // MUX-2: exactly like an unknown command
            return;
        }
        deadline.cancel(false);
        removeCapture(ctx);
        state = State.CONNECTING;
        ctx.channel().config().setAutoRead(false);
        if (request.command() == VlessCommand.CRUMFURS) {
            runtime.metrics.crumfursRequests.increment();
            handOver(ctx, new CrumfursRelay(runtime, request.user()));
            return;
        }
        if (request.command() == VlessCommand.UDP_MUX) {
            runtime.metrics.muxRequests.increment();
            // Bytes after the 18-byte header are frames (HDR-11); MuxRelay holds them until its 0x15 is out.
            handOver(ctx, new MuxRelay(runtime, request.user()));
            return;
        }
        Future<InetAddress> resolved = runtime.resolver.resolve(request.address(), ctx.executor());
        resolved.addListener(f -> {
            if (state != State.CONNECTING || !ctx.channel().isActive()) {
                return;
            }
            if (!f.isSuccess()) {
                log.debug("{}: cannot resolve {}: {}", ctx.channel(), request.address(), f.cause().toString());
                ctx.close(); // NAT-7, TCP-2: no byte
                return;
            }
            InetAddress ip = resolved.getNow();
            DestinationFilter.Refusal refusal = runtime.config.destinations().refusalOf(ip);
            if (refusal != null) {
                runtime.metrics.destinationsRefused.increment();
                runtime.operatorLog.refusedDestination(ctx.channel(), request.address(), ip, refusal);
                log.debug("{}: refused destination {} ({}): {}", ctx.channel(), request.address(), ip.getHostAddress(),
                        refusal);
                ctx.close(); // DST-2: no byte, no fallback
                return;
            }
            InetSocketAddress target = new InetSocketAddress(ip, request.address().port());
            dispatch(ctx, request, target);
        });
    }

    private void dispatch(ChannelHandlerContext ctx, VlessRequest request, InetSocketAddress target) {
        boolean v0 = request.version() == VlessVersion.V0;
        switch (request.command()) {
            case TCP:
                runtime.metrics.tcpRequests.increment();
                TcpRelay.connect(ctx.channel(), runtime, target, v0, relay -> {
                    if (relay == null) {
                        ctx.close(); // TCP-2: unreachable target, no byte
                    } else {
                        handOver(ctx, relay.inboundHandler());
                        relay.start();
                    }
                });
                break;
            case UDP:
                runtime.metrics.udpRequests.increment();
                ChannelHandler relay = v0 ? new V0UdpRelay(runtime, request.user(), target)
                        : new UdpRelay(runtime, request.user(), target, runtime.udpSequence.incrementAndGet());
                handOver(ctx, new UdpFrameDecoder(), relay);
                break;
            default:
                throw new AssertionError(request.command());
        }
    }

    /**
     * Puts {@code handlers} after this one, passes them the payload held so far (and an end of input, if it came),
     * and leaves the pipeline.
     */
    private void handOver(ChannelHandlerContext ctx, ChannelHandler... handlers) {
        state = State.DONE;
        String after = ctx.name();
        for (ChannelHandler h : handlers) {
            ctx.pipeline().addAfter(after, null, h);
            ChannelHandlerContext added = ctx.pipeline().context(h);
            if (added == null) {
                // Its handlerAdded failed and Netty took it out again (it threw where it should have refused):
                // close this one connection rather than fail on the missing context, and let go of what was held.
                log.debug("{}: {} could not start; closing", ctx.channel(), h.getClass().getSimpleName());
                ctx.close();
                ctx.pipeline().remove(this);
                return;
            }
            after = added.name();
        }
        for (ByteBuf b : held) {
            ctx.fireChannelRead(b);
        }
        held.clear();
        // The channel's own state, not only the event seen here: when a header is cut short by the client's end of
        // stream, the decoder fails on that very event and swallows it, and in DISCARDING it is not recorded, so a
        // fallback was handed the bytes but never the end of stream and waited for more (ERR-2: the connection whole).
        if (inputShutdown || ctx.channel() instanceof DuplexChannel d && d.isInputShutdown()) {
            ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        }
        ctx.pipeline().remove(this);
    }

    private void badInput(ChannelHandlerContext ctx, String reason) {
        if (state == State.DISCARDING || state == State.DONE) {
            return;
        }
        state = State.DISCARDING;
        runtime.metrics.badInput.increment();
        log.debug("{}: bad input: {}", ctx.channel(), reason);
        if (ctx.pipeline().get(DECODER_NAME) != null) {
            ctx.pipeline().remove(DECODER_NAME); // what it held comes to us now, and is discarded
        }
        if (runtime.config.fallback() != null) {
            // Later, not now: the decoder may still be passing on bytes the capture already holds; until then
            // they are dropped here and captured there.
            ctx.executor().execute(() -> fallBack(ctx));
            return;
        }
        if (deadlinePassed) {
            ctx.close();
        } else {
            ctx.channel().config().setAutoRead(true); // keep reading and discarding until the deadline
        }
    }

    private void fallBack(ChannelHandlerContext ctx) {
        if (!ctx.channel().isActive() || ctx.isRemoved()) {
            return;
        }
        RawCapture capture = (RawCapture) ctx.pipeline().get(RawCapture.NAME);
        ByteBuf everything = capture.take(ctx);
        ctx.pipeline().remove(capture);
        deadline.cancel(false);
        runtime.metrics.fallbacks.increment();
        state = State.CONNECTING;
        held.add(everything);
        ctx.channel().config().setAutoRead(false);
        TcpRelay.connect(ctx.channel(), runtime, runtime.config.fallback(), false, relay -> {
            if (relay == null) {
                log.warn("{}: fallback {} unreachable", ctx.channel(), runtime.config.fallback());
                ctx.close();
            } else {
                handOver(ctx, relay.inboundHandler());
                relay.start();
            }
        });
    }

    private void removeCapture(ChannelHandlerContext ctx) {
        if (ctx.pipeline().get(RawCapture.NAME) != null) {
            ctx.pipeline().remove(RawCapture.NAME);
        }
    }

    private void deadlinePassed(ChannelHandlerContext ctx) {
        deadlinePassed = true;
        if (state == State.HEADER) {
            runtime.metrics.handshakeTimeouts.increment();
            badInput(ctx, "no complete request header within " + runtime.config.handshakeTimeout().toMillis()
                    + " ms");
        } else if (state == State.DISCARDING) {
            ctx.close();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent tls && !tls.isSuccess()) {
            tlsFailed(ctx, tls.cause());
        }
        if (evt instanceof SslCloseCompletionEvent close && close.isSuccess() && state == State.CONNECTING) {
            // The client's close_notify while the target is being reached: its end of stream, passed on at hand-over
            // as a FIN would be (TCP-3); the relay handlers are not in the pipeline yet to see it.
            inputShutdown = true;
            return;
        }
        if (evt instanceof ChannelInputShutdownEvent) {
            if (state == State.HEADER) {
                badInput(ctx, "stream ended before a complete request header"); // HDR-12
            } else if (state == State.CONNECTING) {
                inputShutdown = true;
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void tlsFailed(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("{}: TLS handshake failed: {}", ctx.channel(), cause.toString());
        // Not for the operator: a connection that never sent a byte (a port scan, a health check), one the
        // detector already reported as plaintext, and one this handler closed itself (the handshake deadline).
        if (plaintext != null && plaintext.sawBytes() && !plaintext.plaintext() && state == State.HEADER) {
            runtime.operatorLog.tlsFailed(ctx.channel(), cause);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof VlessProtocolException e) {
            badInput(ctx, e.getMessage());
        } else if (cause.getCause() instanceof SSLException || cause instanceof SSLException) {
            log.debug("{}: TLS failed: {}", ctx.channel(), cause.toString());
            ctx.close();
        } else {
            log.debug("{}: closing after {}", ctx.channel(), cause.toString());
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        deadline.cancel(false);
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        for (ByteBuf b : held) {
            b.release();
        }
        held.clear();
        if (deadline != null && state != State.DISCARDING) {
            deadline.cancel(false);
        }
    }
}
