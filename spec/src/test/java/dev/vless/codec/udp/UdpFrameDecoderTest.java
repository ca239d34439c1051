// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import static dev.vless.codec.CodecHarness.assertRejected;
import static dev.vless.codec.CodecHarness.buf;
import static dev.vless.codec.CodecHarness.concat;
import static dev.vless.codec.CodecHarness.decode;
import static dev.vless.codec.CodecHarness.decodeWhole;
import static dev.vless.codec.CodecHarness.encode;
import static dev.vless.codec.CodecHarness.hex;
import static dev.vless.codec.CodecHarness.slice;
import static dev.vless.codec.CodecHarness.split;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vless.codec.CodecHarness;
import dev.vless.codec.CodecHarness.Outcome;
import dev.vless.codec.CodecHarness.Payload;
import dev.vless.codec.ProtocolError;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The UDP frame decoder of command-2 connections (UDP-1, UDP-2). */
class UdpFrameDecoderTest {

    private static final Supplier<ChannelHandler[]> DECODER = () -> new ChannelHandler[] {new UdpFrameDecoder()};
    /** Three frames: "abc", an empty one, and 0x01 0x02. */
    private static final byte[] STREAM = hex("0003 616263 0000 0002 0102");
    private static final List<Object> PAYLOADS =
            List.of(Payload.of(hex("616263")), Payload.of(new byte[0]), Payload.of(hex("0102")));

    @Test
    void decodesEachFrameIntoItsPayloadEmptyOnesIncluded() {
        Outcome o = decodeWhole(DECODER, STREAM);
        assertThat(o.error()).isNull();
        assertThat(o.messages()).isEqualTo(PAYLOADS);
        // Not a header decoder: it stays for the connection's life.
        assertThat(o.handlersLeft()).contains(UdpFrameDecoder.class);
    }

    @Test
    void roundTripsThroughTheEncoder() {
        byte[] wire = encode(UdpFrameEncoder.INSTANCE, buf("616263"), buf(""), buf("0102"));
        assertThat(wire).isEqualTo(STREAM);
        assertThat(decodeWhole(DECODER, wire).messages()).isEqualTo(PAYLOADS);
    }

    @Test
    void splitAtEveryOffsetDecodesTheSame() {
        for (int cut = 1; cut < STREAM.length; cut++) {
            Outcome o = decode(DECODER, split(STREAM, cut), true);
            assertThat(o.error()).as("cut at %d", cut).isNull();
            assertThat(o.messages()).as("cut at %d", cut).isEqualTo(PAYLOADS);
        }
        for (int a = 1; a < STREAM.length; a++) {
            for (int b = a; b < STREAM.length; b++) {
                assertThat(decode(DECODER, split(STREAM, a, b), true).messages()).as("cuts %d %d", a, b)
                        .isEqualTo(PAYLOADS);
            }
        }
    }

    @Test
    void incompleteFrameEmitsNothingAndKeepsWaiting() {
        byte[] frame = hex("0003 616263");
        for (int n = 1; n < frame.length; n++) {
            Outcome o = decode(DECODER, List.of(slice(frame, 0, n)), false);
            assertThat(o.error()).isNull();
            assertThat(o.messages()).as("%d bytes", n).isEmpty();
            assertThat(o.open()).isTrue();
            assertThat(o.wroteNothing()).isTrue();
        }
    }

    @Test
    void keepsAPartialFrameAfterCompleteOnesUntilItsRestArrives() {
        byte[] next = hex("0004 aabbccdd");
        EmbeddedChannel ch = new EmbeddedChannel(new UdpFrameDecoder());
        try {
            ch.writeInbound(buf(concat(STREAM, slice(next, 0, 3))));
            assertThat(CodecHarness.readInbound(ch)).isEqualTo(PAYLOADS);
            ch.writeInbound(buf(slice(next, 3, 3)));
            assertThat(CodecHarness.readInbound(ch)).containsExactly(Payload.of(hex("aabbccdd")));
            assertThat(ch.finish()).isFalse();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void streamEndingInsideAFrameIsTruncatedAfterTheCompleteFrames() {
        for (int n = 1; n < 6; n++) {
            byte[] partial = slice(hex("0004 aabbccdd"), 0, n);
            Outcome o = decode(DECODER, List.of(concat(STREAM, partial)), true);
            assertThat(o.messages()).isEqualTo(PAYLOADS);
            assertRejected(o.error(), ProtocolError.TRUNCATED, SpecRule.UDP_1);
            assertThat(o.laterErrors()).isEmpty();
            assertThat(o.wroteNothing()).isTrue();
        }
    }

    @Test
    void streamEndingBetweenFramesIsNotAnError() {
        EmbeddedChannel ch = new EmbeddedChannel(new UdpFrameDecoder());
        ch.writeInbound(buf(STREAM));
        assertThat(CodecHarness.readInbound(ch)).isEqualTo(PAYLOADS);
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void readsTheLengthAsUnsigned() {
        for (int length : new int[] {32767, 32768, 65535}) {
            ByteBuf in = ByteBufAllocator.DEFAULT.buffer(2 + length).writeShort(length).writeZero(length);
            Outcome o = decodeWhole(DECODER, CodecHarness.release(in));
            assertThat(o.error()).as("length %d", length).isNull();
            assertThat(o.messages()).hasSize(1);
            assertThat(((Payload) o.messages().get(0)).length()).isEqualTo(length);
        }
    }

    @Test
    void outputIsARetainedSliceNotACopy() {
        EmbeddedChannel ch = new EmbeddedChannel(new UdpFrameDecoder());
        try {
            ch.writeInbound(buf(STREAM));
            ByteBuf first = ch.readInbound();
            // A slice shares memory with the cumulation: its capacity is the frame's, its unwrap the input.
            assertThat(first.capacity()).isEqualTo(3);
            assertThat(first.unwrap()).isNotNull();
            first.release();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void staticDecodeReturnsARetainedPayloadOrRejectsTruncation() {
        ByteBuf in = buf(STREAM);
        try {
            assertThat(CodecHarness.release(UdpFrameDecoder.decode(in))).isEqualTo(hex("616263"));
            assertThat(CodecHarness.release(UdpFrameDecoder.decode(in))).isEmpty();
            assertThat(CodecHarness.release(UdpFrameDecoder.decode(in))).isEqualTo(hex("0102"));
            assertRejected(catchThrowable(() -> UdpFrameDecoder.decode(in)), ProtocolError.TRUNCATED,
                    SpecRule.UDP_1);
        } finally {
            in.release();
        }
        ByteBuf partial = buf("0005 6162");
        try {
            assertRejected(catchThrowable(() -> UdpFrameDecoder.decode(partial)), ProtocolError.TRUNCATED,
                    SpecRule.UDP_1);
            assertThat(partial.readerIndex()).isZero();
        } finally {
            partial.release();
        }
    }

    @Test
    void isNotSharable() {
        assertThat(new UdpFrameDecoder().isSharable()).isFalse();
    }
}
