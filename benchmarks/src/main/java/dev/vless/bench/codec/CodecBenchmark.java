// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.codec;

import dev.vless.bench.BenchmarkBase;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessRequestDecoder;
import dev.vless.codec.VlessServerEncoder;
import dev.vless.codec.udp.MuxFrame;
import dev.vless.codec.udp.MuxFrameDecoder;
import dev.vless.codec.udp.MuxFrameEncoder;
import dev.vless.codec.udp.UdpFrame;
import dev.vless.codec.udp.UdpFrameDecoder;
import dev.vless.codec.udp.UdpFrameEncoder;
import dev.vless.codec.udp.UmfursDecoder;
import dev.vless.codec.udp.UmfursEncoder;
import dev.vless.codec.udp.UmfursMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.UUID;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Encoding and decoding of every VLESS message, both through the static codec methods (what a custom transport would
 * call) and through the Netty handlers in an {@link EmbeddedChannel} (what the server and client run). Every output
 * is released inside the measured operation, so {@code -prof gc}'s {@code gc.alloc.rate.norm} is the garbage one
 * message costs; the pooled buffers themselves are not garbage.
 *
 * <p>Request headers are the per-connection cost; frames and UMFURS are the per-datagram cost. Pipeline variants use
 * {@code fireChannelRead} and {@code writeAndFlush(msg, voidPromise)} rather than {@code writeInbound(Object...)},
 * whose varargs array would be the harness's garbage, not the codec's; and they pass the same input buffer each time,
 * retained and rewound (a decoder releases what it consumed), because with Netty 4.2's default allocator a derived
 * buffer ({@code retainedDuplicate}) is a fresh object.
 */
public class CodecBenchmark extends BenchmarkBase {

    /** The request headers measured: both versions, an IPv4 literal and a domain name. */
    public enum HeaderKind { V1_IPV4, V1_DOMAIN, V0_IPV4, V0_DOMAIN }

    private static final UUID USER = UUID.fromString("b831381d-6324-4d53-ad4f-8cda48b30811");

    /** A request header, its wire form, and a channel to decode it in. */
    @State(Scope.Thread)
    public static class Headers {

        /** Which header. */
        @Param({"V1_IPV4", "V1_DOMAIN", "V0_IPV4", "V0_DOMAIN"})
        public HeaderKind kind;

        VlessRequest request;
        ByteBuf wire;
        ByteBuf out;
        EmbeddedChannel channel;

        /** Builds the header and its bytes. */
        @Setup
        public void setUp() {
            VlessAddress target = kind == HeaderKind.V1_IPV4 || kind == HeaderKind.V0_IPV4
                    ? VlessAddress.of("203.0.113.7", 443) : VlessAddress.of("video.example.com", 443);
            request = kind == HeaderKind.V1_IPV4 || kind == HeaderKind.V1_DOMAIN
                    ? VlessRequest.v1(USER, VlessCommand.UDP, target) : VlessRequest.v0(USER, VlessCommand.UDP, target);
            wire = ByteBufAllocator.DEFAULT.directBuffer(request.encodedLength());
            VlessClientEncoder.encode(request, wire);
            out = ByteBufAllocator.DEFAULT.directBuffer(VlessRequest.MAX_LENGTH);
            channel = new EmbeddedChannel();
        }

        /** Releases the buffers. */
        @TearDown
        public void tearDown() {
            wire.release();
            out.release();
            channel.finishAndReleaseAll();
        }
    }

    /** A datagram payload, its frame and UMFURS wire forms, and channels with the UDP handlers. */
    @State(Scope.Thread)
    public static class Datagrams {

        /** Payload bytes: a game packet, a typical MTU-sized media datagram, a large one. */
        @Param({"64", "1200", "8192"})
        public int size;

        /**
         * Where the buffers come from: {@code default} is {@code ByteBufAllocator.DEFAULT} (Netty 4.2's adaptive
         * allocator, which the server's channels use), or {@code pooled} or {@code unpooled}.
         */
        @Param({"default"})
        public String allocator;

        ByteBuf payload;
        ByteBuf frame;
        ByteBuf umfurs;
        ByteBuf out;
        /** A client's UDP-MUX frame to {@link #source}'s address (IPv4) and one to {@link #domain}. */
        ByteBuf muxToIpv4;
        ByteBuf muxToDomain;
        VlessAddress domain;
        VlessAddress ipv4;
        InetSocketAddress source;
        EmbeddedChannel frameDecoder;
        EmbeddedChannel frameEncoder;
        EmbeddedChannel umfursDecoder;
        EmbeddedChannel serverEncoder;

        /** Builds the wire forms. */
        @Setup
        public void setUp() throws UnknownHostException {
            ByteBufAllocator alloc = switch (allocator) {
                case "default" -> ByteBufAllocator.DEFAULT;
                case "pooled" -> PooledByteBufAllocator.DEFAULT;
                case "unpooled" -> UnpooledByteBufAllocator.DEFAULT;
                default -> throw new IllegalArgumentException("allocator: " + allocator
                        + " (expected: default, pooled or unpooled)");
            };
            source = new InetSocketAddress(InetAddress.getByAddress(new byte[] {(byte) 198, 51, 100, 23}), 27015);
            payload = alloc.directBuffer(size);
            for (int i = 0; i < size; i++) {
                payload.writeByte(i);
            }
            frame = alloc.directBuffer(UdpFrame.HEADER_LENGTH + size);
            UdpFrame.encode(payload, frame);
            umfurs = alloc.directBuffer(UmfursDecoder.IPV4_HEADER_LENGTH + size);
            UmfursEncoder.encode(source, payload, umfurs);
            out = alloc.directBuffer(MuxFrameEncoder.headerLength(VlessAddress.of("x".repeat(255), 1)) + size);
            ipv4 = VlessAddress.of(source);
            domain = VlessAddress.of("tracker.example.com", 6881);
            muxToIpv4 = alloc.directBuffer(MuxFrameEncoder.headerLength(ipv4) + size);
            MuxFrame toIpv4 = new MuxFrame(ipv4, payload.retainedDuplicate());
            MuxFrameEncoder.encode(toIpv4, muxToIpv4);
            toIpv4.release();
            muxToDomain = alloc.directBuffer(MuxFrameEncoder.headerLength(domain) + size);
            MuxFrameEncoder.encodeHeader(domain, size, muxToDomain);
            muxToDomain.writeBytes(payload, 0, size);
            frameDecoder = new EmbeddedChannel(new UdpFrameDecoder());
            frameEncoder = new EmbeddedChannel(UdpFrameEncoder.INSTANCE);
            umfursDecoder = new EmbeddedChannel(new UmfursDecoder());
            serverEncoder = new EmbeddedChannel(VlessServerEncoder.INSTANCE);
        }

        /** Releases the buffers. */
        @TearDown
        public void tearDown() {
            payload.release();
            frame.release();
            umfurs.release();
            out.release();
            muxToIpv4.release();
            muxToDomain.release();
            frameDecoder.finishAndReleaseAll();
            frameEncoder.finishAndReleaseAll();
            umfursDecoder.finishAndReleaseAll();
            serverEncoder.finishAndReleaseAll();
        }
    }

    /** Writes a request header with the static encoder. */
    @Benchmark
    public ByteBuf encodeRequest(Headers s) {
        s.out.clear();
        VlessClientEncoder.encode(s.request, s.out);
        return s.out;
    }

    /** Reads a request header with the static decoder. */
    @Benchmark
    public VlessRequest decodeRequest(Headers s) {
        s.wire.readerIndex(0);
        return VlessRequestDecoder.decode(s.wire);
    }

    /**
     * Reads a request header with a new {@link VlessRequestDecoder} in a pipeline, as a server does once per
     * connection: the decoder is added, decodes, and removes itself.
     */
    @Benchmark
    public Object decodeRequestInPipeline(Headers s) {
        ChannelPipeline p = s.channel.pipeline();
        p.addFirst("request-decoder", new VlessRequestDecoder());
        p.fireChannelRead(s.wire.readerIndex(0).retain());
        p.fireChannelReadComplete();
        return s.channel.readInbound();
    }

    /** Frames a payload with the static encoder (one copy into the output). */
    @Benchmark
    public ByteBuf encodeFrame(Datagrams s) {
        s.out.clear();
        UdpFrame.encode(s.payload, s.out);
        return s.out;
    }

    /** Frames a payload with {@link UdpFrameEncoder}: a two-byte header buffer plus the payload, no copy. */
    @Benchmark
    public void encodeFrameInPipeline(Datagrams s) {
        EmbeddedChannel ch = s.frameEncoder;
        ch.writeAndFlush(s.payload.retain(), ch.voidPromise());
        ByteBuf header = ch.readOutbound();
        ByteBuf body = ch.readOutbound();
        header.release();
        body.release();
    }

    /** Writes a client's UDP-MUX frame to a domain name: header (type, name, port, length) and payload. */
    @Benchmark
    public ByteBuf encodeMuxFrameToDomain(Datagrams s) {
        s.out.clear();
        MuxFrameEncoder.encodeHeader(s.domain, s.payload.readableBytes(), s.out);
        s.out.writeBytes(s.payload, s.payload.readerIndex(), s.payload.readableBytes());
        return s.out;
    }

    /**
     * Finds the end of a client's UDP-MUX frame to an IPv4 destination and reads its fields in place: what a server's
     * hot path does per frame, without building a frame object.
     */
    @Benchmark
    public long parseMuxFrameInPlace(Datagrams s) {
        ByteBuf in = s.muxToIpv4.readerIndex(0);
        int length = MuxFrameDecoder.frameLength(in, MuxFrameDecoder.Direction.FROM_CLIENT);
        int start = in.readerIndex();
        long key = ((in.getInt(start + 1) & 0xffffffffL) << 16) | in.getUnsignedShort(start + 5);
        return key + length;
    }

    /** Decodes a client's UDP-MUX frame to a domain into a {@link MuxFrame} (name, port, retained payload slice). */
    @Benchmark
    public VlessAddress decodeMuxFrameToDomain(Datagrams s) {
        s.muxToDomain.readerIndex(0);
        MuxFrame f = MuxFrameDecoder.decode(s.muxToDomain, MuxFrameDecoder.Direction.FROM_CLIENT);
        f.release();
        return f.address();
    }

    /** Reads one frame with the static decoder; the payload is a retained slice. */
    @Benchmark
    public void decodeFrame(Datagrams s) {
        s.frame.readerIndex(0);
        UdpFrameDecoder.decode(s.frame).release();
    }

    /** Reads one frame with {@link UdpFrameDecoder} in a pipeline. */
    @Benchmark
    public void decodeFrameInPipeline(Datagrams s) {
        ChannelPipeline p = s.frameDecoder.pipeline();
        p.fireChannelRead(s.frame.readerIndex(0).retain());
        p.fireChannelReadComplete();
        ByteBuf payload = s.frameDecoder.readInbound();
        payload.release();
    }

    /** Writes one UMFURS (header and a copy of the payload) with the static encoder. */
    @Benchmark
    public ByteBuf encodeUmfurs(Datagrams s) {
        s.out.clear();
        UmfursEncoder.encode(s.source, s.payload, s.out);
        return s.out;
    }

    /** Writes one UMFURS with {@link VlessServerEncoder}: a header buffer plus the payload, no copy. */
    @Benchmark
    public void encodeUmfursInPipeline(Datagrams s) {
        EmbeddedChannel ch = s.serverEncoder;
        ch.writeAndFlush(new UmfursMessage(s.payload.retain(), s.source), ch.voidPromise());
        ByteBuf header = ch.readOutbound();
        ByteBuf body = ch.readOutbound();
        header.release();
        body.release();
    }

    /** Reads one UMFURS with the static decoder. */
    @Benchmark
    public InetSocketAddress decodeUmfurs(Datagrams s) {
        s.umfurs.readerIndex(0);
        UmfursMessage m = UmfursDecoder.decode(s.umfurs);
        m.release();
        return m.source();
    }

    /** Reads one UMFURS with {@link UmfursDecoder} in a pipeline. */
    @Benchmark
    public InetSocketAddress decodeUmfursInPipeline(Datagrams s) {
        ChannelPipeline p = s.umfursDecoder.pipeline();
        p.fireChannelRead(s.umfurs.readerIndex(0).retain());
        p.fireChannelReadComplete();
        UmfursMessage m = s.umfursDecoder.readInbound();
        m.release();
        return m.source();
    }
}
