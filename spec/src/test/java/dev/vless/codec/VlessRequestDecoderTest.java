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
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vless.codec.CodecHarness.Outcome;
import dev.vless.codec.CodecHarness.Payload;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The request decoder: vectors, splits, trailing payload, every bad field, truncation and limits. */
class VlessRequestDecoderTest {

    static final String U = "a684455cb14f11eabf0d42010aaa0003";
    static final UUID USER = UUID.fromString("a684455c-b14f-11ea-bf0d-42010aaa0003");
    private static final Supplier<ChannelHandler[]> DECODER = () -> new ChannelHandler[] {new VlessRequestDecoder()};
    private static final byte[] TRAILER = hex("cafe 00 01 14");

    /** A valid request and its wire form. */
    record Vector(VlessRequest request, String wire) {

        byte[] bytes() {
            return hex(wire);
        }
    }

    /** Bad input, cut right after the byte that makes it bad. */
    record BadInput(String name, String wire, ProtocolError error, SpecRule rule) {
    }

    static final List<Vector> VECTORS = List.of(
                // The v0 example of wire-facts.md: TCP to dummy.com:80.
                new Vector(VlessRequest.v0(USER, VlessCommand.TCP, VlessAddress.of("dummy.com", 80)),
                        "00" + U + "00 01 0050 02 09 64756d6d792e636f6d"),
                new Vector(VlessRequest.v1(USER, VlessCommand.TCP, VlessAddress.of("192.0.2.1", 443)),
                        "01" + U + "01 01bb 01 c0000201"),
                new Vector(VlessRequest.v1(USER, VlessCommand.UDP, VlessAddress.of("2001:db8::1", 53)),
                        "01" + U + "02 0035 03 20010db8000000000000000000000001"),
                new Vector(VlessRequest.crumfurs(USER), "01" + U + "04"),
                // Mux carries no address: the command byte ends the header (HDR-2).
                new Vector(new VlessRequest(VlessVersion.V0, USER, hex("0a00"), VlessCommand.MUX, null),
                        "00" + U + "02 0a00 03"),
                // Port above 32767 must not turn negative; the mapped address stays type 3 in the request.
                new Vector(VlessRequest.v1(USER, VlessCommand.TCP, VlessAddress.of("::ffff:192.0.2.1", 65535)),
                        "01" + U + "01 ffff 03 00000000000000000000ffffc0000201"),
                new Vector(VlessRequest.v0(USER, VlessCommand.UDP, VlessAddress.of("10.0.0.1", 32768)),
                        "00" + U + "00 02 8000 01 0a000001"));

    static final List<BadInput> BAD_INPUTS = List.of(
                new BadInput("version 0x02", "02", ProtocolError.BAD_VERSION, SpecRule.VER_2),
                new BadInput("version 0xff", "ff", ProtocolError.BAD_VERSION, SpecRule.VER_2),
                new BadInput("v1 command 0", "01" + U + "00", ProtocolError.UNKNOWN_COMMAND, SpecRule.HDR_5),
                new BadInput("v1 command 6", "01" + U + "06", ProtocolError.UNKNOWN_COMMAND, SpecRule.HDR_5),
                new BadInput("v0 command 0xff after addons", "00" + U + "02 aabb ff", ProtocolError.UNKNOWN_COMMAND,
                        SpecRule.HDR_5),
                new BadInput("v0 CRUMFURS", "00" + U + "00 04", ProtocolError.COMMAND_NOT_IN_VERSION,
                        SpecRule.HDR_6),
                new BadInput("v0 UDP-MUX", "00" + U + "00 05", ProtocolError.COMMAND_NOT_IN_VERSION,
                        SpecRule.MUX_1),
                new BadInput("v1 port 0", "01" + U + "01 0000", ProtocolError.PORT_ZERO, SpecRule.HDR_8),
                new BadInput("v0 port 0", "00" + U + "00 02 0000", ProtocolError.PORT_ZERO, SpecRule.HDR_8),
                new BadInput("address type 0", "01" + U + "01 0050 00", ProtocolError.UNKNOWN_ADDRESS_TYPE,
                        SpecRule.ADR_1),
                new BadInput("address type 4 (SOCKS5 IPv6)", "01" + U + "01 0050 04",
                        ProtocolError.UNKNOWN_ADDRESS_TYPE, SpecRule.ADR_1),
                new BadInput("address type 0xff", "00" + U + "00 02 0050 ff", ProtocolError.UNKNOWN_ADDRESS_TYPE,
                        SpecRule.ADR_1),
                new BadInput("empty domain", "01" + U + "01 0050 02 00", ProtocolError.EMPTY_DOMAIN, SpecRule.ADR_2),
                new BadInput("space in domain", "01" + U + "01 0050 02 05 61 20", ProtocolError.INVALID_DOMAIN,
                        SpecRule.ADR_3),
                new BadInput("UTF-8 in domain", "01" + U + "02 0050 02 05 63 61 66 c3", ProtocolError.INVALID_DOMAIN,
                        SpecRule.ADR_3),
                new BadInput("NUL ends domain", "00" + U + "00 01 0050 02 03 61 62 00", ProtocolError.INVALID_DOMAIN,
                        SpecRule.ADR_3),
                new BadInput("DEL in domain", "01" + U + "01 0050 02 01 7f", ProtocolError.INVALID_DOMAIN,
                        SpecRule.ADR_3));

    @Test
    void decodesEachVectorAndRemovesItself() {
        for (Vector v : VECTORS) {
            Outcome o = decodeWhole(DECODER, v.bytes());
            assertThat(o.error()).as(v.wire()).isNull();
            assertThat(o.messages()).as(v.wire()).containsExactly(v.request());
            assertThat(o.handlersLeft()).doesNotContain(VlessRequestDecoder.class);
            assertThat(o.open()).isTrue();
        }
    }

    @Test
    void roundTripsThroughTheClientEncoder() {
        for (Vector v : VECTORS) {
            byte[] encoded = encode(VlessClientEncoder.INSTANCE, v.request());
            assertThat(hex(encoded)).isEqualTo(hex(v.bytes()));
            assertThat(decodeWhole(DECODER, encoded).messages()).containsExactly(v.request());
        }
    }

    @Test
    void headerSplitAtEveryOffsetDecodesTheSame() {
        for (Vector v : VECTORS) {
            byte[] bytes = concat(v.bytes(), TRAILER);
            List<Object> expected = List.of(v.request(), Payload.of(TRAILER));
            for (int cut = 1; cut < bytes.length; cut++) {
                Outcome o = decode(DECODER, split(bytes, cut), true);
                assertThat(o.error()).as("%s cut at %d", v.wire(), cut).isNull();
                assertThat(o.joined()).as("%s cut at %d", v.wire(), cut).isEqualTo(expected);
            }
            Outcome byteByByte = decode(DECODER, CodecHarness.chunks(bytes, new int[] {1}), true);
            assertThat(byteByByte.error()).isNull();
            assertThat(byteByByte.joined()).isEqualTo(expected);
        }
    }

    @Test
    void incompleteHeaderEmitsNothingAndKeepsWaiting() {
        for (Vector v : VECTORS) {
            byte[] bytes = v.bytes();
            for (int n = 1; n < bytes.length; n++) {
                Outcome o = decode(DECODER, List.of(slice(bytes, 0, n)), false);
                assertThat(o.error()).as("%d bytes of %s", n, v.wire()).isNull();
                assertThat(o.messages()).as("%d bytes of %s", n, v.wire()).isEmpty();
                assertThat(o.open()).isTrue();
                assertThat(o.wroteNothing()).isTrue();
                assertThat(o.handlersLeft()).contains(VlessRequestDecoder.class);
            }
        }
    }

    @Test
    void streamEndingInsideTheHeaderIsTruncated() {
        for (Vector v : VECTORS) {
            byte[] bytes = v.bytes();
            for (int n = 1; n < bytes.length; n++) {
                Outcome o = decode(DECODER, List.of(slice(bytes, 0, n)), true);
                assertRejected(o.error(), ProtocolError.TRUNCATED, SpecRule.HDR_12);
                assertThat(o.messages()).isEmpty();
                assertThat(o.laterErrors()).isEmpty();
            }
        }
    }

    @Test
    void streamEndingBeforeAnyByteIsNotAnError() {
        EmbeddedChannel ch = new EmbeddedChannel(new VlessRequestDecoder());
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void forwardsBytesAfterTheHeaderAsPayloadInOrder() {
        EmbeddedChannel ch = new EmbeddedChannel(new VlessRequestDecoder());
        try {
            assertThat(ch.writeInbound(buf(concat(hex("01" + U + "04"), TRAILER)))).isTrue();
            assertThat((Object) ch.readInbound()).isEqualTo(VlessRequest.crumfurs(USER));
            ByteBuf payload = ch.readInbound();
            assertThat(CodecHarness.release(payload)).isEqualTo(TRAILER);
            assertThat(ch.pipeline().get(VlessRequestDecoder.class)).isNull();

            // Later bytes reach the next handler untouched: the decoder is gone.
            ByteBuf later = buf("0102");
            assertThat(ch.writeInbound(later)).isTrue();
            assertThat((Object) ch.readInbound()).isSameAs(later);
            later.release();
            assertThat(ch.finish()).isFalse();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void forwardsPayloadArrivingWithTheLastHeaderByte() {
        byte[] header = hex("01" + U + "01 01bb 01 c0000201");
        Outcome o = decode(DECODER, split(concat(header, TRAILER), header.length - 1), true);
        assertThat(o.messages()).containsExactly(VlessRequest.v1(USER, VlessCommand.TCP,
                VlessAddress.of("192.0.2.1", 443)), Payload.of(TRAILER));
    }

    @Test
    void rejectsEachBadFieldAsSoonAsItArrives() {
        for (BadInput bad : BAD_INPUTS) {
            byte[] bytes = hex(bad.wire());
            Outcome whole = decode(DECODER, List.of(bytes), false);
            assertThat(whole.error()).as(bad.name()).isNotNull();
            assertRejectedQuietly(whole, bad.error(), bad.rule());
            assertThat(whole.messages()).as(bad.name()).isEmpty();

            // One byte less is still a valid beginning.
            Outcome before = decode(DECODER, List.of(slice(bytes, 0, bytes.length - 1)), false);
            assertThat(before.error()).as(bad.name()).isNull();

            // Byte by byte, the error comes with the last byte and nothing is decoded.
            Outcome slow = decode(DECODER, CodecHarness.chunks(bytes, new int[] {1}), false);
            assertRejectedQuietly(slow, bad.error(), bad.rule());
            assertThat(slow.messages()).as(bad.name()).isEmpty();
        }
    }

    @Test
    void failedDecoderDiscardsLaterInputSilently() {
        byte[] rest = hex("01" + U + "01 0050 01 7f000001 aabbcc");
        for (BadInput bad : BAD_INPUTS) {
            Outcome o = decode(DECODER, List.of(concat(hex(bad.wire()), rest), rest, rest), true);
            assertRejectedQuietly(o, bad.error(), bad.rule());
            assertThat(o.messages()).as(bad.name()).isEmpty();
            // It stays, swallowing input, until the handler decides what becomes of the connection.
            assertThat(o.handlersLeft()).contains(VlessRequestDecoder.class);
        }
    }

    @Test
    void decodesTheLongestHeader() {
        String domain = "abcdefghijklmnopqrstuvwxyz0123456789-.".repeat(7).substring(0, 255);
        byte[] addons = new byte[255];
        for (int i = 0; i < addons.length; i++) {
            addons[i] = (byte) (255 - i);
        }
        VlessRequest longest = new VlessRequest(VlessVersion.V0, USER, addons, VlessCommand.UDP,
                VlessAddress.of(domain, 65535));
        byte[] wire = encode(VlessClientEncoder.INSTANCE, longest);
        assertThat(wire).hasSize(VlessRequest.MAX_LENGTH);
        byte[] bytes = concat(wire, TRAILER);
        List<Object> expected = List.of(longest, Payload.of(TRAILER));
        for (int cut = 1; cut < bytes.length; cut++) {
            assertThat(decode(DECODER, split(bytes, cut), true).joined()).as("cut at %d", cut).isEqualTo(expected);
        }
    }

    @Test
    void domainOfEveryLengthDecodes() {
        List<String> failures = new ArrayList<>();
        for (int n = 1; n <= 255; n++) {
            VlessRequest r = VlessRequest.v1(USER, VlessCommand.TCP, VlessAddress.of("x".repeat(n), 80));
            Outcome o = decodeWhole(DECODER, encode(VlessClientEncoder.INSTANCE, r));
            if (!List.of(r).equals(o.messages())) {
                failures.add(n + ": " + o);
            }
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void staticDecodeReadsExactlyTheHeader() {
        ByteBuf in = buf(concat(hex("01" + U + "04"), TRAILER));
        try {
            assertThat(VlessRequestDecoder.headerLength(in)).isEqualTo(VlessRequest.CRUMFURS_LENGTH);
            assertThat(in.readerIndex()).isZero();
            assertThat(VlessRequestDecoder.decode(in)).isEqualTo(VlessRequest.crumfurs(USER));
            assertThat(in.readableBytes()).isEqualTo(TRAILER.length);
        } finally {
            in.release();
        }
    }

    @Test
    void staticDecodeRejectsAnIncompleteHeader() {
        ByteBuf in = buf("01" + U);
        try {
            assertThat(VlessRequestDecoder.headerLength(in)).isEqualTo(-1);
            assertRejected(catchThrowable(() -> VlessRequestDecoder.decode(in)), ProtocolError.TRUNCATED,
                    SpecRule.HDR_12);
            assertThat(in.readerIndex()).isZero();
        } finally {
            in.release();
        }
    }

    @Test
    void isASingleDecodeHandlerOfItsOwnConnection() {
        VlessRequestDecoder d = new VlessRequestDecoder();
        assertThat(d.isSingleDecode()).isTrue();
        assertThat(d.isSharable()).isFalse();
    }
}
