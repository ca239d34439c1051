// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import dev.vless.codec.CrumfursAck;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.udp.CrumfursAckDecoder;
import dev.vless.codec.udp.UmfursDecoder;
import dev.vless.codec.udp.UmfursMessage;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's one CRUMFURS channel (per server and user): opened on the first UDP need, kept open, and re-opened
 * whenever it closes, with back-off from 1 s doubling to 60 s (CRF-7). The back-off starts again at 1 s once a
 * channel has stayed up for 60 s, so a server that keeps replacing or refusing the channel (another device of the
 * same user behind the same address, CRF-3) is not hammered. A first byte other than 0x14 closes the channel
 * (CRF-6); every UMFURS goes to the {@link UdpHub}. Runs on the hub's loop.
 */
final class CrumfursManager {

    private static final Logger log = LoggerFactory.getLogger(CrumfursManager.class);

    static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(60);

    private final UdpHub hub;
    private final Promise<Void> firstEstablished;
    private boolean started;
    private boolean closed;
    private Channel channel;
    private long establishedAt;
    private long nextDelayMillis = MIN_BACKOFF.toMillis();
    private ScheduledFuture<?> retry;
    private ScheduledFuture<?> ackTimer;

    CrumfursManager(UdpHub hub) {
        this.hub = hub;
        this.firstEstablished = hub.loop.newPromise();
    }

    /** Succeeds when the first acknowledgement arrives: from then on command-2 requests may go out (CRF-5). */
    Future<Void> established() {
        return firstEstablished;
    }

    /** Opens the channel unless it was opened before; from then on it is kept open. */
    void start() {
        if (started || closed) {
            return;
        }
        started = true;
        connect();
    }

    private void connect() {
        retry = null;
        if (closed) {
            return;
        }
        hub.runtime.upstream.connect(hub.loop, p -> {
            p.addLast("vless-encoder", VlessClientEncoder.INSTANCE);
            p.addLast("ack", new CrumfursAckDecoder());
            p.addLast("umfurs", new UmfursDecoder());
            p.addLast("crumfurs", new Handler());
        }).addListener(f -> {
            if (closed) {
                if (f.isSuccess()) {
                    ((Channel) f.getNow()).close();
                }
                return;
            }
            if (!f.isSuccess()) {
                log.warn("{}: cannot open CRUMFURS: {}; trying again in {} s", hub.runtime.upstream.describe("CRUMFURS"),
                        TcpTunnel.cause(f.cause()), nextDelayMillis / 1000.0);
                scheduleReopen();
                return;
            }
            Channel ch = (Channel) f.getNow();
            channel = ch;
            ch.closeFuture().addListener(x -> closed(ch));
            ch.writeAndFlush(hub.runtime.upstream.crumfursRequest());
            long timeout = hub.runtime.config.connectTimeout().toMillis();
            ackTimer = hub.loop.schedule(() -> {
                log.warn("{}: no CRUMFURS acknowledgement within {} ms; is this a v0-only server (then use v0)?",
                        hub.runtime.upstream.describe("CRUMFURS"), timeout);
                ch.close();
            }, timeout, TimeUnit.MILLISECONDS);
        });
    }

    private void established(Channel ch) {
        if (ackTimer != null) {
            ackTimer.cancel(false);
            ackTimer = null;
        }
        establishedAt = System.nanoTime();
        hub.runtime.metrics.crumfursEstablished.increment();
        hub.runtime.metrics.crumfursLive = true;
        if (firstEstablished.trySuccess(null)) {
            log.info("{}: CRUMFURS established", hub.runtime.upstream.describe("CRUMFURS"));
        } else {
            log.info("{}: CRUMFURS re-established", hub.runtime.upstream.describe("CRUMFURS"));
        }
    }

    private void closed(Channel ch) {
        if (channel != ch) {
            return;
        }
        channel = null;
        hub.runtime.metrics.crumfursLive = false;
        if (ackTimer != null) {
            ackTimer.cancel(false);
            ackTimer = null;
        }
        if (closed) {
            return;
        }
        if (establishedAt != 0 && System.nanoTime() - establishedAt >= MAX_BACKOFF.toNanos()) {
            nextDelayMillis = MIN_BACKOFF.toMillis();
        }
        establishedAt = 0;
        log.info("{}: CRUMFURS closed; re-opening in {} s", hub.runtime.upstream.describe("CRUMFURS"),
                nextDelayMillis / 1000.0);
        scheduleReopen();
    }

    private void scheduleReopen() {
        long delay = nextDelayMillis;
        nextDelayMillis = Math.min(nextDelayMillis * 2, MAX_BACKOFF.toMillis());
        retry = hub.loop.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    /** Closes the channel for good. */
    void close() {
        closed = true;
        if (retry != null) {
            retry.cancel(false);
        }
        if (ackTimer != null) {
            ackTimer.cancel(false);
        }
        if (channel != null) {
            channel.close();
        }
        hub.runtime.metrics.crumfursLive = false;
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof CrumfursAck) {
                established(ctx.channel());
            } else if (msg instanceof UmfursMessage m) {
                hub.fromCrumfurs(m);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
                ctx.close(); // the server ended it: replaced by a newer CRUMFURS (CRF-3), or shutting down
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // A bad acknowledgement (CRF-6) or UMFURS (UMF-2, UMF-6) leaves the stream out of sync: close, re-open.
            if (ctx.channel() == channel) {
                log.warn("{}: {}; closing", hub.runtime.upstream.describe("CRUMFURS"), TcpTunnel.cause(cause));
            }
            ctx.close();
        }
    }
}
