// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.link.ShareLink;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The generator trusts the run's own certificate, by its pin, and not another one. */
class TlsMaterialTest {

    @Test
    void theRunsServersArePinnedToItsCertificateAndAnotherCertificateIsRefused() throws Exception {
        try (TlsMaterial run = new TlsMaterial(); TlsMaterial other = new TlsMaterial()) {
            ShareLink link = new ShareLink(UUID.randomUUID(), "127.0.0.1", 443, ShareLink.Security.TLS, null,
                    List.of(run.fingerprint()), false, "run");

            assertThat(run.fingerprint()).matches("[0-9A-F]{64}").isNotEqualTo(other.fingerprint());
            assertThat(handshake(run, run.clientFor(link)).isSuccess()).as("the run's certificate").isTrue();
            assertThat(handshake(run, run.ownClient()).isSuccess()).as("the direct path's TLS echo").isTrue();
            assertThat(handshake(other, run.clientFor(link)).isSuccess()).as("another certificate").isFalse();
            assertThat(run.clientFor(link)).as("built once").isSameAs(run.clientFor(link));
        }
    }

    /** A TLS handshake over an in-process channel: {@code server} serves its certificate to {@code client}. */
    private static Future<Channel> handshake(TlsMaterial server, SslContext client) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
        try {
            LocalAddress address = new LocalAddress("tls-" + UUID.randomUUID());
            Channel listener = new ServerBootstrap().group(group).channel(LocalServerChannel.class)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(server.serverContext().newHandler(ch.alloc()));
                        }
                    }).bind(address).sync().channel();
            SslHandler[] handler = new SslHandler[1];
            Channel ch = new Bootstrap().group(group).channel(LocalChannel.class)
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel c) {
                            handler[0] = client.newHandler(c.alloc());
                            c.pipeline().addLast(handler[0]);
                        }
                    }).connect(address).sync().channel();
            Future<Channel> done = handler[0].handshakeFuture().await();
            assertThat(done.await(10, TimeUnit.SECONDS)).as("the handshake ended").isTrue();
            ch.close().sync();
            listener.close().sync();
            return done;
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
