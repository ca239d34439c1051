// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A connection moved to another event loop keeps its bytes, their order and both directions. */
class ChannelMoveTest {

    private EventLoopGroup group;
    private Channel server;

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close().sync();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** A server on two loops whose connections move to the other loop on their first read. */
    private final class Mover extends ChannelInboundHandlerAdapter {
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        final CompletableFuture<EventLoop> movedTo = new CompletableFuture<>();
        final CountDownLatch echoed = new CountDownLatch(1);
        boolean moving;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            try {
                received.writeBytes(io.netty.buffer.ByteBufUtil.getBytes(b));
            } finally {
                b.release();
            }
            if (!moving) {
                moving = true;
                ctx.channel().config().setAutoRead(false);
                EventLoop other = otherLoop(ctx.channel().eventLoop());
                ChannelMove.moveTo(ctx.channel(), other, () -> {
                    movedTo.complete(other.inEventLoop() ? ctx.channel().eventLoop() : null);
                    ctx.channel().config().setAutoRead(true);
                });
            } else if (received.toString(StandardCharsets.US_ASCII).endsWith("!")) {
                ctx.writeAndFlush(Unpooled.copiedBuffer(received.toByteArray()));
                echoed.countDown();
            }
        }
    }

    private EventLoop otherLoop(EventLoop current) {
        for (var e : group) {
            if (e != current) {
                return (EventLoop) e;
            }
        }
        throw new AssertionError("one loop only");
    }

    private InetSocketAddress start(boolean preferNative, ChannelInboundHandlerAdapter handler) throws Exception {
        Transport transport = Transport.select(preferNative);
        group = transport.newGroup(2, "move-test");
        server = new ServerBootstrap().group(group).channel(transport.serverChannel())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(handler)
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        return (InetSocketAddress) server.localAddress();
    }

    @ParameterizedTest(name = "native transport preferred: {0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("bytes sent before, during and after the move arrive in order, and the answer comes back")
    void movesAConnection(boolean preferNative) throws Exception {
        Mover mover = new Mover();
        InetSocketAddress address = start(preferNative, mover);
        try (Socket s = new Socket(address.getAddress(), address.getPort())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write("first ".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // Written while the move is under way (or just after): the kernel keeps them for the new loop.
            out.write("second ".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            EventLoop to = mover.movedTo.get(5, TimeUnit.SECONDS);
            assertThat(to).as("the follow-up ran on the target loop, with the channel registered there").isNotNull();
            out.write("third!".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(mover.echoed.await(5, TimeUnit.SECONDS)).isTrue();
            byte[] expected = "first second third!".getBytes(StandardCharsets.US_ASCII);
            InputStream in = s.getInputStream();
            assertThat(in.readNBytes(expected.length)).isEqualTo(expected);
        }
    }

    @ParameterizedTest(name = "native transport preferred: {0}")
    @ValueSource(booleans = {true, false})
    @DisplayName("a connection closed before its move completes is not handed on")
    void closedDuringMove(boolean preferNative) throws Exception {
        AtomicBoolean ran = new AtomicBoolean();
        CountDownLatch closed = new CountDownLatch(1);
        InetSocketAddress address = start(preferNative, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                Channel ch = ctx.channel();
                ch.config().setAutoRead(false);
                ch.closeFuture().addListener(f -> closed.countDown());
                ch.close(); // closed first: the move must notice and never run the follow-up
                ChannelMove.moveTo(ch, otherLoop(ch.eventLoop()), () -> ran.set(true));
            }
        });
        try (Socket s = new Socket(address.getAddress(), address.getPort())) {
            assertThat(closed.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        Thread.sleep(100);
        assertThat(ran).isFalse();
    }
}
