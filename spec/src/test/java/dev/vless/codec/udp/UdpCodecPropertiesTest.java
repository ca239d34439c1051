// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import static dev.vless.codec.CodecHarness.chunkSizes;
import static dev.vless.codec.CodecHarness.chunks;
import static dev.vless.codec.CodecHarness.concat;
import static dev.vless.codec.CodecHarness.decode;
import static dev.vless.codec.CodecHarness.encode;
import static dev.vless.codec.CodecHarness.errorKind;
import static dev.vless.codec.CodecHarness.hex;
import static dev.vless.codec.CodecHarness.mutations;
import static dev.vless.codec.CodecHarness.slice;
import static dev.vless.codec.CodecHarness.split;
import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.QuickTheory.qt;

import dev.vless.codec.CodecHarness;
import dev.vless.codec.CodecHarness.Datagram;
import dev.vless.codec.CodecHarness.Mutation;
import dev.vless.codec.CodecHarness.Outcome;
import dev.vless.codec.CodecHarness.Payload;
import dev.vless.codec.CodecHarness.TrackingAllocator;
import dev.vless.codec.CrumfursAck;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.VlessServerEncoder;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.socket.DatagramPacket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.quicktheories.QuickTheory;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;

/**
 * Properties of the UDP frame, CRUMFURS acknowledgement and UMFURS codecs over generated datagrams: round trip, any
 * split, and mutated streams that are decoded consistently up to a {@link VlessProtocolException}.
 */
class UdpCodecPropertiesTest {

    private static final long SEED = 0x55444650L; // "UDFP"
    /** Streams up to this size are also split at every position; larger ones only into random chunks. */
    private static final int SPLIT_EVERYWHERE_LIMIT = 400;
    private static final InetSocketAddress LOCAL = new InetSocketAddress("198.51.100.1", 4000);

    private static final Supplier<ChannelHandler[]> FRAMES = () -> new ChannelHandler[] {new UdpFrameDecoder()};
    private static final Supplier<ChannelHandler[]> UMFURS = () -> new ChannelHandler[] {new UmfursDecoder()};
    private static final Supplier<ChannelHandler[]> CRUMFURS =
            () -> new ChannelHandler[] {new CrumfursAckDecoder(), new UmfursDecoder()};

    /** Every buffer of every example comes from here and is checked after each example. */
    private final TrackingAllocator alloc = new TrackingAllocator();

    /** A fixed seed, so that every build runs the same examples; few shrink cycles, so a failure reports soon. */
    private static QuickTheory theory(int examples) {
        return qt().withFixedSeed(SEED).withExamples(examples).withShrinkCycles(200);
    }

    // ---- generators ----

    /**
     * Payload bytes: a size and a seed that fills them. Drawing 64 KiB byte by byte from the generator would dominate
     * the run time and shrinking a datagram's content teaches nothing the size does not.
     */
    record PayloadSpec(int size, long seed) {

        byte[] bytes() {
            byte[] b = new byte[size];
            new SplittableRandom(seed).nextBytes(b);
            return b;
        }

        @Override
        public String toString() {
            return size + " bytes (seed " + seed + ")";
        }
    }

    /** A UMFURS to send: its source as a socket would report it, and its payload. */
    record Umfurs(InetSocketAddress source, PayloadSpec payload, boolean asDatagramPacket) {

        /** What the receiver must see: the canonical source (ADR-4) and the same bytes. */
        Datagram expected() {
            return new Datagram(VlessAddress.canonical(source), Payload.of(payload.bytes()));
        }

        Object message(ByteBufAllocator alloc) {
            ByteBuf content = CodecHarness.buf(alloc, payload.bytes());
            return asDatagramPacket ? new DatagramPacket(content, LOCAL, source) : new UmfursMessage(content, source);
        }
    }

    static Gen<PayloadSpec> payloads() {
        Gen<Integer> sizes = Generate.frequency(Pair.of(2, Generate.constant(0)), Pair.of(8, Generate.range(1, 64)),
                Pair.of(3, Generate.range(65, 1500)), Pair.of(1, Generate.range(1501, 65534)),
                Pair.of(1, Generate.constant(UdpFrame.MAX_PAYLOAD)));
        return sizes.zip(Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE), PayloadSpec::new);
    }

    static Gen<List<PayloadSpec>> frames() {
        return SourceDSL.lists().of(payloads()).ofSizeBetween(0, 4);
    }

    static Gen<Integer> ports() {
        return Generate.frequency(Pair.of(1, Generate.pick(List.of(1, 255, 256, 32768, 65535))),
                Pair.of(4, Generate.range(1, 65535)));
    }

    /** IPv4, IPv6 and IPv4-mapped IPv6 sources, the last as the {@link Inet6Address} a dual-stack socket reports. */
    static Gen<InetSocketAddress> sources() {
        Gen<InetAddress> v4 = CodecHarness.byteArrays(Generate.constant(4)).map(UdpCodecPropertiesTest::address);
        Gen<InetAddress> v6 = CodecHarness.byteArrays(Generate.constant(16)).map(UdpCodecPropertiesTest::address);
        Gen<InetAddress> mapped = CodecHarness.byteArrays(Generate.constant(4))
                .map(b -> (InetAddress) ipv6(concat(new byte[10], new byte[] {-1, -1}, b)));
        return Generate.oneOf(v4, v6, mapped).zip(ports(), InetSocketAddress::new);
    }

    static Gen<List<Umfurs>> umfurses() {
        Gen<Umfurs> one = sources().zip(payloads(), Generate.booleans(), Umfurs::new);
        return SourceDSL.lists().of(one).ofSizeBetween(0, 4);
    }

    /** The first {@code n} bytes of a frame or message that does not finish; often none. */
    static Gen<Integer> partialTails() {
        return Generate.frequency(Pair.of(1, Generate.constant(0)), Pair.of(1, Generate.range(1, 24)));
    }

    // ---- UDP frames ----

    @Test
    void framesRoundTrip() {
        theory(300).forAll(frames()).checkAssert(specs -> {
            byte[] wire = encodeFrames(specs);
            byte[] copied = new byte[0];
            for (PayloadSpec p : specs) {
                ByteBuf out = alloc.buffer();
                UdpFrame.encode(Unpooled.wrappedBuffer(p.bytes()), out);
                copied = concat(copied, CodecHarness.release(out));
            }
            assertThat(hex(copied)).isEqualTo(hex(wire));
            Outcome o = decode(alloc, FRAMES, List.of(wire), true);
            alloc.assertAllReleased();
            assertThat(o.error()).isNull();
            assertThat(o.messages()).isEqualTo(payloadsOf(specs));
        });
    }

    @Test
    void framesSplitAnywhereDecodeTheSame() {
        theory(400).forAll(frames(), payloads(), partialTails(), chunkSizes())
                .checkAssert((specs, next, tail, sizes) -> {
                    byte[] partial = slice(encodeFrames(List.of(next)), 0, Math.min(tail, 1 + next.size()));
                    byte[] bytes = concat(encodeFrames(specs), partial);
                    String error = partial.length == 0 ? "none" : "truncated UDP-1";
                    List<Object> expected = payloadsOf(specs);
                    if (bytes.length <= SPLIT_EVERYWHERE_LIMIT) {
                        for (int cut = 1; cut < bytes.length; cut++) {
                            assertStreamDecodesAs(FRAMES, split(bytes, cut), expected, error);
                        }
                    }
                    assertStreamDecodesAs(FRAMES, chunks(bytes, sizes), expected, error);
                });
    }

    @Test
    void mutatedFramesAreDecodedConsistentlyOrRejected() {
        theory(3000).forAll(frames(), mutations(), chunkSizes()).checkAssert((specs, edits, sizes) -> {
            byte[] input = Mutation.applyAll(edits, encodeFrames(specs));
            Outcome whole = decode(alloc, FRAMES, List.of(input), true);
            Outcome chunked = decode(alloc, FRAMES, chunks(input, sizes), true);
            alloc.assertAllReleased();
            for (Outcome o : List.of(whole, chunked)) {
                int consumed = assertConsumedPrefix(o, input, (d, at) -> frame(((Payload) d).bytes()),
                        (d, at) -> 2 + ((Payload) d).length());
                // Every length is valid, so the only way to fail is a stream ending inside a frame.
                if (o.error() != null) {
                    assertThat(errorKind(o.error())).isEqualTo("truncated UDP-1");
                    assertThat(consumed).isLessThan(input.length);
                }
            }
            assertThat(errorKind(chunked.error())).isEqualTo(errorKind(whole.error()));
            assertThat(chunked.messages()).isEqualTo(whole.messages());
        });
    }

    // ---- UMFURS and the CRUMFURS stream ----

    @Test
    void umfursRoundTripsWithCanonicalSource() {
        theory(300).forAll(umfurses()).checkAssert(messages -> {
            byte[] wire = encodeUmfurs(messages);
            Outcome o = decode(alloc, UMFURS, List.of(wire), true);
            alloc.assertAllReleased();
            assertThat(o.error()).isNull();
            assertThat(o.messages()).isEqualTo(expectedOf(messages));
            // An IPv4-mapped source goes out as type 1 (UMF-3): the encoding has the canonical size.
            int size = 0;
            for (Umfurs m : messages) {
                size += UmfursEncoder.headerLength(m.source()) + m.payload().size();
                assertThat(UmfursEncoder.headerLength(m.source()))
                        .isEqualTo(m.expected().source().getAddress() instanceof Inet6Address ? 21 : 9);
            }
            assertThat(wire).hasSize(size);
        });
    }

    @Test
    void crumfursStreamSplitAnywhereDecodesTheSame() {
        theory(400).forAll(umfurses(), sources(), partialTails(), chunkSizes())
                .checkAssert((messages, nextSource, tail, sizes) -> {
                    byte[] next = encodeUmfurs(List.of(new Umfurs(nextSource, new PayloadSpec(30, 1), false)));
                    byte[] partial = slice(next, 0, tail);
                    byte[] umfurs = concat(encodeUmfurs(messages), partial);
                    byte[] stream = concat(encode(alloc, VlessServerEncoder.INSTANCE, CrumfursAck.INSTANCE), umfurs);
                    String error = partial.length == 0 ? "none" : "truncated UMF-1";
                    List<Object> datagrams = expectedOf(messages);
                    List<Object> afterAck = new ArrayList<>();
                    afterAck.add(CrumfursAck.INSTANCE);
                    afterAck.addAll(datagrams);
                    if (stream.length <= SPLIT_EVERYWHERE_LIMIT) {
                        for (int cut = 1; cut < stream.length; cut++) {
                            assertStreamDecodesAs(CRUMFURS, split(stream, cut), afterAck, error);
                            if (cut < umfurs.length) {
                                assertStreamDecodesAs(UMFURS, split(umfurs, cut), datagrams, error);
                            }
                        }
                    }
                    assertStreamDecodesAs(CRUMFURS, chunks(stream, sizes), afterAck, error);
                    assertStreamDecodesAs(UMFURS, chunks(umfurs, sizes), datagrams, error);
                });
    }

    @Test
    void mutatedUmfursAreDecodedConsistentlyOrRejected() {
        theory(3000).forAll(umfurses(), mutations(), chunkSizes()).checkAssert((messages, edits, sizes) -> {
            byte[] input = Mutation.applyAll(edits, encodeUmfurs(messages));
            checkMutatedUmfurs(UMFURS, input, 0, sizes);
        });
    }

    @Test
    void mutatedCrumfursStreamIsDecodedConsistentlyOrRejected() {
        theory(2000).forAll(umfurses(), mutations(), chunkSizes()).checkAssert((messages, edits, sizes) -> {
            // Short streams, so that the acknowledgement byte is hit often.
            List<Umfurs> few = messages.size() > 1 ? messages.subList(0, 1) : messages;
            byte[] input = Mutation.applyAll(edits, concat(new byte[] {CrumfursAck.VALUE}, encodeUmfurs(few)));
            boolean acknowledged = input.length > 0 && input[0] == CrumfursAck.VALUE;
            checkMutatedUmfurs(CRUMFURS, input, acknowledged ? 1 : 0, sizes);
        });
    }

    private void checkMutatedUmfurs(Supplier<ChannelHandler[]> pipeline, byte[] input, int ackLength, int[] sizes) {
        Outcome whole = decode(alloc, pipeline, List.of(input), true);
        Outcome chunked = decode(alloc, pipeline, chunks(input, sizes), true);
        alloc.assertAllReleased();
        for (Outcome o : List.of(whole, chunked)) {
            List<Object> messages = new ArrayList<>(o.messages());
            if (ackLength == 1 && pipeline == CRUMFURS) {
                assertThat(messages).first().isEqualTo(CrumfursAck.INSTANCE);
                messages.remove(0);
            }
            Outcome rest = new Outcome(messages, o.error(), o.laterErrors(), o.wroteNothing(), o.open(),
                    o.handlersLeft());
            byte[] body = slice(input, ackLength, input.length - ackLength);
            int consumed = assertConsumedPrefix(rest, body, (d, at) -> umfurs((Datagram) d),
                    (d, at) -> (body[at] == 1 ? 9 : 21) + ((Datagram) d).payload().length());
            if (pipeline == CRUMFURS && ackLength == 0 && input.length > 0) {
                assertThat(errorKind(o.error())).isEqualTo("bad-acknowledgement CRF-6");
            }
            if (o.error() != null && body.length > 0) {
                assertThat(consumed).as("bytes left for the error").isLessThan(body.length);
            }
        }
        assertThat(errorKind(chunked.error())).isEqualTo(errorKind(whole.error()));
        assertThat(chunked.messages()).isEqualTo(whole.messages());
    }

    // ---- shared checks ----

    /** Re-encodes a decoded message; {@code at} is where it started in the input. */
    private interface Reencoder {
        byte[] apply(Object decoded, int at);
    }

    /** The number of input bytes a decoded message took. */
    private interface Consumption {
        int apply(Object decoded, int at);
    }

    /**
     * Checks the outcome of arbitrary input to a stream decoder: only {@link VlessProtocolException}s, nothing written,
     * channel open, and every decoded message re-encoding to the bytes it came from (with a mapped IPv6 source in its
     * canonical IPv4 form). Returns how many bytes the messages took.
     */
    private static int assertConsumedPrefix(Outcome o, byte[] input, Reencoder reencode, Consumption length) {
        assertThat(o.laterErrors()).as("errors after the first").isEmpty();
        assertThat(o.wroteNothing()).as("decoder wrote").isTrue();
        assertThat(o.open()).as("decoder closed the channel").isTrue();
        if (o.error() != null) {
            assertThat(o.error()).as("input %s", hex(input)).isInstanceOf(VlessProtocolException.class);
        }
        int at = 0;
        for (Object d : o.messages()) {
            int n = length.apply(d, at);
            assertThat(at + n).as("message runs past the input").isLessThanOrEqualTo(input.length);
            byte[] original = slice(input, at, n);
            assertThat(hex(reencode.apply(d, at))).isEqualTo(hex(canonicalUmfursOrSame(original, d)));
            at += n;
        }
        if (o.error() == null) {
            assertThat(at).as("every byte decoded").isEqualTo(input.length);
        }
        return at;
    }

    /** A UMFURS whose source is IPv4-mapped IPv6, rewritten as type 1; other bytes as they are. */
    private static byte[] canonicalUmfursOrSame(byte[] original, Object decoded) {
        if (!(decoded instanceof Datagram) || original[0] != 3) {
            return original;
        }
        byte[] ip = slice(original, 1, 16);
        InetAddress address = VlessAddress.canonical(ipv6(ip));
        if (address instanceof Inet6Address) {
            return original;
        }
        return concat(new byte[] {1}, address.getAddress(), slice(original, 17, original.length - 17));
    }

    private void assertStreamDecodesAs(Supplier<ChannelHandler[]> decoder, List<byte[]> chunks, List<Object> expected,
            String error) {
        Outcome o = decode(alloc, decoder, chunks, true);
        alloc.assertAllReleased();
        assertThat(errorKind(o.error())).as("chunks %s", sizes(chunks)).isEqualTo(error);
        assertThat(o.laterErrors()).isEmpty();
        assertThat(o.messages()).as("chunks %s", sizes(chunks)).isEqualTo(expected);
    }

    private byte[] encodeFrames(List<PayloadSpec> specs) {
        Object[] buffers = new Object[specs.size()];
        for (int i = 0; i < buffers.length; i++) {
            buffers[i] = CodecHarness.buf(alloc, specs.get(i).bytes());
        }
        return buffers.length == 0 ? new byte[0] : encode(alloc, UdpFrameEncoder.INSTANCE, buffers);
    }

    private byte[] encodeUmfurs(List<Umfurs> messages) {
        Object[] out = new Object[messages.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = messages.get(i).message(alloc);
        }
        return out.length == 0 ? new byte[0] : encode(alloc, VlessServerEncoder.INSTANCE, out);
    }

    private static byte[] frame(byte[] payload) {
        return concat(new byte[] {(byte) (payload.length >> 8), (byte) payload.length}, payload);
    }

    private static byte[] umfurs(Datagram d) {
        ByteBuf out = Unpooled.buffer();
        UmfursEncoder.encode(d.source(), Unpooled.wrappedBuffer(d.payload().bytes()), out);
        return CodecHarness.release(out);
    }

    private static List<Object> payloadsOf(List<PayloadSpec> specs) {
        List<Object> out = new ArrayList<>();
        specs.forEach(p -> out.add(Payload.of(p.bytes())));
        return out;
    }

    private static List<Object> expectedOf(List<Umfurs> messages) {
        List<Object> out = new ArrayList<>();
        messages.forEach(m -> out.add(m.expected()));
        return out;
    }

    private static List<Integer> sizes(List<byte[]> chunks) {
        List<Integer> sizes = new ArrayList<>();
        chunks.forEach(c -> sizes.add(c.length));
        return sizes;
    }

    private static InetAddress address(byte[] ip) {
        try {
            return InetAddress.getByAddress(ip);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** An {@link Inet6Address} even for a mapped address, which {@link InetAddress#getByAddress} would make IPv4. */
    private static Inet6Address ipv6(byte[] ip) {
        try {
            return Inet6Address.getByAddress(null, ip, -1);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
