// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.codec.CrumfursAck;
import dev.vless.server.DropReason;
import dev.vless.server.internal.BatchedFlush;
import dev.vless.server.internal.ChannelMove;
import dev.vless.server.internal.UserRegistry;
import dev.vless.server.nat.CrumfursSink;
import dev.vless.server.nat.NatContext;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CRUMFURS channel: answers {@code 0x14}, becomes its NAT context's channel for datagrams from unknown sources
 * (DLV-2), and discards what the client sends on it (CRF-4).
 *
 * @see "spec/VLESS.md §9"
 */
final class CrumfursRelay extends ChannelInboundHandlerAdapter implements CrumfursSink {

    private static final Logger log = LoggerFactory.getLogger(CrumfursRelay.class);

    private final ServerRuntime runtime;
    private final UUID user;
    private Channel channel;
    private BatchedFlush flush;
    private ClientBacklog backlog;
    private volatile NatContext context;

    CrumfursRelay(ServerRuntime runtime, UUID user) {
        this.runtime = runtime;
        this.user = user;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        backlog = new ClientBacklog(channel, runtime);
        flush = new BatchedFlush(channel, AbstractUdpRelay.CLIENT_FLUSH_INTERVAL_NANOS, backlog::sync);
        InetAddress client = ((InetSocketAddress) channel.remoteAddress()).getAddress();
        // On the context's loop every UMFURS is written without a thread hop (see ChannelMove).
        ChannelMove.moveTo(channel, runtime.nat.loopFor(user, client), () -> attach(client));
    }

    private void attach(InetAddress client) {
        channel.config().setAutoRead(true);
        runtime.nat.withContext(user, client, c -> {
            context = c;
            backlog.joinContext(c.unsent());
            // The acknowledgement goes out only once this channel is the context's CRUMFURS, so that a client that
            // has read 0x14 receives every later UMFURS (an ack written before the attach left a window in which
            // datagrams went to the replaced channel or were dropped). Written from the context's loop, as every
            // UMFURS is, so that it precedes them all (CRF-1).
            channel.writeAndFlush(CrumfursAck.INSTANCE);
            c.attachCrumfurs(this);
            if (!channel.isActive()) {
                c.detachCrumfurs(this);
            }
        }, () -> {
            log.info("{}: user {}… has too many NAT contexts; closing CRUMFURS", channel, UserRegistry.shortId(user));
            channel.close();
        });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg); // CRF-4: read and discarded
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
            ctx.close(); // CRF-4: the client's end of stream closes the channel
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        backlog.sync();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        backlog.close();
        NatContext c = context;
        if (c != null) {
            if (c.executor().inEventLoop()) {
                c.detachCrumfurs(this);
            } else {
                c.executor().execute(() -> c.detachCrumfurs(this));
            }
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("{}: {}", ctx.channel(), cause.toString());
        ctx.close();
    }

    @Override
    public DropReason deliver(DatagramPacket packet) {
        return SourcedDatagrams.write(runtime, channel, backlog, flush, packet); // as a UMFURS (UMF-4), DLV-5
    }

    @Override
    public void replaced() {
        log.debug("{}: replaced by a newer CRUMFURS", channel);
        channel.close(); // CRF-3
    }
}
