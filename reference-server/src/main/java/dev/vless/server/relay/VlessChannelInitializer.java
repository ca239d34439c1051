// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.codec.VlessRequestDecoder;
import dev.vless.codec.VlessServerEncoder;
import dev.vless.netty.EpollHalfClose;
import dev.vless.server.internal.OpenSslHalfClose;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslHandler;

/**
 * Sets up an accepted connection: TLS if configured (behind a look at the first byte, to tell a plaintext client),
 * a capture of the raw bytes when a fallback may need them, the request decoder and the handshake handler that acts
 * on the request.
 */
public final class VlessChannelInitializer extends ChannelInitializer<Channel> {

    private final ServerRuntime runtime;

    /** An initializer for connections of {@code runtime}'s server. */
    public VlessChannelInitializer(ServerRuntime runtime) {
        this.runtime = runtime;
    }

    @Override
    protected void initChannel(Channel ch) {
        runtime.connections.add(ch); // removed again when it closes
        runtime.metrics.connectionsAccepted.increment();
        runtime.metrics.connectionsOpen.increment();
        ch.closeFuture().addListener(f -> runtime.metrics.connectionsOpen.decrement());
        if (runtime.metrics.connectionsOpen.sum() > runtime.config.maxConnections()) {
            runtime.metrics.connectionsRefused.increment();
            runtime.metrics.limits.hit(dev.vless.server.Limit.CONNECTIONS, remoteIp(ch), runtime.config.maxConnections());
            ch.close();
            return;
        }
        EpollHalfClose.apply(ch); // TCP-3: a half-closed connection must still be able to wait for writability
        ChannelPipeline p = ch.pipeline();
        PlaintextDetector plaintext = null;
        if (runtime.sslContext != null) {
            plaintext = new PlaintextDetector(runtime.operatorLog);
            p.addLast(PlaintextDetector.NAME, plaintext);
            SslHandler tls = runtime.sslContext.newHandler(ch.alloc());
            p.addLast("tls", tls);
            OpenSslHalfClose halfClose = OpenSslHalfClose.forHandler(tls); // null on the JDK engine
            if (halfClose != null) {
                p.addLast(OpenSslHalfClose.NAME, halfClose);
            }
        } else {
            p.addLast(PlaintextDetector.NAME, new PlaintextDetector(runtime.operatorLog, false));
        }
        if (runtime.config.fallback() != null) {
            p.addLast(RawCapture.NAME, new RawCapture());
        }
        p.addLast("vless-encoder", VlessServerEncoder.INSTANCE);
        p.addLast(HandshakeHandler.DECODER_NAME, new VlessRequestDecoder());
        p.addLast(HandshakeHandler.NAME, new HandshakeHandler(runtime, plaintext));
    }

    private static java.net.InetAddress remoteIp(Channel ch) {
        return ch.remoteAddress() instanceof java.net.InetSocketAddress a ? a.getAddress() : null;
    }
}
