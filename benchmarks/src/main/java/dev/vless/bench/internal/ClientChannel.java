// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.internal;

import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * An {@link EmbeddedChannel} that reports a real remote address, so that the server's handlers, which key NAT
 * contexts by the client's IP, accept it as an accepted TCP connection.
 */
public final class ClientChannel extends EmbeddedChannel {

    private final InetSocketAddress remote;

    /** A registered, active channel whose peer is {@code remote}. */
    public ClientChannel(InetSocketAddress remote) throws Exception {
        super(DefaultChannelId.newInstance(), false, false);
        this.remote = remote;
        register();
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return isActive() ? remote : null;
    }
}
