// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The far ends every target reaches, run by the generator itself on loopback addresses other than 127.0.0.1 (so
 * that they are plainly not the server): one UDP echo socket per flow (127.0.0.2 up to 127.0.0.17), a TCP sink
 * that counts and discards, a TCP echo, and a TLS echo for the direct path of the connection workload.
 */
final class Peers implements AutoCloseable {

    private final Net net;
    private final TlsMaterial tls;
    private final List<Channel> udp = new ArrayList<>();
    private final List<EchoHandler> udpHandlers = new ArrayList<>();
    private final List<Channel> servers = new ArrayList<>();
    private final LongAdder sinkBytes = new LongAdder();
    private final AtomicInteger sinkOpen = new AtomicInteger();
    private final LongAdder sinkAccepted = new LongAdder();
    private Channel sink;
    private Channel echo;
    private Channel tlsEcho;

    Peers(Net net, TlsMaterial tls) {
        this.net = net;
        this.tls = tls;
    }

    /** The addresses of the first {@code n} UDP echo peers, opening more if needed. */
    synchronized List<InetSocketAddress> udpEchoes(int n) throws InterruptedException {
        while (udp.size() < n) {
            int i = udp.size();
            EchoHandler handler = new EchoHandler();
            // The peer of flow i runs on another loop than the flow (see UdpEcho), so one flow uses two threads.
            Channel ch = net.udp(net.loop(i + 1), handler).bind(new InetSocketAddress(address(2 + i % 16), 0))
                    .sync().channel();
            udp.add(ch);
            udpHandlers.add(handler);
        }
        List<InetSocketAddress> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add((InetSocketAddress) udp.get(i).localAddress());
        }
        return out;
    }

    /** Where echo peer {@code i} last heard from: the server's mapped address, once a datagram came through. */
    synchronized InetSocketAddress lastSender(int i) {
        return udpHandlers.get(i).lastSender;
    }

    /** The TCP sink: counts the bytes it reads and never writes. */
    synchronized InetSocketAddress tcpSink() throws InterruptedException {
        if (sink == null) {
            sink = listen(new InetSocketAddress(address(2), 0), new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(new SinkHandler());
                }
            });
        }
        return (InetSocketAddress) sink.localAddress();
    }

    long sinkBytes() {
        return sinkBytes.sum();
    }

    int sinkOpenConnections() {
        return sinkOpen.get();
    }

    long sinkAccepted() {
        return sinkAccepted.sum();
    }

    /** The plaintext TCP echo. */
    synchronized InetSocketAddress tcpEcho() throws InterruptedException {
        if (echo == null) {
            echo = listen(new InetSocketAddress(address(2), 0), new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(TcpEchoHandler.INSTANCE);
                }
            });
        }
        return (InetSocketAddress) echo.localAddress();
    }

    /** A TLS echo with the run's certificate: the direct path's counterpart of a TLS proxy connection. */
    synchronized InetSocketAddress tlsEcho() throws InterruptedException {
        if (tlsEcho == null) {
            tlsEcho = listen(new InetSocketAddress(address(3), 0), new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(tls.serverContext().newHandler(ch.alloc()));
                    ch.pipeline().addLast(TcpEchoHandler.INSTANCE);
                }
            });
        }
        return (InetSocketAddress) tlsEcho.localAddress();
    }

    private Channel listen(InetSocketAddress address, ChannelInitializer<Channel> init) throws InterruptedException {
        Channel ch = net.tcpServer(init).bind(address).sync().channel();
        servers.add(ch);
        return ch;
    }

    static InetAddress address(int lastByte) {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) lastByte});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public synchronized void close() {
        for (Channel ch : udp) {
            ch.close();
        }
        for (Channel ch : servers) {
            ch.close();
        }
    }

    /** Sends every datagram back to where it came from, flushing once per read batch. */
    private static final class EchoHandler extends ChannelInboundHandlerAdapter {
        volatile InetSocketAddress lastSender;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            DatagramPacket p = (DatagramPacket) msg;
            lastSender = p.sender();
            ctx.write(new DatagramPacket(p.content(), p.sender()), ctx.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP errors after a client went away; the peer stays up for the next run.
        }
    }

    /** Counts and discards. */
    private final class SinkHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            sinkOpen.incrementAndGet();
            sinkAccepted.increment();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            sinkOpen.decrementAndGet();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof io.netty.buffer.ByteBuf b) {
                sinkBytes.add(b.readableBytes());
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Writes back what it reads. */
    @Sharable
    private static final class TcpEchoHandler extends ChannelInboundHandlerAdapter {
        static final TcpEchoHandler INSTANCE = new TcpEchoHandler();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
