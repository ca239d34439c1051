// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static dev.vless.codec.CodecHarness.byteArrays;
import static dev.vless.codec.CodecHarness.chunkSizes;
import static dev.vless.codec.CodecHarness.chunks;
import static dev.vless.codec.CodecHarness.concat;
import static dev.vless.codec.CodecHarness.decode;
import static dev.vless.codec.CodecHarness.encode;
import static dev.vless.codec.CodecHarness.errorKind;
import static dev.vless.codec.CodecHarness.hex;
import static dev.vless.codec.CodecHarness.mutations;
import static dev.vless.codec.CodecHarness.split;
import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.QuickTheory.qt;

import dev.vless.codec.CodecHarness.Mutation;
import dev.vless.codec.CodecHarness.Outcome;
import dev.vless.codec.CodecHarness.Payload;
import dev.vless.codec.CodecHarness.TrackingAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.util.NetUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.quicktheories.QuickTheory;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * Properties of the request and v0 response header codecs over generated messages: round trip, any split, and
 * mutated input that is either decoded consistently or rejected with a {@link VlessProtocolException}.
 */
class CodecPropertiesTest {

    private static final long SEED = 0x564c455353L; // "VLESS"

    private static final Supplier<ChannelHandler[]> REQUEST = () -> new ChannelHandler[] {new VlessRequestDecoder()};
    private static final Supplier<ChannelHandler[]> RESPONSE =
            () -> new ChannelHandler[] {new VlessResponseHeaderDecoder()};
    private static final VlessCommand[] V0_COMMANDS = {VlessCommand.TCP, VlessCommand.UDP, VlessCommand.MUX};

    /** Every buffer of every example comes from here and is checked after each example. */
    private final TrackingAllocator alloc = new TrackingAllocator();

    /** A fixed seed, so that every build runs the same examples; few shrink cycles, so a failure reports soon. */
    private static QuickTheory theory(int examples) {
        return qt().withFixedSeed(SEED).withExamples(examples).withShrinkCycles(200);
    }

    // ---- generators ----

    static Gen<UUID> uuids() {
        return Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE)
                .zip(Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE), UUID::new);
    }

    static Gen<Integer> ports() {
        return Generate.frequency(Pair.of(1, Generate.pick(List.of(1, 255, 256, 32767, 32768, 65535))),
                Pair.of(4, Generate.range(1, 65535)));
    }

    static Gen<String> domains() {
        Gen<Integer> lengths = Generate.frequency(Pair.of(1, Generate.pick(List.of(1, 254, 255))),
                Pair.of(6, Generate.range(1, 40)), Pair.of(2, Generate.range(41, 255)));
        return Generate.byteArrays(lengths, Generate.bytes((byte) 0x21, (byte) 0x7e, (byte) 'a'))
                .map(b -> new String(b, StandardCharsets.US_ASCII));
    }

    static Gen<VlessAddress> addresses() {
        Gen<VlessAddress> ipv4 = byteArrays(Generate.constant(4))
                .zip(ports(), (b, p) -> new VlessAddress(VlessAddressType.IPV4, NetUtil.bytesToIpAddress(b), p));
        Gen<VlessAddress> ipv6 = byteArrays(Generate.constant(16))
                .zip(ports(), (b, p) -> new VlessAddress(VlessAddressType.IPV6, NetUtil.bytesToIpAddress(b), p));
        Gen<VlessAddress> mapped = byteArrays(Generate.constant(4))
                .zip(ports(), (b, p) -> new VlessAddress(VlessAddressType.IPV6,
                        NetUtil.bytesToIpAddress(concat(new byte[10], new byte[] {-1, -1}, b)), p));
        Gen<VlessAddress> domain = domains().zip(ports(), (d, p) -> new VlessAddress(VlessAddressType.DOMAIN, d, p));
        return Generate.oneOf(ipv4, ipv6, mapped, domain);
    }

    static Gen<byte[]> addons() {
        return byteArrays(Generate.frequency(Pair.of(4, Generate.constant(0)), Pair.of(3, Generate.range(1, 16)),
                Pair.of(1, Generate.range(17, 254)), Pair.of(1, Generate.constant(255))));
    }

    /** v0 and v1 requests of every command the version allows, with every address type. */
    static Gen<VlessRequest> requests() {
        return Generate.enumValues(VlessVersion.class).zip(Generate.range(0, 3), uuids(), addons(), addresses(),
                (version, c, user, addons, address) -> {
                    VlessCommand command = version == VlessVersion.V0 ? V0_COMMANDS[c % 3] : VlessCommand.values()[c];
                    return new VlessRequest(version, user, version == VlessVersion.V0 ? addons : new byte[0],
                            command, command.hasAddress() ? address : null);
                });
    }

    static Gen<VlessResponseHeader> responseHeaders() {
        return addons().map(VlessResponseHeader::new);
    }

    /** Payload that follows a header in the same stream; often none. */
    static Gen<byte[]> trailers() {
        return byteArrays(Generate.frequency(Pair.of(1, Generate.constant(0)), Pair.of(3, Generate.range(1, 48))));
    }

    // ---- request header ----

    @Test
    void requestRoundTrips() {
        theory(1000).forAll(requests()).checkAssert(request -> {
            byte[] wire = encode(alloc, VlessClientEncoder.INSTANCE, request);
            assertThat(wire).hasSize(request.encodedLength());
            ByteBuf in = CodecHarness.buf(alloc, wire);
            try {
                assertThat(VlessRequestDecoder.headerLength(in)).isEqualTo(wire.length);
                assertThat(VlessRequestDecoder.decode(in)).isEqualTo(request);
                assertThat(in.isReadable()).isFalse();
            } finally {
                in.release();
            }
            Outcome o = decode(alloc, REQUEST, List.of(wire), true);
            assertThat(o.error()).isNull();
            assertThat(o.messages()).containsExactly(request);
            assertThat(o.handlersLeft()).doesNotContain(VlessRequestDecoder.class);
            alloc.assertAllReleased();
        });
    }

    @Test
    void requestSplitAnywhereDecodesTheSame() {
        theory(300).forAll(requests(), trailers(), chunkSizes()).checkAssert((request, trailer, sizes) -> {
            byte[] bytes = concat(encode(alloc, VlessClientEncoder.INSTANCE, request), trailer);
            List<Object> expected = trailer.length == 0 ? List.of(request) : List.of(request, Payload.of(trailer));
            for (int cut = 1; cut < bytes.length; cut++) {
                assertDecodesAs(REQUEST, split(bytes, cut), expected, VlessRequestDecoder.class);
            }
            assertDecodesAs(REQUEST, chunks(bytes, sizes), expected, VlessRequestDecoder.class);
        });
    }

    @Test
    void requestRandomChunksDecodeTheSame() {
        theory(1000).forAll(requests(), trailers(), chunkSizes()).checkAssert((request, trailer, sizes) -> {
            byte[] bytes = concat(encode(alloc, VlessClientEncoder.INSTANCE, request), trailer);
            List<Object> expected = trailer.length == 0 ? List.of(request) : List.of(request, Payload.of(trailer));
            assertDecodesAs(REQUEST, chunks(bytes, sizes), expected, VlessRequestDecoder.class);
        });
    }

    @Test
    void mutatedRequestIsDecodedConsistentlyOrRejected() {
        theory(6000).forAll(requests(), trailers(), mutations(), chunkSizes())
                .checkAssert((request, trailer, edits, sizes) -> {
                    byte[] valid = concat(encode(alloc, VlessClientEncoder.INSTANCE, request), trailer);
                    byte[] input = Mutation.applyAll(edits, valid);
                    Outcome whole = decode(alloc, REQUEST, List.of(input), true);
                    Outcome chunked = decode(alloc, REQUEST, chunks(input, sizes), true);
                    alloc.assertAllReleased();
                    assertHeaderConsistent(whole, input, r -> encode(alloc, VlessClientEncoder.INSTANCE, r));
                    assertHeaderConsistent(chunked, input, r -> encode(alloc, VlessClientEncoder.INSTANCE, r));
                    assertThat(errorKind(chunked.error())).isEqualTo(errorKind(whole.error()));
                    assertThat(chunked.joined()).isEqualTo(whole.joined());
                    alloc.assertAllReleased();
                });
    }

    // ---- v0 response header ----

    @Test
    void responseHeaderRoundTrips() {
        theory(300).forAll(responseHeaders()).checkAssert(header -> {
            byte[] wire = encode(alloc, VlessServerEncoder.INSTANCE, header);
            assertThat(wire).hasSize(header.encodedLength());
            Outcome o = decode(alloc, RESPONSE, List.of(wire), true);
            assertThat(o.error()).isNull();
            assertThat(o.messages()).containsExactly(header);
            alloc.assertAllReleased();
        });
    }

    @Test
    void responseHeaderSplitAnywhereDecodesTheSame() {
        theory(150).forAll(responseHeaders(), trailers(), chunkSizes()).checkAssert((header, trailer, sizes) -> {
            byte[] bytes = concat(encode(alloc, VlessServerEncoder.INSTANCE, header), trailer);
            List<Object> expected = trailer.length == 0 ? List.of(header) : List.of(header, Payload.of(trailer));
            for (int cut = 1; cut < bytes.length; cut++) {
                assertDecodesAs(RESPONSE, split(bytes, cut), expected, VlessResponseHeaderDecoder.class);
            }
            assertDecodesAs(RESPONSE, chunks(bytes, sizes), expected, VlessResponseHeaderDecoder.class);
        });
    }

    @Test
    void mutatedResponseHeaderIsDecodedConsistentlyOrRejected() {
        theory(2000).forAll(responseHeaders(), trailers(), mutations(), chunkSizes())
                .checkAssert((header, trailer, edits, sizes) -> {
                    byte[] input = Mutation.applyAll(edits,
                            concat(encode(alloc, VlessServerEncoder.INSTANCE, header), trailer));
                    Outcome whole = decode(alloc, RESPONSE, List.of(input), true);
                    Outcome chunked = decode(alloc, RESPONSE, chunks(input, sizes), true);
                    alloc.assertAllReleased();
                    assertHeaderConsistent(whole, input, h -> encode(alloc, VlessServerEncoder.INSTANCE, h));
                    assertHeaderConsistent(chunked, input, h -> encode(alloc, VlessServerEncoder.INSTANCE, h));
                    assertThat(errorKind(chunked.error())).isEqualTo(errorKind(whole.error()));
                    assertThat(chunked.joined()).isEqualTo(whole.joined());
                    alloc.assertAllReleased();
                });
    }

    // ---- shared checks ----

    private void assertDecodesAs(Supplier<ChannelHandler[]> decoder, List<byte[]> chunks, List<Object> expected,
            Class<?> decoderType) {
        Outcome o = decode(alloc, decoder, chunks, true);
        alloc.assertAllReleased();
        assertThat(o.error()).as("chunks %s", sizes(chunks)).isNull();
        assertThat(o.joined()).as("chunks %s", sizes(chunks)).isEqualTo(expected);
        assertThat(o.handlersLeft()).doesNotContain(decoderType);
    }

    /**
     * A header decoder's outcome of arbitrary input: a {@link VlessProtocolException} with nothing emitted or written,
     * or a header whose encoding plus the forwarded payload is exactly the input.
     */
    private static <H> void assertHeaderConsistent(Outcome o, byte[] input, Function<H, byte[]> enc) {
        assertThat(o.laterErrors()).as("errors after the first").isEmpty();
        assertThat(o.wroteNothing()).as("decoder wrote").isTrue();
        assertThat(o.open()).as("decoder closed the channel").isTrue();
        if (o.error() != null) {
            assertThat(o.error()).as("input %s", hex(input)).isInstanceOf(VlessProtocolException.class);
            VlessProtocolException e = (VlessProtocolException) o.error();
            assertThat(e.error()).isNotNull();
            assertThat(e.rule()).isNotNull();
            assertThat(o.messages()).as("output before rejection").isEmpty();
            return;
        }
        List<Object> out = o.joined();
        if (input.length == 0) {
            assertThat(out).isEmpty();
            return;
        }
        assertThat(out).as("input %s", hex(input)).isNotEmpty();
        @SuppressWarnings("unchecked")
        H header = (H) out.get(0);
        byte[] rest = out.size() > 1 ? ((Payload) out.get(1)).bytes() : new byte[0];
        assertThat(out).hasSizeLessThanOrEqualTo(2);
        assertThat(hex(concat(enc.apply(header), rest))).isEqualTo(hex(input));
    }

    private static List<Integer> sizes(List<byte[]> chunks) {
        List<Integer> sizes = new ArrayList<>();
        chunks.forEach(c -> sizes.add(c.length));
        return sizes;
    }
}
