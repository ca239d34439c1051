// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Writes leave in one flush per batch; with an interval, no sooner than it allows, and never left unflushed. */
class BatchedFlushTest {

    private EventLoopGroup group;
    private Channel server;
    private Channel client;
    private final AtomicInteger flushes = new AtomicInteger();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger flushed = new AtomicInteger();
    private final List<Long> flushTimes = new CopyOnWriteArrayList<>();

    @BeforeEach
    void connect() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
        LocalAddress address = new LocalAddress(BatchedFlushTest.class);
        server = new ServerBootstrap().group(group).channel(LocalServerChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ((ByteBuf) msg).release();
                    }
                }).bind(address).sync().channel();
        client = new Bootstrap().group(group).channel(LocalChannel.class)
                .handler(new ChannelOutboundHandlerAdapter() {
                    @Override
                    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                        pending.incrementAndGet();
                        ctx.write(msg, promise);
                    }

                    @Override
                    public void flush(ChannelHandlerContext ctx) {
                        flushes.incrementAndGet();
                        flushed.addAndGet(pending.getAndSet(0));
                        flushTimes.add(System.nanoTime());
                        ctx.flush();
                    }
                }).connect(address).sync().channel();
    }

    @AfterEach
    void close() throws Exception {
        client.close().sync();
        server.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** Writes {@code n} one-byte messages on the loop, each followed by afterWrite, as the relay does. */
    private void writeOnLoop(BatchedFlush flush, int n) throws Exception {
        client.eventLoop().submit(() -> {
            for (int i = 0; i < n; i++) {
                client.write(Unpooled.wrappedBuffer(new byte[] {(byte) i}));
                flush.afterWrite();
            }
        }).sync();
    }

    /** Waits until {@code n} writes in all have been flushed. */
    private void awaitFlushed(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (flushed.get() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(flushed).hasValue(n);
    }

    @Test
    @DisplayName("writes made in one go on the loop leave in one flush, and from another thread they all arrive")
    void oneFlushPerBatch() throws Exception {
        BatchedFlush flush = new BatchedFlush(client);
        writeOnLoop(flush, 5);
        awaitFlushed(5);
        assertThat(flushes).hasValue(1);
        for (int i = 0; i < 20; i++) { // off the loop: each write is a task, and the last task of a batch flushes
            client.write(Unpooled.wrappedBuffer(new byte[] {(byte) i}));
            flush.afterWrite();
        }
        awaitFlushed(25);
        assertThat(flushes.get()).isBetween(2, 21);
    }

    @Test
    @DisplayName("with an interval: an idle channel flushes at once, a busy one after the rest of the interval")
    void interval() throws Exception {
        long interval = TimeUnit.MILLISECONDS.toNanos(200);
        BatchedFlush flush = new BatchedFlush(client, interval);
        long start = System.nanoTime();
        writeOnLoop(flush, 1);
        awaitFlushed(1);
        assertThat(flushTimes.get(0) - start).as("idle: at once").isLessThan(interval);
        writeOnLoop(flush, 3);
        awaitFlushed(4);
        assertThat(flushTimes.get(1) - flushTimes.get(0)).as("busy: held for the interval")
                .isGreaterThanOrEqualTo(interval - TimeUnit.MILLISECONDS.toNanos(5));
        assertThat(flushes).hasValue(2);
    }
}
