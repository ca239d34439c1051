// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.socks;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.socksx.v5.DefaultSocks5CommandResponse;
import io.netty.handler.codec.socksx.v5.Socks5AddressType;
import io.netty.handler.codec.socksx.v5.Socks5CommandResponse;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;
import io.netty.handler.codec.socksx.v5.Socks5ServerEncoder;
import io.netty.util.NetUtil;
import java.net.Inet6Address;
import java.net.InetSocketAddress;

/** The SOCKS5 replies a backend sends; the front's encoder is still in the pipeline when they are written. */
public final class Socks5Replies {

    private Socks5Replies() {
    }

    /** A reply with {@code status} and the bound address {@code bound} (0.0.0.0:0 when {@code null}). */
    public static Socks5CommandResponse reply(Socks5CommandStatus status, InetSocketAddress bound) {
        if (bound == null || bound.getAddress() == null) {
            return new DefaultSocks5CommandResponse(status, Socks5AddressType.IPv4, "0.0.0.0", 0);
        }
        boolean v6 = bound.getAddress() instanceof Inet6Address;
        return new DefaultSocks5CommandResponse(status, v6 ? Socks5AddressType.IPv6 : Socks5AddressType.IPv4,
                NetUtil.toAddressString(bound.getAddress()), bound.getPort());
    }

    /**
     * Writes a success reply and then takes the SOCKS5 encoder out of the pipeline, so that what follows is the
     * application's byte stream. Runs on the channel's event loop, whichever thread calls it.
     */
    public static ChannelFuture succeed(Channel ch, InetSocketAddress bound) {
        ChannelPromise promise = ch.newPromise();
        onLoop(ch, () -> {
            if (ch.pipeline().get(Socks5ServerEncoder.class) == null) {
                promise.setFailure(new IllegalStateException("SOCKS5 reply already sent"));
                return;
            }
            // In the loop the write passes the encoder at once, so removing it next cannot overtake the reply.
            ch.writeAndFlush(reply(Socks5CommandStatus.SUCCESS, bound), promise);
            ch.pipeline().remove(Socks5ServerEncoder.class);
        });
        return promise;
    }

    /** Writes a failure reply and closes the connection once it has gone out. */
    public static void fail(Channel ch, Socks5CommandStatus status) {
        onLoop(ch, () -> {
            if (ch.pipeline().get(Socks5ServerEncoder.class) == null) {
                ch.close();
                return;
            }
            ch.writeAndFlush(reply(status, null)).addListener(ChannelFutureListener.CLOSE);
        });
    }

    private static void onLoop(Channel ch, Runnable task) {
        if (ch.eventLoop().inEventLoop()) {
            task.run();
        } else {
            ch.eventLoop().execute(task);
        }
    }
}
