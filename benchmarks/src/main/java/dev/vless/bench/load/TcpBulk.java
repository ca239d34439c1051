// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The TCP bulk workload: {@code connections} connections each write 64 KiB chunks as fast as the path takes them
 * (writes follow writability), to the TCP sink, which counts what arrives. Through a VLESS target each is a command-1
 * connection to the sink; on the direct path the connection goes to the sink itself.
 */
final class TcpBulk {

    private static final int CHUNK = 64 * 1024;

    private final Net net;
    private final Peers peers;
    private final TlsMaterial tls;

    TcpBulk(Net net, Peers peers, TlsMaterial tls) {
        this.net = net;
        this.peers = peers;
        this.tls = tls;
    }

    static String label(int connections) {
        return connections + (connections == 1 ? " connection" : " connections") + ", 64 KiB writes";
    }

    Result run(int connections, Target target, Timing timing, Progress progress) throws Exception {
        InetSocketAddress sink = peers.tcpSink();
        ByteBuf chunk = Unpooled.directBuffer(CHUNK).writeZero(CHUNK); // shared: each write takes a retained view
        List<Channel> channels = new ArrayList<>();
        List<Future<Void>> ready = new ArrayList<>();
        AtomicLong broken = new AtomicLong();
        AtomicBoolean stopping = new AtomicBoolean();
        SslContext ssl = target.isDirect() ? null : target.tls() ? tls.clientFor(target.link()) : null;
        InetSocketAddress address = target.isDirect() ? sink : target.link().address();
        try {
            for (int i = 0; i < connections; i++) {
                Promise<Void> up = net.loop(i).newPromise();
                ready.add(up);
                ClientHandler writer = new ClientHandler() {
                    @Override
                    void ready(ChannelHandlerContext ctx) {
                        if (!target.isDirect()) {
                            VlessRequest request = new VlessRequest(target.version(), target.link().user(),
                                    new byte[0], VlessCommand.TCP, VlessAddress.of(sink));
                            ctx.write(UdpEcho.encode(request, ctx));
                        }
                        up.trySuccess(null);
                        pump(ctx.channel());
                    }

                    @Override
                    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                        pump(ctx.channel());
                        ctx.fireChannelWritabilityChanged();
                    }

                    private void pump(Channel ch) {
                        while (ch.isWritable() && !stopping.get()) {
                            ch.write(chunk.retainedDuplicate(), ch.voidPromise());
                        }
                        ch.flush();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ReferenceCountUtil.release(msg); // a v0 response header, if the sink ever answered
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        if (!stopping.get()) {
                            broken.incrementAndGet();
                            progress.note(target.name() + ": a bulk connection closed early");
                        }
                        up.tryFailure(new IllegalStateException("closed"));
                    }

                    @Override
                    void failed(ChannelHandlerContext ctx, Throwable cause) {
                        up.tryFailure(cause);
                    }
                };
                Channel ch = ClientHandler.connect(net.tcp(net.loop(i), writer)
                        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 << 10, 1 << 20)),
                        address, ssl, () -> new ChannelHandler[0], writer).sync().channel();
                channels.add(ch);
            }
            for (Future<Void> f : ready) {
                if (!f.await(30, TimeUnit.SECONDS) || !f.isSuccess()) {
                    throw new IllegalStateException(target.name() + ": a bulk connection could not be set up: "
                            + (f.cause() != null ? f.cause() : "timed out"));
                }
            }
            String what = "tcp " + label(connections) + " → " + target.name();
            progress.phase(what, "warm-up", timing.warmup(), () -> peers.sinkBytes() / 1_000_000, "MB/s");
            Cpu cpu = Cpu.start(target.pid());
            long bytes0 = peers.sinkBytes();
            long start = System.nanoTime();
            progress.phase(what, "measure", timing.duration(), () -> peers.sinkBytes() / 1_000_000, "MB/s");
            long bytes = peers.sinkBytes() - bytes0;
            long wall = System.nanoTime() - start;
            double seconds = wall / 1e9;
            Cpu.Sample used = cpu.stop();
            long megabytes = Math.max(1, Math.round(bytes / 1e6));
            double rate = bytes / 1e6 / seconds;
            return new Result("tcp-bulk", label(connections), target.name(), rate, "MB/s", rate * 8, null, null,
                    null, null, used.serverMicrosPer(megabytes), used.serverKernelShare(),
                    used.clientMicrosPer(megabytes), megabytes,
                    broken.get(), seconds, target.server(), target.variant(), used.serverCores(wall),
                    used.clientCores(wall), null, null);
        } finally {
            stopping.set(true);
            for (Channel ch : channels) {
                ch.close().await(5, TimeUnit.SECONDS);
            }
            chunk.release(); // closing released every view still queued
        }
    }
}
