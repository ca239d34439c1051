// SPDX-License-Identifier: Apache-2.0
package dev.vless.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A half-closed epoll channel that answers with more than the socket buffers hold: the client sends nothing, ends its
 * direction at once and reads only after a pause, so the server must wait for EPOLLOUT after the end of stream.
 */
class EpollHalfCloseTest {

    private static final int ANSWER = 16 << 20;
    private static final int CHUNK = 64 << 10;

    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        assumeTrue(Epoll.isAvailable(), "no native epoll here");
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @AfterAll
    static void stop() {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    @DisplayName("with the fix, the whole answer arrives after the client's end of stream, then the server's")
    void fixedChannelWritesTheWholeAnswer() throws Exception {
        Outcome o = run(true);
        assertThat(o.written.get(10, TimeUnit.SECONDS)).as("the server's writes").isNull();
        assertThat(o.received).isEqualTo(ANSWER);
    }

    @Test
    @DisplayName("without it, Netty 4.2.18 fails the wait for EPOLLOUT with ENOENT and the answer is cut off "
            + "(when this fails, Netty has fixed the fault and EpollHalfClose can go)")
    void unfixedChannelLosesTheAnswer() throws Exception {
        Outcome o = run(false);
        Throwable failure = o.written.get(10, TimeUnit.SECONDS);
        assertThat(failure).as("the server's writes").isNotNull();
        assertThat(causes(failure)).contains("epoll_ctl").contains("No such file or directory");
        assertThat(o.received).isLessThan(ANSWER);
    }

    @Test
    @DisplayName("the fix reaches the method it needs in this Netty")
    void fixIsAvailable() {
        assertThat(EpollHalfClose.available()).isTrue();
    }

    private record Outcome(CompletableFuture<Throwable> written, long received) {
    }

    private static Outcome run(boolean fix) throws Exception {
        CompletableFuture<Throwable> written = new CompletableFuture<>();
        Channel server = new ServerBootstrap()
                .group(group)
                .channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        if (fix) {
                            EpollHalfClose.apply(ctx.channel());
                        }
                        ctx.read();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ReferenceCountUtil.release(msg);
                    }

                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        if (evt instanceof ChannelInputShutdownEvent) {
                            // After the event: Netty empties the interest set once this handler has returned.
                            ctx.executor().execute(() -> answer(ctx.channel(), written));
                        }
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        long received = 0;
        try (Socket s = new Socket()) {
            s.setSoTimeout(10_000);
            s.connect(server.localAddress());
            s.shutdownOutput();
            Thread.sleep(300); // the server fills the socket buffers and has to wait for EPOLLOUT
            InputStream in = s.getInputStream();
            byte[] buf = new byte[CHUNK];
            int n;
            while ((n = in.read(buf)) >= 0) {
                received += n;
            }
        } finally {
            server.close().sync();
        }
        return new Outcome(written, received);
    }

    /**
     * Writes the answer, then ends the server's direction; completes {@code written} with null, or with the first
     * write's failure (the later ones only say the channel is closed).
     */
    private static void answer(Channel ch, CompletableFuture<Throwable> written) {
        ChannelFuture last = null;
        for (int off = 0; off < ANSWER; off += CHUNK) {
            last = ch.writeAndFlush(Unpooled.wrappedBuffer(new byte[CHUNK])).addListener(f -> {
                if (!f.isSuccess() && written.complete(f.cause())) {
                    ch.close();
                }
            });
        }
        last.addListener(f -> {
            if (f.isSuccess() && written.complete(null)) {
                ((DuplexChannel) ch).shutdownOutput();
            }
        });
    }

    private static String causes(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c).append('\n');
        }
        return b.toString();
    }
}
