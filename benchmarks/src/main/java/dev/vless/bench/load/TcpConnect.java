// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessVersion;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The connection set-up workload: {@code concurrency} workers each, again and again, open a connection, do the TLS
 * handshake (a full one: no resumption), send the request header with one byte of payload, wait for that byte's echo
 * (after the v0 response header), and close. Set-up time runs from connect to the echo. On the direct path the
 * worker does the same with the TLS echo peer itself: connect, handshake, one byte there and back.
 */
final class TcpConnect {

    private static final long HIGHEST = TimeUnit.SECONDS.toNanos(30);
    private static final long ATTEMPT_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final Net net;
    private final Peers peers;
    private final TlsMaterial tls;

    TcpConnect(Net net, Peers peers, TlsMaterial tls) {
        this.net = net;
        this.peers = peers;
        this.tls = tls;
    }

    static String label(int concurrency, boolean tls) {
        return concurrency + (concurrency == 1 ? " worker" : " workers") + (tls ? ", TLS" : ", plaintext")
                + ", 1-byte echo";
    }

    /** Per event loop: what its workers counted, touched on that loop only (the progress count excepted). */
    private static final class LoopState {
        final Histogram setup = new Histogram(HIGHEST, 3);
        long completedInWindow;
        long failedInWindow;
        volatile long completed;
    }

    Result run(int concurrency, Target target, Timing timing, Progress progress) throws Exception {
        boolean useTls = target.tls();
        InetSocketAddress echo = target.isDirect() && useTls ? peers.tlsEcho() : peers.tcpEcho();
        SslContext ssl = !useTls ? null : target.isDirect() ? tls.ownClient() : tls.clientFor(target.link());
        InetSocketAddress address = target.isDirect() ? echo : target.link().address();
        int expected = target.isDirect() || target.version() == VlessVersion.V1 ? 1 : 3; // v0: "00 00" first
        LoopState[] states = new LoopState[net.loopCount()];
        for (int i = 0; i < states.length; i++) {
            states[i] = new LoopState();
        }
        Window window = new Window();
        for (int i = 0; i < concurrency; i++) {
            EventLoop loop = net.loop(i);
            LoopState st = states[i % states.length];
            loop.execute(() -> attempt(loop, st, window, target, address, echo, ssl, expected));
        }
        String what = "tcp-connect " + label(concurrency, useTls) + " → " + target.name();
        Progress.Counter done = () -> {
            long n = 0;
            for (LoopState st : states) {
                n += st.completed;
            }
            return n;
        };
        try {
            progress.phase(what, "warm-up", timing.warmup(), done, "conn/s");
            Cpu cpu = Cpu.start(target.pid());
            window.start = System.nanoTime();
            progress.phase(what, "measure", timing.duration(), done, "conn/s");
            window.end = System.nanoTime();
            Cpu.Sample used = cpu.stop();
            window.stopping = true;
            Thread.sleep(200); // attempts in flight finish or fail; they started before the end, so they count
            Histogram setup = new Histogram(HIGHEST, 3);
            long completed = 0;
            long failed = 0;
            for (int i = 0; i < states.length; i++) {
                LoopState st = states[i];
                long[] c = net.loop(i).submit(() -> {
                    setup.add(st.setup);
                    return new long[] {st.completedInWindow, st.failedInWindow};
                }).get();
                completed += c[0];
                failed += c[1];
            }
            double seconds = (window.end - window.start) / 1e9;
            double rate = completed / seconds;
            return new Result("tcp-connect", label(concurrency, useTls), target.name(), rate, "connections/s", 0,
                    micros(setup, 50), micros(setup, 99), micros(setup, 99.9),
                    completed + failed == 0 ? null : (double) failed / (completed + failed),
                    used.serverMicrosPer(completed), used.serverKernelShare(),
                    used.clientMicrosPer(completed), completed, failed, seconds, target.server(), target.variant(),
                    used.serverCores(window.end - window.start), used.clientCores(window.end - window.start), null,
                    null);
        } finally {
            window.stopping = true;
            Thread.sleep(ATTEMPT_TIMEOUT_NANOS / 1_000_000 / 10);
        }
    }

    private static final class Window {
        volatile long start = Long.MAX_VALUE;
        volatile long end = Long.MAX_VALUE;
        volatile boolean stopping;

        boolean contains(long t) {
            return t - start >= 0 && t - end < 0;
        }
    }

    /** One connection: set up, one byte there and back, closed; then the next, until the run stops. */
    private void attempt(EventLoop loop, LoopState st, Window window, Target target, InetSocketAddress address,
            InetSocketAddress echo, SslContext ssl, int expected) {
        if (window.stopping) {
            return;
        }
        long t0 = System.nanoTime();
        boolean[] done = {false};
        ClientHandler probe = new ClientHandler() {
            private int received;

            @Override
            void ready(ChannelHandlerContext ctx) {
                ByteBuf out;
                if (target.isDirect()) {
                    out = ctx.alloc().buffer(1);
                } else {
                    VlessRequest request = new VlessRequest(target.version(), target.link().user(), new byte[0],
                            VlessCommand.TCP, VlessAddress.of(echo));
                    out = UdpEcho.encode(request, ctx);
                }
                out.writeByte('x'); // v1 sends the header with the first payload, in one segment
                ctx.writeAndFlush(out);
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof ByteBuf b) {
                    received += b.readableBytes();
                }
                ReferenceCountUtil.release(msg);
                if (received >= expected && !done[0]) {
                    done[0] = true;
                    long now = System.nanoTime();
                    st.completed = st.completed + 1;
                    if (window.contains(t0)) {
                        st.completedInWindow++;
                        st.setup.recordValue(Math.min(now - t0, HIGHEST));
                    }
                    ctx.close();
                }
            }
        };
        ChannelFuture f = ClientHandler.connect(net.tcp(loop, probe), address, ssl, () -> new ChannelHandler[0],
                probe);
        ScheduledFuture<?> timeout = loop.schedule(() -> f.channel().close(), ATTEMPT_TIMEOUT_NANOS,
                TimeUnit.NANOSECONDS);
        f.channel().closeFuture().addListener(x -> {
            timeout.cancel(false);
            if (!done[0] && window.contains(t0)) {
                st.failedInWindow++;
            }
            // Later, not now: a connect that fails at once would otherwise recurse.
            loop.execute(() -> attempt(loop, st, window, target, address, echo, ssl, expected));
        });
    }

    private static Double micros(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? null : h.getValueAtPercentile(percentile) / 1000.0;
    }
}
