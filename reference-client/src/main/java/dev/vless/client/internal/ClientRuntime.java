// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import dev.vless.client.VlessClientConfig;
import dev.vless.client.socks.SocksBackend;
import dev.vless.codec.VlessAddress;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;

/**
 * What a running client shares between its connections: configuration, counters, the way to the server and the UDP
 * hub. It is the SOCKS5 front's backend.
 */
public final class ClientRuntime implements SocksBackend {

    final VlessClientConfig config;
    final ClientMetrics metrics;
    final Transport transport;
    final Upstream upstream;
    final UdpHub hub;

    /** A runtime whose UDP lives on {@code udpLoop}. */
    public ClientRuntime(VlessClientConfig config, ClientMetrics metrics, Transport transport, Upstream upstream,
            EventLoop udpLoop) {
        this.config = config;
        this.metrics = metrics;
        this.transport = transport;
        this.upstream = upstream;
        this.hub = new UdpHub(this, udpLoop);
    }

    @Override
    public ChannelHandler connect(VlessAddress target) {
        return new TcpTunnel(this, target);
    }

    @Override
    public ChannelHandler associate(VlessAddress clientHint) {
        return new UdpAssociation(this, clientHint);
    }

    /** Closes all UDP state and the CRUMFURS; TCP tunnels end with their event loops. */
    public Future<?> close() {
        return hub.loop.submit(hub::close);
    }
}
