// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static dev.vless.codec.CodecHarness.assertRejected;
import static dev.vless.codec.CodecHarness.assertRejectedQuietly;
import static dev.vless.codec.CodecHarness.buf;
import static dev.vless.codec.CodecHarness.concat;
import static dev.vless.codec.CodecHarness.decode;
import static dev.vless.codec.CodecHarness.decodeWhole;
import static dev.vless.codec.CodecHarness.encode;
import static dev.vless.codec.CodecHarness.hex;
import static dev.vless.codec.CodecHarness.slice;
import static dev.vless.codec.CodecHarness.split;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vless.codec.CodecHarness.Outcome;
import dev.vless.codec.CodecHarness.Payload;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The v0 response header decoder a client uses (RSP-3). */
class VlessResponseHeaderDecoderTest {

    private static final Supplier<ChannelHandler[]> DECODER =
            () -> new ChannelHandler[] {new VlessResponseHeaderDecoder()};
    private static final byte[] DATA = hex("48 54 54 50 2f 31 2e 31 20 32 30 30");
    private static final VlessResponseHeader WITH_ADDONS = new VlessResponseHeader(hex("0a 03 61 62 63"));

    @Test
    void decodesTheUsualHeaderAndRemovesItself() {
        Outcome o = decodeWhole(DECODER, hex("00 00"));
        assertThat(o.error()).isNull();
        assertThat(o.messages()).containsExactly(VlessResponseHeader.DEFAULT);
        assertThat(o.handlersLeft()).doesNotContain(VlessResponseHeaderDecoder.class);
    }

    @Test
    void skipsAddonsAndForwardsTheDataBehindThem() {
        Outcome o = decodeWhole(DECODER, concat(hex("00 05 0a 03 61 62 63"), DATA));
        assertThat(o.error()).isNull();
        assertThat(o.messages()).containsExactly(WITH_ADDONS, Payload.of(DATA));
        assertThat(o.messages().get(0)).isInstanceOfSatisfying(VlessResponseHeader.class,
                h -> assertThat(h.addons()).isEqualTo(hex("0a 03 61 62 63")));
    }

    @Test
    void roundTripsThroughTheServerEncoder() {
        for (VlessResponseHeader h : List.of(VlessResponseHeader.DEFAULT, WITH_ADDONS)) {
            byte[] wire = encode(VlessServerEncoder.INSTANCE, h);
            assertThat(wire).hasSize(h.encodedLength());
            assertThat(decodeWhole(DECODER, wire).messages()).containsExactly(h);
        }
    }

    @Test
    void headerSplitAtEveryOffsetDecodesTheSame() {
        for (byte[] header : List.of(hex("00 00"), hex("00 05 0a 03 61 62 63"))) {
            byte[] bytes = concat(header, DATA);
            Object expectedHeader = decodeWhole(DECODER, header).messages().get(0);
            for (int cut = 1; cut < bytes.length; cut++) {
                Outcome o = decode(DECODER, split(bytes, cut), true);
                assertThat(o.error()).as("cut at %d", cut).isNull();
                assertThat(o.joined()).as("cut at %d", cut).containsExactly(expectedHeader, Payload.of(DATA));
            }
        }
    }

    @Test
    void incompleteHeaderEmitsNothingAndKeepsWaiting() {
        byte[] header = hex("00 05 0a 03 61 62 63");
        for (int n = 1; n < header.length; n++) {
            Outcome o = decode(DECODER, List.of(slice(header, 0, n)), false);
            assertThat(o.error()).as("%d bytes", n).isNull();
            assertThat(o.messages()).isEmpty();
            assertThat(o.open()).isTrue();
            assertThat(o.wroteNothing()).isTrue();
            assertThat(o.handlersLeft()).contains(VlessResponseHeaderDecoder.class);
        }
    }

    @Test
    void streamEndingInsideTheHeaderIsTruncated() {
        byte[] header = hex("00 05 0a 03 61 62 63");
        for (int n = 1; n < header.length; n++) {
            Outcome o = decode(DECODER, List.of(slice(header, 0, n)), true);
            assertRejected(o.error(), ProtocolError.TRUNCATED, SpecRule.RSP_3);
            assertThat(o.messages()).isEmpty();
        }
    }

    @Test
    void rejectsAVersionOtherThanZeroWithTheFirstByte() {
        for (int b = 1; b < 256; b++) {
            byte[] first = {(byte) b};
            Outcome o = decode(DECODER, List.of(first, hex("00"), DATA), true);
            VlessProtocolException e = assertRejected(o.error(), ProtocolError.BAD_RESPONSE_VERSION, SpecRule.RSP_3);
            assertThat(e).hasMessageContaining(String.format("response version 0x%02x", b));
            assertRejectedQuietly(o, ProtocolError.BAD_RESPONSE_VERSION, SpecRule.RSP_3);
            // Nothing after the bad byte is passed on as data.
            assertThat(o.messages()).isEmpty();
            assertThat(o.handlersLeft()).contains(VlessResponseHeaderDecoder.class);
        }
    }

    @Test
    void decodesTheLongestAddons() {
        byte[] addons = new byte[255];
        for (int i = 0; i < addons.length; i++) {
            addons[i] = (byte) i;
        }
        byte[] wire = concat(hex("00 ff"), addons);
        VlessResponseHeader expected = new VlessResponseHeader(addons);
        assertThat(encode(VlessServerEncoder.INSTANCE, expected)).isEqualTo(wire);
        for (int cut = 1; cut < wire.length + DATA.length; cut++) {
            assertThat(decode(DECODER, split(concat(wire, DATA), cut), true).joined()).as("cut at %d", cut)
                    .containsExactly(expected, Payload.of(DATA));
        }
    }

    @Test
    void recordRejects256AddonBytesAndCopiesItsArray() {
        assertThatIllegalArgumentException().isThrownBy(() -> new VlessResponseHeader(new byte[256]))
                .withMessage("addons: 256 bytes (expected: 0-255)");
        byte[] addons = {1, 2};
        VlessResponseHeader h = new VlessResponseHeader(addons);
        addons[0] = 7;
        h.addons()[1] = 7;
        assertThat(h.addons()).containsExactly(1, 2);
        assertThat(h).isEqualTo(new VlessResponseHeader(new byte[] {1, 2})).hasSameHashCodeAs(
                new VlessResponseHeader(new byte[] {1, 2}));
        assertThat(h.toString()).isEqualTo("VlessResponseHeader[addons=0102]");
    }

    @Test
    void staticDecodeReadsExactlyTheHeader() {
        ByteBuf in = buf(concat(hex("00 01 ee"), DATA));
        try {
            assertThat(VlessResponseHeaderDecoder.headerLength(in)).isEqualTo(3);
            assertThat(in.readerIndex()).isZero();
            assertThat(VlessResponseHeaderDecoder.decode(in)).isEqualTo(new VlessResponseHeader(hex("ee")));
            assertThat(in.readableBytes()).isEqualTo(DATA.length);
        } finally {
            in.release();
        }
        ByteBuf shortIn = buf("00 02 ee");
        try {
            assertThat(VlessResponseHeaderDecoder.headerLength(shortIn)).isEqualTo(-1);
            assertRejected(catchThrowable(() -> VlessResponseHeaderDecoder.decode(shortIn)), ProtocolError.TRUNCATED,
                    SpecRule.RSP_3);
        } finally {
            shortIn.release();
        }
    }

    @Test
    void streamEndingBeforeAnyByteIsNotAnError() {
        EmbeddedChannel ch = new EmbeddedChannel(new VlessResponseHeaderDecoder());
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void isASingleDecodeHandlerOfItsOwnConnection() {
        VlessResponseHeaderDecoder d = new VlessResponseHeaderDecoder();
        assertThat(d.isSingleDecode()).isTrue();
        assertThat(d.isSharable()).isFalse();
    }
}
