// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.server.DropReason;
import dev.vless.server.internal.ChannelMove;
import dev.vless.server.internal.UserRegistry;
import dev.vless.server.nat.Mapping;
import dev.vless.server.nat.NatContext;
import dev.vless.server.nat.UdpFlow;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A v1 command-2 connection: a member of its user's NAT context, sending from the socket the mapping rules gave it
 * and receiving what arrives from its target on any of the context's sockets.
 *
 * @see "spec/VLESS.md §11, §12"
 */
final class UdpRelay extends AbstractUdpRelay implements UdpFlow {

    private static final Logger log = LoggerFactory.getLogger(UdpRelay.class);

    private final UUID user;
    private final long sequence;
    private volatile NatContext context;
    private Mapping mapping;

    UdpRelay(ServerRuntime runtime, UUID user, InetSocketAddress target, long sequence) {
        super(runtime, target);
        this.user = user;
        this.sequence = sequence;
    }

    @Override
    void open(ChannelHandlerContext ctx) {
        InetAddress client = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
        // Onto the context's loop first: from then on frames and datagrams pass between this connection and the
        // context's sockets without a thread hop (auto-read is off until ready()).
        ChannelMove.moveTo(channel, runtime.nat.loopFor(user, client), () ->
                runtime.nat.withContext(user, client, c -> {
                    context = c;
                    backlog.joinContext(c.unsent());
                    c.attach(this);
                    if (!channel.isActive()) {
                        c.detach(this);
                    }
                }, () -> {
                    log.info("{}: user {}… has too many NAT contexts; closing", channel, UserRegistry.shortId(user));
                    channel.close();
                }));
    }

    @Override
    boolean send(ByteBuf payload) {
        return mapping.send(payload);
    }

    @Override
    void whenSocketWritable(Runnable r) {
        mapping.whenWritable(r);
    }

    @Override
    void closed() {
        NatContext c = context;
        if (c != null) {
            if (c.executor().inEventLoop()) {
                c.detach(this);
            } else {
                c.executor().execute(() -> c.detach(this));
            }
        }
    }

    @Override
    public InetSocketAddress target() {
        return target;
    }

    @Override
    public long sequence() {
        return sequence;
    }

    @Override
    public long lastActivityNanos() {
        return lastActivityNanos;
    }

    @Override
    public void mapped(Mapping m) {
        if (channel.eventLoop().inEventLoop()) {
            mapping = m;
            ready();
        } else {
            channel.eventLoop().execute(() -> {
                mapping = m;
                ready();
            });
        }
    }

    @Override
    public void mappingFailed(Throwable cause) {
        // Not WARN: a client can cause it (by exhausting descriptors), and nothing a client does may raise warnings.
        runtime.metrics.refusedNoSocket.increment();
        runtime.operatorLog.noSocket(channel, "a UDP socket", cause);
        log.debug("{}: no UDP socket for {}: {}", channel, target, String.valueOf(cause));
        channel.close(); // no byte was sent: v1 UDP has no response header
    }

    @Override
    public DropReason deliver(DatagramPacket packet) {
        return writeFrame(packet.content());
    }

    @Override
    public void close(String reason) {
        log.debug("{}: closing: {}", channel, reason);
        channel.close();
    }
}
