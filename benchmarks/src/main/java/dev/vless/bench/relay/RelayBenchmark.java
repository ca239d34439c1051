// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.relay;

import dev.vless.bench.BenchmarkBase;
import dev.vless.bench.internal.BenchLoop;
import dev.vless.bench.internal.ClientChannel;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.udp.MuxFrameEncoder;
import dev.vless.codec.udp.UdpFrame;
import dev.vless.server.DestinationFilter;
import dev.vless.server.VlessServer;
import dev.vless.server.VlessServerConfig;
import dev.vless.server.internal.ServerMetrics;
import dev.vless.server.internal.UdpSockets;
import dev.vless.server.nat.NatAccess;
import dev.vless.server.nat.NatContext;
import dev.vless.server.relay.RelayAccess;
import dev.vless.server.relay.ServerRuntime;
import dev.vless.server.relay.VlessChannelInitializer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One datagram's whole way through the reference server's handlers, in one process: the server's real pipeline
 * ({@link VlessChannelInitializer}: request decoder, handshake handler, then {@code UdpFrameDecoder} + the v1 UDP
 * relay, or the CRUMFURS relay) on client connections that are {@link io.netty.channel.embedded.EmbeddedChannel}s,
 * and the NAT context's real UDP socket on an event loop the benchmark thread drives.
 *
 * <ul>
 *   <li>{@link #frameToUdp}: a frame arrives from the client → decoded → the NAT mapping sends it from the context
 *       socket. The write stops at the head of the socket's pipeline (a handler there releases it), so this is the
 *       server's own cost without the kernel's.</li>
 *   <li>{@link #frameToUdpSyscall}: the same, down to a real {@code sendto} on loopback (to a socket that never
 *       reads; the kernel drops what does not fit): adds Netty's datagram transport and the system call.</li>
 *   <li>{@link #udpToFrame}: a datagram from the target enters the context socket's pipeline as if read → NAT
 *       routing → framed and written to the client connection, whose output the benchmark takes and releases.</li>
 *   <li>{@link #udpToUmfurs}: the same from a source the client has no connection for → UMFURS on the CRUMFURS.</li>
 * </ul>
 *
 * <p>Each operation also runs the tasks the server handed to an event loop (a deferred flush, for example), on the
 * context socket's loop and on the client connection's.
 *
 * <p>Not included: TCP and TLS (the client side is an EmbeddedChannel, so no socket write and no encryption), and the
 * {@code recvmsg} of the datagram. The read directions allocate what Netty's datagram read does, one 64 KiB receive
 * buffer from the channel's allocator and one {@link DatagramPacket} (24 bytes), so {@code gc.alloc.rate.norm}
 * counts the read's packet object as well as everything the server allocates.
 */
@State(Scope.Thread)
public class RelayBenchmark extends BenchmarkBase {

    private static final UUID USER_A = UUID.fromString("0e6c5a3e-4f3a-4b39-9a43-0d2b1a7f0c11");
    private static final UUID USER_B = UUID.fromString("7d0f5a52-9a41-4c5e-8f4b-2b0c6d3e1f22");
    /** The UDP-MUX connection's user: a context of its own, so that it does not take user A's unknown sources. */
    private static final UUID USER_C = UUID.fromString("3c9b2e71-6d5a-4f08-b1e4-5a7c8d9e0f33");
    private static final InetSocketAddress CLIENT = new InetSocketAddress(InetAddress.getLoopbackAddress(), 50000);

    /** Payload bytes per datagram. */
    @Param({"64", "1200", "8192"})
    public int size;

    private BenchLoop loop;
    private ServerRuntime runtime;
    private java.nio.channels.DatagramChannel target;
    private InetSocketAddress targetAddress;
    private InetSocketAddress stranger;
    private ClientChannel crumfurs;
    private ClientChannel udpDiscarding;
    private ClientChannel udpSending;
    private ClientChannel mux;
    private ChannelPipeline muxSocketPipeline;
    private InetSocketAddress muxSocketAddress;
    private ByteBuf muxFrame;
    private ChannelPipeline socketPipeline;
    private InetSocketAddress socketAddress;
    private ByteBuf frame;
    private ByteBuf payload;
    private ByteBufAllocator allocator;

    /** Starts a server runtime on the benchmark's loop and opens the three client connections. */
    @Setup(Level.Trial)
    public void setUp() throws Exception {
        loop = BenchLoop.ownedByCurrentThread();
        target = java.nio.channels.DatagramChannel.open();
        target.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        targetAddress = (InetSocketAddress) target.getLocalAddress();
        stranger = new InetSocketAddress(InetAddress.getByAddress(new byte[] {(byte) 198, 51, 100, 23}), 27015);

        VlessServerConfig config = VlessServer.builder().plaintext().user(USER_A).user(USER_B).user(USER_C)
                .destinations(DestinationFilter.allowingLoopback()).buildConfig();
        runtime = new ServerRuntime(config, new ServerMetrics(), loop.transport(), loop.loop(), null);

        crumfurs = connect(VlessRequest.crumfurs(USER_A));
        pump(() -> !crumfurs.outboundMessages().isEmpty(), "the CRUMFURS acknowledgement");
        ReferenceCountUtil.release(crumfurs.readOutbound());
        // Two users, so two NAT contexts with a socket each: one socket discards writes, the other sends them.
        udpDiscarding = connect(VlessRequest.v1(USER_A, VlessCommand.UDP, VlessAddress.of(targetAddress)));
        udpSending = connect(VlessRequest.v1(USER_B, VlessCommand.UDP, VlessAddress.of(targetAddress)));
        pump(() -> udpDiscarding.config().isAutoRead() && udpSending.config().isAutoRead(), "the UDP mappings");

        AtomicReference<NatContext> context = new AtomicReference<>();
        RelayAccess.natTable(runtime).withContext(USER_A, CLIENT.getAddress(), context::set, () -> { });
        pump(() -> context.get() != null, "the NAT context");
        DatagramChannel socket = NatAccess.socketChannels(context.get()).get(0);
        socket.pipeline().addFirst("discard-writes", DiscardWrites.INSTANCE);
        socketPipeline = socket.pipeline();
        socketAddress = (InetSocketAddress) socket.localAddress();

        allocator = socket.alloc();
        payload = ByteBufAllocator.DEFAULT.directBuffer(size);
        for (int i = 0; i < size; i++) {
            payload.writeByte(i);
        }
        frame = ByteBufAllocator.DEFAULT.directBuffer(UdpFrame.HEADER_LENGTH + size);
        UdpFrame.encode(payload, frame);

        // A UDP-MUX connection in a context of its own: its first frame maps the target; the context's socket then
        // discards writes like user A's.
        mux = connect(VlessRequest.mux(USER_C));
        pump(() -> !mux.outboundMessages().isEmpty(), "the UDP-MUX answer");
        releaseAll(mux.outboundMessages());
        muxFrame = ByteBufAllocator.DEFAULT.directBuffer(MuxFrameEncoder.headerLength(VlessAddress.of(targetAddress))
                + size);
        MuxFrameEncoder.encodeHeader(VlessAddress.of(targetAddress), size, muxFrame);
        muxFrame.writeBytes(payload, 0, size);
        AtomicReference<NatContext> muxContext = new AtomicReference<>();
        mux.pipeline().fireChannelRead(muxFrame.readerIndex(0).retain());
        mux.pipeline().fireChannelReadComplete();
        pump(() -> {
            RelayAccess.natTable(runtime).withContext(USER_C, CLIENT.getAddress(), muxContext::set, () -> { });
            return muxContext.get() != null && !NatAccess.socketChannels(muxContext.get()).isEmpty()
                    && NatAccess.socketChannels(muxContext.get()).get(0).localAddress() != null;
        }, "the UDP-MUX mapping");
        DatagramChannel muxSocket = NatAccess.socketChannels(muxContext.get()).get(0);
        muxSocket.pipeline().addFirst("discard-writes", DiscardWrites.INSTANCE);
        muxSocketPipeline = muxSocket.pipeline();
        muxSocketAddress = (InetSocketAddress) muxSocket.localAddress();
    }

    /** Every iteration must run on the thread that owns the loop. */
    @Setup(Level.Iteration)
    public void checkThread() {
        loop.checkOwner();
    }

    /** Closes the connections, the runtime and the loop. */
    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        crumfurs.finishAndReleaseAll();
        udpDiscarding.finishAndReleaseAll();
        udpSending.finishAndReleaseAll();
        mux.finishAndReleaseAll();
        loop.runPending();
        runtime.close();
        loop.close();
        target.close();
        frame.release();
        muxFrame.release();
        payload.release();
    }

    /** Client frame → NAT mapping → datagram written to the context socket, stopped before the transport. */
    @Benchmark
    public void frameToUdp() {
        fireFrame(udpDiscarding.pipeline());
    }

    /** Client frame → NAT mapping → datagram sent on loopback with a real system call. */
    @Benchmark
    public void frameToUdpSyscall() {
        fireFrame(udpSending.pipeline());
    }

    /** Datagram from the target → NAT routing → frame written to the client connection. */
    @Benchmark
    public void udpToFrame() {
        socketPipeline.fireChannelRead(new DatagramPacket(received(), socketAddress, targetAddress));
        socketPipeline.fireChannelReadComplete();
        udpDiscarding.runPendingTasks();
        releaseAll(udpDiscarding.outboundMessages());
    }

    /** Datagram from an unknown source → NAT routing → UMFURS written to the CRUMFURS connection. */
    @Benchmark
    public void udpToUmfurs() {
        socketPipeline.fireChannelRead(new DatagramPacket(received(), socketAddress, stranger));
        socketPipeline.fireChannelReadComplete();
        crumfurs.runPendingTasks();
        releaseAll(crumfurs.outboundMessages());
    }

    /** Client's UDP-MUX frame → its destination's mapping → datagram written to the context socket (discarded). */
    @Benchmark
    public void muxFrameToUdp() {
        fireFrame(mux.pipeline(), muxFrame);
    }

    /** Datagram from a remote the MUX connection sent to → routing (MUX-17) → frame written to the MUX connection. */
    @Benchmark
    public void udpToMuxFrame() {
        muxSocketPipeline.fireChannelRead(new DatagramPacket(received(), muxSocketAddress, targetAddress));
        muxSocketPipeline.fireChannelReadComplete();
        mux.runPendingTasks();
        releaseAll(mux.outboundMessages());
    }

    /**
     * The buffer a read of the context socket hands on: the server reads each datagram into a buffer of
     * {@link UdpSockets#RECEIVE_BUFFER} bytes from the channel's allocator (UDP-4), so one is taken per operation and
     * the payload copied in, as the kernel would.
     */
    private ByteBuf received() {
        ByteBuf buf = allocator.ioBuffer(UdpSockets.RECEIVE_BUFFER);
        return buf.writeBytes(payload, 0, size);
    }

    /**
     * Hands the frame to the client connection as a TCP read would. The same buffer serves every operation: the
     * decoder releases it once consumed, so a retain and a reset make it look fresh without garbage of the harness.
     */
    private void fireFrame(ChannelPipeline p) {
        fireFrame(p, frame);
    }

    private void fireFrame(ChannelPipeline p, ByteBuf wire) {
        p.fireChannelRead(wire.readerIndex(0).retain());
        p.fireChannelReadComplete();
        loop.runTasks();
    }

    private static void releaseAll(Queue<Object> out) {
        Object m;
        while ((m = out.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
    }

    private ClientChannel connect(VlessRequest request) throws Exception {
        ClientChannel ch = new ClientChannel(CLIENT);
        ch.pipeline().addLast(new VlessChannelInitializer(runtime));
        ByteBuf header = ch.alloc().buffer(request.encodedLength());
        VlessClientEncoder.encode(request, header);
        ch.pipeline().fireChannelRead(header);
        ch.pipeline().fireChannelReadComplete();
        return ch;
    }

    /** Runs the server loop and the client channels' tasks until {@code done}, for at most two seconds. */
    private void pump(BooleanSupplier done, String what) throws InterruptedException {
        for (int i = 0; i < 2000; i++) {
            loop.runPending();
            for (ClientChannel ch : new ClientChannel[] {crumfurs, udpDiscarding, udpSending, mux}) {
                if (ch != null) {
                    ch.runPendingTasks();
                }
            }
            if (done.getAsBoolean()) {
                return;
            }
            Thread.sleep(1);
        }
        throw new IllegalStateException("the server did not set up " + what + " within 2 s");
    }

    /** Sits at the head of a socket's pipeline and ends writes there, as if the kernel had taken them. */
    @Sharable
    private static final class DiscardWrites extends ChannelOutboundHandlerAdapter {
        static final DiscardWrites INSTANCE = new DiscardWrites();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            ReferenceCountUtil.release(msg);
            promise.trySuccess();
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
        }
    }
}
