// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.socks;

import static java.util.Objects.requireNonNull;

import dev.vless.netty.EpollHalfClose;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.socksx.v5.Socks5InitialRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5ServerEncoder;
import java.time.Duration;

/** Sets up an accepted application connection for the SOCKS5 handshake. */
public final class SocksServerInitializer extends ChannelInitializer<Channel> {

    /** How long an application may take from connecting to its request. */
    public static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    private final SocksBackend backend;
    private final String user;
    private final String password;

    /** An initializer whose connections require {@code user} and {@code password}, or no login when both are null. */
    public SocksServerInitializer(SocksBackend backend, String user, String password) {
        this.backend = requireNonNull(backend, "backend");
        this.user = user;
        this.password = password;
    }

    @Override
    protected void initChannel(Channel ch) {
        EpollHalfClose.apply(ch); // an application that ends its request still reads the whole answer
        ch.pipeline().addLast("socks5-encoder", Socks5ServerEncoder.DEFAULT);
        ch.pipeline().addLast("socks5-decoder", new Socks5InitialRequestDecoder());
        ch.pipeline().addLast("socks5-front", new Socks5FrontHandler(backend, user, password, HANDSHAKE_TIMEOUT));
    }
}
