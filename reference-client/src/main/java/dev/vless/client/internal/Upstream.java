// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import dev.vless.client.VlessClientConfig;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessVersion;
import dev.vless.netty.EpollHalfClose;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.util.function.Consumer;

/**
 * Opens connections to the VLESS server: TCP with keepalive (TCP-4), then TLS unless the configuration says
 * plaintext. Every connection carries exactly one request; the callers write it.
 */
public final class Upstream {

    private final VlessClientConfig config;
    private final Transport transport;
    private final SslContext ssl;
    private final InetSocketAddress server;
    private final String tag;

    /**
     * Connections to {@code server}, the configured server's address resolved at start: resolving again on every
     * connection would block an event loop or need a resolver of its own.
     */
    public Upstream(VlessClientConfig config, Transport transport, SslContext ssl, InetSocketAddress server) {
        this.config = config;
        this.transport = transport;
        this.ssl = ssl;
        this.server = server;
        String u = config.user().toString();
        this.tag = "vless, " + u.substring(0, 8) + "…, " + config.serverText();
    }

    /**
     * Connects on {@code loop}; {@code handlers} completes the pipeline behind TLS. The future succeeds with the
     * channel once TLS is up (or TCP, in plaintext) and fails with the cause otherwise, the channel then closed.
     */
    Future<Channel> connect(EventLoop loop, Consumer<ChannelPipeline> handlers) {
        Promise<Channel> promise = loop.newPromise();
        int timeoutMillis = (int) Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis());
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeoutMillis)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        EpollHalfClose.apply(ch); // the server ends its direction first, the application still sends
                        if (ssl != null) {
                            String name = config.tls().serverName() != null ? config.tls().serverName()
                                    : config.serverHost();
                            SslHandler tls = ssl.newHandler(ch.alloc(), name, config.serverPort());
                            tls.setHandshakeTimeoutMillis(timeoutMillis);
                            ch.pipeline().addLast("tls", tls);
                        }
                        handlers.accept(ch.pipeline());
                    }
                });
        transport.keepAlive(b);
        b.connect(server).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(f.cause());
                return;
            }
            Channel ch = f.channel();
            SslHandler tls = ch.pipeline().get(SslHandler.class);
            if (tls == null) {
                promise.trySuccess(ch);
                return;
            }
            tls.handshakeFuture().addListener(h -> {
                if (h.isSuccess()) {
                    promise.trySuccess(ch);
                } else {
                    ch.close();
                    promise.tryFailure(h.cause());
                }
            });
        });
        return promise;
    }

    /** The request header for {@code command} to {@code target} in the configured version. */
    VlessRequest request(VlessCommand command, VlessAddress target) {
        return config.version() == VlessVersion.V0 ? VlessRequest.v0(config.user(), command, target)
                : VlessRequest.v1(config.user(), command, target);
    }

    /** The CRUMFURS request of the configured user. */
    VlessRequest crumfursRequest() {
        return VlessRequest.crumfurs(config.user());
    }

    /** The UDP-MUX request of the configured user: {@code 01 uuid 05} (MUX-1). */
    VlessRequest muxRequest() {
        return VlessRequest.mux(config.user());
    }

    /** Whether the server speaks v0 only: then UDP goes without CRUMFURS and responses carry a header (RSP-3). */
    boolean v0() {
        return config.version() == VlessVersion.V0;
    }

    /** The prefix of log lines about {@code destination}: "vless, user…, server => destination". */
    String describe(Object destination) {
        return tag + " => " + destination;
    }

    /** The server as resolved at start. */
    public InetSocketAddress server() {
        return server;
    }
}
