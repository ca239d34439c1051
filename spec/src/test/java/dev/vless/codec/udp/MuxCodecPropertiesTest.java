// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import static dev.vless.codec.CodecHarness.chunkSizes;
import static dev.vless.codec.CodecHarness.chunks;
import static dev.vless.codec.CodecHarness.concat;
import static dev.vless.codec.CodecHarness.decode;
import static dev.vless.codec.CodecHarness.errorKind;
import static dev.vless.codec.CodecHarness.hex;
import static dev.vless.codec.CodecHarness.mutations;
import static dev.vless.codec.CodecHarness.slice;
import static dev.vless.codec.CodecHarness.split;
import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.QuickTheory.qt;

import dev.vless.codec.CodecHarness;
import dev.vless.codec.CodecHarness.Frame;
import dev.vless.codec.CodecHarness.Mutation;
import dev.vless.codec.CodecHarness.Outcome;
import dev.vless.codec.CodecHarness.Payload;
import dev.vless.codec.CodecHarness.TrackingAllocator;
import dev.vless.codec.MuxAck;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.udp.MuxFrameDecoder.Direction;
import dev.vless.codec.udp.UdpCodecPropertiesTest.PayloadSpec;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.quicktheories.QuickTheory;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;

/**
 * Properties of the UDP-MUX codec over generated frames, in both directions: round trip through the encoder and the
 * decoder, any split of the stream, and mutated streams that are decoded consistently up to one of the documented
 * errors (MUX-11, MUX-12, MUX-5), never another exception and never a leak.
 */
class MuxCodecPropertiesTest {

    private static final long SEED = 0x4d555846L; // "MUXF"
    /** Streams up to this size are also split at every position; larger ones only into random chunks. */
    private static final int SPLIT_EVERYWHERE_LIMIT = 400;

    private static final Supplier<ChannelHandler[]> FROM_CLIENT =
            () -> new ChannelHandler[] {new MuxFrameDecoder(Direction.FROM_CLIENT)};
    private static final Supplier<ChannelHandler[]> FROM_SERVER =
            () -> new ChannelHandler[] {new MuxFrameDecoder(Direction.FROM_SERVER)};
    /** What a client runs on its UDP-MUX connection: the answer byte, then the server's frames. */
    private static final Supplier<ChannelHandler[]> CLIENT_CONNECTION =
            () -> new ChannelHandler[] {new MuxAckDecoder(), new MuxFrameDecoder(Direction.FROM_SERVER)};

    /** The errors §23 documents for each direction: frame errors break MUX-11, a cut-off frame MUX-12. */
    private static final Set<String> CLIENT_ERRORS = Set.of("unknown-address-type MUX-11", "empty-domain MUX-11",
            "invalid-domain MUX-11", "truncated MUX-12");
    private static final Set<String> SERVER_ERRORS = Set.of("bad-source-type MUX-11", "source-port-zero MUX-11",
            "truncated MUX-12");

    /** Every buffer of every example comes from here and is checked after each example. */
    private final TrackingAllocator alloc = new TrackingAllocator();

    private static QuickTheory theory(int examples) {
        return qt().withFixedSeed(SEED).withExamples(examples).withShrinkCycles(200);
    }

    // ---- generators ----

    /** A client's frame: the destination as the client writes it, and the payload. */
    record ClientFrame(VlessAddress destination, PayloadSpec payload) {

        /** What the server must see: a mapped destination as IPv4 (ADR-4), and the same bytes. */
        Frame expected() {
            VlessAddress a = destination.isIpv4Mapped() ? VlessAddress.of(destination.toInetSocketAddress())
                    : destination;
            return new Frame(a, Payload.of(payload.bytes()));
        }
    }

    /** A server's frame: the source as its socket reported it, and the payload. */
    record ServerFrame(InetSocketAddress source, PayloadSpec payload) {

        Frame expected() {
            return new Frame(VlessAddress.of(source), Payload.of(payload.bytes()));
        }
    }

    /** Client ports: 0 (a no-op frame, MUX-10) and the edges as often as the rest. */
    static Gen<Integer> clientPorts() {
        return Generate.frequency(Pair.of(1, Generate.pick(List.of(0, 1, 255, 256, 32768, 65535))),
                Pair.of(4, Generate.range(0, 65535)));
    }

    /** Domain names of 1 to 255 bytes, each byte one a name may hold (0x21 to 0x7e, ADR-3). */
    static Gen<String> domains() {
        Gen<Integer> lengths = Generate.frequency(Pair.of(4, Generate.range(1, 32)), Pair.of(1, Generate.range(33, 254)),
                Pair.of(1, Generate.pick(List.of(1, 255))));
        return lengths.zip(Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE), (n, seed) -> {
            java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
            char[] c = new char[n];
            for (int i = 0; i < n; i++) {
                c[i] = (char) r.nextInt(0x21, 0x7f);
            }
            return new String(c);
        });
    }

    /** IPv4, IPv6, IPv4-mapped IPv6 (written as type 3) and domain destinations. */
    static Gen<VlessAddress> destinations() {
        Gen<String> v4 = CodecHarness.byteArrays(Generate.constant(4)).map(b -> NetUtil.bytesToIpAddress(b));
        Gen<String> v6 = CodecHarness.byteArrays(Generate.constant(16)).map(b -> NetUtil.bytesToIpAddress(b));
        Gen<String> mapped = CodecHarness.byteArrays(Generate.constant(4))
                .map(b -> "::ffff:" + NetUtil.bytesToIpAddress(b));
        Gen<VlessAddress> ips = Generate.oneOf(
                v4.zip(clientPorts(), (h, p) -> new VlessAddress(VlessAddressType.IPV4, h, p)),
                v6.zip(clientPorts(), (h, p) -> new VlessAddress(VlessAddressType.IPV6, h, p)),
                mapped.zip(clientPorts(), (h, p) -> new VlessAddress(VlessAddressType.IPV6, h, p)));
        Gen<VlessAddress> names = domains().zip(clientPorts(),
                (h, p) -> new VlessAddress(VlessAddressType.DOMAIN, h, p));
        return Generate.frequency(Pair.of(3, ips), Pair.of(2, names));
    }

    static Gen<List<ClientFrame>> clientFrames() {
        Gen<ClientFrame> one = destinations().zip(UdpCodecPropertiesTest.payloads(), ClientFrame::new);
        return SourceDSL.lists().of(one).ofSizeBetween(0, 4);
    }

    static Gen<List<ServerFrame>> serverFrames() {
        Gen<ServerFrame> one = UdpCodecPropertiesTest.sources().zip(UdpCodecPropertiesTest.payloads(),
                ServerFrame::new);
        return SourceDSL.lists().of(one).ofSizeBetween(0, 4);
    }

    /** The first {@code n} bytes of a frame that does not finish; often none. */
    static Gen<Integer> partialTails() {
        return Generate.frequency(Pair.of(1, Generate.constant(0)), Pair.of(1, Generate.range(1, 24)));
    }

    // ---- round trip ----

    @Test
    void clientFramesRoundTripWithCanonicalDestinations() {
        theory(300).forAll(clientFrames()).checkAssert(frames -> {
            byte[] wire = encodeClient(frames);
            int size = 0;
            for (ClientFrame f : frames) {
                size += MuxFrameEncoder.headerLength(f.destination()) + f.payload().size();
            }
            assertThat(wire).hasSize(size);
            Outcome o = decode(alloc, FROM_CLIENT, List.of(wire), true);
            alloc.assertAllReleased();
            assertThat(o.error()).isNull();
            assertThat(o.messages()).isEqualTo(expectedClient(frames));
        });
    }

    @Test
    void serverFramesRoundTripAndAreUmfursByteForByte() {
        theory(300).forAll(serverFrames()).checkAssert(frames -> {
            byte[] wire = encodeServer(frames);
            byte[] umfurs = new byte[0];
            for (ServerFrame f : frames) {
                ByteBuf out = alloc.buffer();
                UmfursEncoder.encode(f.source(), io.netty.buffer.Unpooled.wrappedBuffer(f.payload().bytes()), out);
                umfurs = concat(umfurs, CodecHarness.release(out));
                // An IPv4-mapped source goes out as type 1 (MUX-8): the encoding has the canonical size.
                assertThat(MuxFrameEncoder.headerLength(f.source()))
                        .isEqualTo(f.expected().address().type() == VlessAddressType.IPV4 ? 9 : 21);
            }
            assertThat(hex(wire)).isEqualTo(hex(umfurs));
            Outcome o = decode(alloc, FROM_SERVER, List.of(wire), true);
            alloc.assertAllReleased();
            assertThat(o.error()).isNull();
            assertThat(o.messages()).isEqualTo(expectedServer(frames));
        });
    }

    // ---- any split ----

    @Test
    void clientStreamSplitAnywhereDecodesTheSame() {
        theory(300).forAll(clientFrames(), destinations(), partialTails(), chunkSizes())
                .checkAssert((frames, next, tail, sizes) -> {
                    byte[] nextFrame = encodeClient(List.of(new ClientFrame(next, new PayloadSpec(30, 1))));
                    byte[] partial = slice(nextFrame, 0, Math.min(tail, nextFrame.length - 1));
                    byte[] bytes = concat(encodeClient(frames), partial);
                    String error = partial.length == 0 ? "none" : "truncated MUX-12";
                    assertSplitsDecodeAs(FROM_CLIENT, bytes, sizes, expectedClient(frames), error);
                });
    }

    @Test
    void serverStreamSplitAnywhereDecodesTheSame() {
        theory(300).forAll(serverFrames(), UdpCodecPropertiesTest.sources(), partialTails(), chunkSizes())
                .checkAssert((frames, next, tail, sizes) -> {
                    byte[] nextFrame = encodeServer(List.of(new ServerFrame(next, new PayloadSpec(30, 1))));
                    byte[] partial = slice(nextFrame, 0, Math.min(tail, nextFrame.length - 1));
                    byte[] frameBytes = concat(encodeServer(frames), partial);
                    String error = partial.length == 0 ? "none" : "truncated MUX-12";
                    List<Object> expected = expectedServer(frames);
                    assertSplitsDecodeAs(FROM_SERVER, frameBytes, sizes, expected, error);
                    // The client's whole connection: the answer byte first, frames split anywhere after it.
                    List<Object> withAck = new ArrayList<>();
                    withAck.add(MuxAck.INSTANCE);
                    withAck.addAll(expected);
                    assertSplitsDecodeAs(CLIENT_CONNECTION, concat(new byte[] {MuxAck.VALUE}, frameBytes), sizes,
                            withAck, error);
                });
    }

    // ---- mutations ----

    @Test
    void mutatedClientStreamsAreDecodedConsistentlyOrRejected() {
        theory(3000).forAll(clientFrames(), mutations(), chunkSizes()).checkAssert((frames, edits, sizes) -> {
            byte[] input = Mutation.applyAll(edits, encodeClient(frames));
            checkMutated(FROM_CLIENT, Direction.FROM_CLIENT, input, 0, sizes, CLIENT_ERRORS);
        });
    }

    @Test
    void mutatedServerStreamsAreDecodedConsistentlyOrRejected() {
        theory(3000).forAll(serverFrames(), mutations(), chunkSizes()).checkAssert((frames, edits, sizes) -> {
            byte[] input = Mutation.applyAll(edits, encodeServer(frames));
            checkMutated(FROM_SERVER, Direction.FROM_SERVER, input, 0, sizes, SERVER_ERRORS);
        });
    }

    @Test
    void mutatedClientConnectionsAreDecodedConsistentlyOrRejected() {
        theory(2000).forAll(serverFrames(), mutations(), chunkSizes()).checkAssert((frames, edits, sizes) -> {
            // Short streams, so that the answer byte is hit often.
            List<ServerFrame> few = frames.size() > 1 ? frames.subList(0, 1) : frames;
            byte[] input = Mutation.applyAll(edits, concat(new byte[] {MuxAck.VALUE}, encodeServer(few)));
            boolean answered = input.length > 0 && input[0] == MuxAck.VALUE;
            Set<String> errors = new java.util.HashSet<>(SERVER_ERRORS);
            errors.add("mux-unavailable MUX-5");
            Outcome whole = checkMutated(CLIENT_CONNECTION, Direction.FROM_SERVER, input, answered ? 1 : 0, sizes,
                    errors);
            if (!answered) {
                assertThat(errorKind(whole.error())).as("without 0x15 first").isEqualTo("mux-unavailable MUX-5");
                assertThat(whole.messages()).as("nothing believed without 0x15").isEmpty();
            }
        });
    }

    /**
     * Decodes {@code input} whole and in chunks and checks both outcomes: only documented
     * {@link VlessProtocolException}s, at most one, nothing written, channel open, no buffer left, the same messages
     * both ways, and every decoded frame re-encoding to exactly the bytes it came from (a mapped IPv6 address in its
     * canonical IPv4 form). Returns the outcome of the whole input.
     */
    private Outcome checkMutated(Supplier<ChannelHandler[]> pipeline, Direction direction, byte[] input,
            int ackLength, int[] sizes, Set<String> errors) {
        Outcome whole = decode(alloc, pipeline, List.of(input), true);
        Outcome chunked = decode(alloc, pipeline, chunks(input, sizes), true);
        alloc.assertAllReleased();
        for (Outcome o : List.of(whole, chunked)) {
            assertThat(o.laterErrors()).as("errors after the first").isEmpty();
            assertThat(o.wroteNothing()).as("decoder wrote").isTrue();
            assertThat(o.open()).as("decoder closed the channel").isTrue();
            if (o.error() != null) {
                assertThat(o.error()).as("input %s", hex(input)).isInstanceOf(VlessProtocolException.class);
                assertThat(errorKind(o.error())).as("input %s", hex(input)).isIn(errors);
            }
            List<Object> frames = new ArrayList<>(o.messages());
            if (ackLength == 1) {
                assertThat(frames).first().isEqualTo(MuxAck.INSTANCE);
                frames.remove(0);
            }
            byte[] body = slice(input, ackLength, input.length - ackLength);
            int at = 0;
            for (Object m : frames) {
                assertThat(m).isInstanceOf(Frame.class);
                Frame f = (Frame) m;
                int n = wireLength(body, at, f);
                assertThat(at + n).as("frame runs past the input").isLessThanOrEqualTo(body.length);
                byte[] original = slice(body, at, n);
                assertThat(hex(reencode(direction, f))).isEqualTo(hex(canonicalOrSame(original)));
                at += n;
            }
            if (o.error() == null) {
                assertThat(at).as("every byte decoded").isEqualTo(body.length);
            } else if (body.length > 0 && !"mux-unavailable MUX-5".equals(errorKind(o.error()))) {
                assertThat(at).as("bytes left for the error").isLessThan(body.length);
            }
        }
        assertThat(errorKind(chunked.error())).isEqualTo(errorKind(whole.error()));
        assertThat(chunked.messages()).isEqualTo(whole.messages());
        return whole;
    }

    // ---- helpers ----

    private void assertSplitsDecodeAs(Supplier<ChannelHandler[]> decoder, byte[] bytes, int[] sizes,
            List<Object> expected, String error) {
        if (bytes.length <= SPLIT_EVERYWHERE_LIMIT) {
            for (int cut = 1; cut < bytes.length; cut++) {
                assertDecodesAs(decoder, split(bytes, cut), expected, error);
            }
        }
        assertDecodesAs(decoder, chunks(bytes, sizes), expected, error);
    }

    private void assertDecodesAs(Supplier<ChannelHandler[]> decoder, List<byte[]> chunks, List<Object> expected,
            String error) {
        Outcome o = decode(alloc, decoder, chunks, true);
        alloc.assertAllReleased();
        assertThat(errorKind(o.error())).as("chunks %s", sizes(chunks)).isEqualTo(error);
        assertThat(o.laterErrors()).isEmpty();
        assertThat(o.messages()).as("chunks %s", sizes(chunks)).isEqualTo(expected);
    }

    private byte[] encodeClient(List<ClientFrame> frames) {
        ByteBuf out = alloc.buffer();
        for (ClientFrame f : frames) {
            MuxFrame frame = new MuxFrame(f.destination(), CodecHarness.buf(alloc, f.payload().bytes()));
            try {
                MuxFrameEncoder.encode(frame, out);
            } finally {
                frame.release();
            }
        }
        return CodecHarness.release(out);
    }

    private byte[] encodeServer(List<ServerFrame> frames) {
        ByteBuf out = alloc.buffer();
        for (ServerFrame f : frames) {
            byte[] payload = f.payload().bytes();
            MuxFrameEncoder.encodeHeader(f.source(), payload.length, out);
            out.writeBytes(payload);
        }
        return CodecHarness.release(out);
    }

    /** The bytes a decoded frame encodes to on the side that sent it. */
    private static byte[] reencode(Direction direction, Frame f) {
        ByteBuf out = io.netty.buffer.Unpooled.buffer();
        byte[] payload = f.payload().bytes();
        if (direction == Direction.FROM_CLIENT) {
            MuxFrameEncoder.encodeHeader(f.address(), payload.length, out);
        } else {
            MuxFrameEncoder.encodeHeader(f.address().toInetSocketAddress(), payload.length, out);
        }
        out.writeBytes(payload);
        return CodecHarness.release(out);
    }

    /** How many input bytes, from {@code at}, the decoded frame {@code f} took: read off the wire, not the codec. */
    private static int wireLength(byte[] body, int at, Frame f) {
        int address;
        switch (body[at]) {
            case 1:
                address = 4;
                break;
            case 3:
                address = 16;
                break;
            case 2:
                address = 1 + (body[at + 1] & 0xff);
                break;
            default:
                throw new AssertionError("a frame decoded from address type " + body[at]);
        }
        return 1 + address + 2 + 2 + f.payload().length();
    }

    /** A type-3 frame whose address is IPv4-mapped, rewritten as type 1; other bytes as they are. */
    private static byte[] canonicalOrSame(byte[] original) {
        if (original[0] != 3) {
            return original;
        }
        for (int i = 1; i <= 10; i++) {
            if (original[i] != 0) {
                return original;
            }
        }
        if (original[11] != (byte) 0xff || original[12] != (byte) 0xff) {
            return original;
        }
        return concat(new byte[] {1}, slice(original, 13, original.length - 13));
    }

    private static List<Object> expectedClient(List<ClientFrame> frames) {
        List<Object> out = new ArrayList<>();
        frames.forEach(f -> out.add(f.expected()));
        return out;
    }

    private static List<Object> expectedServer(List<ServerFrame> frames) {
        List<Object> out = new ArrayList<>();
        frames.forEach(f -> out.add(f.expected()));
        return out;
    }

    private static List<Integer> sizes(List<byte[]> chunks) {
        List<Integer> sizes = new ArrayList<>();
        chunks.forEach(c -> sizes.add(c.length));
        return sizes;
    }

}
