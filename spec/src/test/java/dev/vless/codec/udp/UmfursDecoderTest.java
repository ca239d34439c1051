// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

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

import dev.vless.codec.CodecHarness;
import dev.vless.codec.CodecHarness.Datagram;
import dev.vless.codec.CodecHarness.Outcome;
import dev.vless.codec.CodecHarness.Payload;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessServerEncoder;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The UMFURS decoder a client runs on CRUMFURS after the acknowledgement (UMF-1 to UMF-6). */
class UmfursDecoderTest {

    private static final Supplier<ChannelHandler[]> DECODER = () -> new ChannelHandler[] {new UmfursDecoder()};
    private static final byte[] FROM_V4 = hex("01 c0000201 1f90 0003 616263");
    private static final byte[] FROM_V6 = hex("03 20010db8000000000000000000000009 01bb 0000");
    private static final byte[] FROM_MAPPED = hex("03 00000000000000000000ffffc6336407 0035 0001 ff");
    private static final Datagram V4 = new Datagram(new InetSocketAddress("192.0.2.1", 8080), Payload.of(hex("616263")));
    private static final Datagram V6 = new Datagram(new InetSocketAddress("2001:db8::9", 443), Payload.of(new byte[0]));
    private static final Datagram MAPPED =
            new Datagram(new InetSocketAddress("198.51.100.7", 53), Payload.of(hex("ff")));
    private static final byte[] STREAM = concat(FROM_V4, FROM_V6, FROM_MAPPED);
    private static final List<Object> DATAGRAMS = List.of(V4, V6, MAPPED);

    @Test
    void decodesIpv4Ipv6AndEmptyMessages() {
        Outcome o = decodeWhole(DECODER, STREAM);
        assertThat(o.error()).isNull();
        assertThat(o.messages()).isEqualTo(DATAGRAMS);
        assertThat(o.handlersLeft()).contains(UmfursDecoder.class);
    }

    @Test
    void canonicalisesAMappedSourceToIpv4() {
        Outcome o = decodeWhole(DECODER, FROM_MAPPED);
        Datagram d = (Datagram) o.messages().get(0);
        assertThat(d.source().getAddress()).isInstanceOf(Inet4Address.class);
        assertThat(d.source().getAddress().getHostAddress()).isEqualTo("198.51.100.7");
    }

    @Test
    void roundTripsThroughTheServerEncoder() {
        byte[] wire = encode(VlessServerEncoder.INSTANCE,
                new UmfursMessage(buf("616263"), new InetSocketAddress("192.0.2.1", 8080)),
                new UmfursMessage(buf(""), new InetSocketAddress("2001:db8::9", 443)));
        assertThat(wire).isEqualTo(concat(FROM_V4, FROM_V6));
        assertThat(decodeWhole(DECODER, wire).messages()).containsExactly(V4, V6);
    }

    @Test
    void splitAtEveryOffsetDecodesTheSame() {
        for (int cut = 1; cut < STREAM.length; cut++) {
            Outcome o = decode(DECODER, split(STREAM, cut), true);
            assertThat(o.error()).as("cut at %d", cut).isNull();
            assertThat(o.messages()).as("cut at %d", cut).isEqualTo(DATAGRAMS);
        }
        Outcome slow = decode(DECODER, CodecHarness.chunks(STREAM, new int[] {1}), true);
        assertThat(slow.messages()).isEqualTo(DATAGRAMS);
    }

    @Test
    void incompleteMessageEmitsNothingAndKeepsWaiting() {
        for (byte[] message : List.of(FROM_V4, FROM_V6, FROM_MAPPED)) {
            for (int n = 1; n < message.length; n++) {
                Outcome o = decode(DECODER, List.of(slice(message, 0, n)), false);
                assertThat(o.error()).as("%d bytes of %s", n, hex(message)).isNull();
                assertThat(o.messages()).isEmpty();
                assertThat(o.open()).isTrue();
                assertThat(o.wroteNothing()).isTrue();
            }
        }
    }

    @Test
    void streamEndingInsideAMessageIsTruncatedAfterTheCompleteOnes() {
        for (int n = 1; n < FROM_V4.length; n++) {
            Outcome o = decode(DECODER, List.of(concat(FROM_V6, slice(FROM_V4, 0, n))), true);
            assertThat(o.messages()).containsExactly(V6);
            assertRejected(o.error(), ProtocolError.TRUNCATED, SpecRule.UMF_1);
            assertThat(o.laterErrors()).isEmpty();
        }
    }

    @Test
    void rejectsADomainOrUnknownSourceType() {
        for (int type : new int[] {0, 2, 4, 0x7f, 0xff}) {
            byte[] bad = concat(new byte[] {(byte) type}, slice(FROM_V4, 1, FROM_V4.length - 1));
            Outcome o = decode(DECODER, List.of(concat(FROM_V4, bad), FROM_V4), true);
            assertRejectedQuietly(o, ProtocolError.BAD_SOURCE_TYPE, SpecRule.UMF_2);
            // Messages before the bad one stand; nothing after it is believed.
            assertThat(o.messages()).containsExactly(V4);
            // The type byte alone is enough to fail.
            assertRejected(decode(DECODER, List.of(new byte[] {(byte) type}), false).error(),
                    ProtocolError.BAD_SOURCE_TYPE, SpecRule.UMF_2);
        }
    }

    @Test
    void rejectsSourcePortZeroAsSoonAsThePortArrives() {
        byte[] v4 = hex("01 c0000201 0000");
        byte[] v6 = hex("03 20010db8000000000000000000000009 0000");
        for (byte[] bad : List.of(v4, v6)) {
            assertRejectedQuietly(decode(DECODER, List.of(bad), false), ProtocolError.SOURCE_PORT_ZERO,
                    SpecRule.UMF_6);
            assertThat(decode(DECODER, List.of(slice(bad, 0, bad.length - 1)), false).error()).isNull();
            Outcome o = decode(DECODER, List.of(concat(bad, hex("0001 00")), FROM_V4), true);
            assertRejectedQuietly(o, ProtocolError.SOURCE_PORT_ZERO, SpecRule.UMF_6);
            assertThat(o.messages()).isEmpty();
        }
    }

    @Test
    void decodesTheLargestPayload() {
        ByteBuf in = ByteBufAllocator.DEFAULT.buffer().writeBytes(hex("01 c0000201 1f90 ffff")).writeZero(65535);
        byte[] wire = CodecHarness.release(in);
        Outcome o = decode(DECODER, split(wire, 5, 9, 30000), true);
        assertThat(o.error()).isNull();
        assertThat(o.messages()).containsExactly(
                new Datagram(new InetSocketAddress("192.0.2.1", 8080), Payload.of(new byte[65535])));
    }

    @Test
    void staticDecodeHoldsARetainedSliceAndMessageLengthReadsNothing() {
        ByteBuf in = buf(STREAM);
        try {
            assertThat(UmfursDecoder.messageLength(in)).isEqualTo(FROM_V4.length);
            assertThat(in.readerIndex()).isZero();
            UmfursMessage m = UmfursDecoder.decode(in);
            try {
                assertThat(m.source()).isEqualTo(new InetSocketAddress("192.0.2.1", 8080));
                assertThat(m.recipient()).isNull();
                assertThat(hex(io.netty.buffer.ByteBufUtil.getBytes(m.content()))).isEqualTo("616263");
            } finally {
                m.release();
            }
            assertThat(in.readerIndex()).isEqualTo(FROM_V4.length);
        } finally {
            in.release();
        }
        ByteBuf partial = buf(slice(FROM_V6, 0, 10));
        try {
            assertThat(UmfursDecoder.messageLength(partial)).isEqualTo(-1);
            assertRejected(catchThrowable(() -> UmfursDecoder.decode(partial)), ProtocolError.TRUNCATED,
                    SpecRule.UMF_1);
        } finally {
            partial.release();
        }
    }

    @Test
    void headerLengthsMatchTheLayout() {
        assertThat(UmfursDecoder.IPV4_HEADER_LENGTH).isEqualTo(9);
        assertThat(UmfursDecoder.IPV6_HEADER_LENGTH).isEqualTo(21);
        assertThat(new UmfursDecoder().isSharable()).isFalse();
    }
}
