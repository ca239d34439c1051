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
import static dev.vless.codec.CodecHarness.split;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vless.codec.CodecHarness.Datagram;
import dev.vless.codec.CodecHarness.Outcome;
import dev.vless.codec.CodecHarness.Payload;
import dev.vless.codec.CrumfursAck;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessServerEncoder;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The client's reader of the CRUMFURS acknowledgement (CRF-1, CRF-6). */
class CrumfursAckDecoderTest {

    private static final Supplier<ChannelHandler[]> DECODER = () -> new ChannelHandler[] {new CrumfursAckDecoder()};
    private static final Supplier<ChannelHandler[]> CHANNEL =
            () -> new ChannelHandler[] {new CrumfursAckDecoder(), new UmfursDecoder()};
    /** A UMFURS from 192.0.2.1:8080 carrying "abc". */
    private static final byte[] UMFURS = hex("01 c0000201 1f90 0003 616263");

    @Test
    void emitsTheAcknowledgementAndRemovesItself() {
        Outcome o = decodeWhole(DECODER, hex("14"));
        assertThat(o.error()).isNull();
        assertThat(o.messages()).containsExactly(CrumfursAck.INSTANCE);
        assertThat(o.handlersLeft()).doesNotContain(CrumfursAckDecoder.class);
    }

    @Test
    void roundTripsThroughTheServerEncoder() {
        assertThat(decodeWhole(DECODER, encode(VlessServerEncoder.INSTANCE, CrumfursAck.INSTANCE)).messages())
                .containsExactly(CrumfursAck.INSTANCE);
    }

    @Test
    void forwardsTheUmfursStreamBehindIt() {
        byte[] bytes = concat(hex("14"), UMFURS);
        for (int cut = 1; cut < bytes.length; cut++) {
            Outcome o = decode(DECODER, split(bytes, cut), true);
            assertThat(o.error()).isNull();
            assertThat(o.joined()).as("cut at %d", cut).containsExactly(CrumfursAck.INSTANCE, Payload.of(UMFURS));
        }
        Datagram abc = new Datagram(new InetSocketAddress("192.0.2.1", 8080), Payload.of(hex("616263")));
        for (int cut = 1; cut < bytes.length; cut++) {
            Outcome o = decode(CHANNEL, split(bytes, cut), true);
            assertThat(o.error()).isNull();
            assertThat(o.messages()).as("cut at %d", cut).containsExactly(CrumfursAck.INSTANCE, abc);
            assertThat(o.handlersLeft()).containsExactly(UmfursDecoder.class);
        }
    }

    @Test
    void noByteYetEmitsNothingAndKeepsWaiting() {
        Outcome o = decode(DECODER, List.of(new byte[0]), false);
        assertThat(o.error()).isNull();
        assertThat(o.messages()).isEmpty();
        assertThat(o.open()).isTrue();
        assertThat(o.handlersLeft()).contains(CrumfursAckDecoder.class);
    }

    @Test
    void streamEndingBeforeTheAcknowledgementIsTruncated() {
        Outcome o = decode(DECODER, List.of(), true);
        assertRejected(o.error(), ProtocolError.TRUNCATED, SpecRule.CRF_1);
        assertThat(o.messages()).isEmpty();
    }

    @Test
    void rejectsEveryOtherFirstByte() {
        for (int b = 0; b < 256; b++) {
            if (b == 0x14) {
                continue;
            }
            Outcome o = decode(CHANNEL, List.of(concat(new byte[] {(byte) b}, UMFURS), UMFURS), true);
            assertRejectedQuietly(o, ProtocolError.BAD_ACKNOWLEDGEMENT, SpecRule.CRF_6);
            assertThat(o.error()).hasMessageContaining(String.format("first byte 0x%02x", b));
            // No UMFURS is believed from a stream that did not start right.
            assertThat(o.messages()).as("byte 0x%02x", b).isEmpty();
            assertThat(o.handlersLeft()).contains(CrumfursAckDecoder.class);
        }
    }

    @Test
    void staticDecodeChecksTheByte() {
        ByteBuf in = buf("14 15");
        try {
            assertThat(CrumfursAckDecoder.decode(in)).isSameAs(CrumfursAck.INSTANCE);
            assertRejected(catchThrowable(() -> CrumfursAckDecoder.decode(in)), ProtocolError.BAD_ACKNOWLEDGEMENT,
                    SpecRule.CRF_6);
            assertRejected(catchThrowable(() -> CrumfursAckDecoder.decode(in)), ProtocolError.TRUNCATED,
                    SpecRule.CRF_1);
        } finally {
            in.release();
        }
    }

    @Test
    void isASingleDecodeHandlerOfItsOwnConnection() {
        CrumfursAckDecoder d = new CrumfursAckDecoder();
        assertThat(d.isSingleDecode()).isTrue();
        assertThat(d.isSharable()).isFalse();
    }
}
