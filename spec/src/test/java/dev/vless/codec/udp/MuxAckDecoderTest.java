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

import dev.vless.codec.CodecHarness.Frame;
import dev.vless.codec.CodecHarness.Outcome;
import dev.vless.codec.CodecHarness.Payload;
import dev.vless.codec.MuxAck;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessServerEncoder;
import dev.vless.codec.udp.MuxFrameDecoder.Direction;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The client's reader of the UDP-MUX answer byte (MUX-3 to MUX-5). */
class MuxAckDecoderTest {

    private static final Supplier<ChannelHandler[]> DECODER = () -> new ChannelHandler[] {new MuxAckDecoder()};
    private static final Supplier<ChannelHandler[]> CHANNEL =
            () -> new ChannelHandler[] {new MuxAckDecoder(), new MuxFrameDecoder(Direction.FROM_SERVER)};
    /** Appendix A.8's server frame: "pong" from 127.0.0.3:5000. */
    private static final byte[] FRAME = hex("01 7f000003 1388 0004 706f6e67");
    private static final Frame PONG = Frame.of("127.0.0.3", 5000, "706f6e67");

    @Test
    void emitsTheAnswerAndRemovesItself() {
        Outcome o = decodeWhole(DECODER, hex("15"));
        assertThat(o.error()).isNull();
        assertThat(o.messages()).containsExactly(MuxAck.INSTANCE);
        assertThat(o.handlersLeft()).doesNotContain(MuxAckDecoder.class);
    }

    @Test
    void roundTripsThroughTheServerEncoder() {
        byte[] wire = encode(VlessServerEncoder.INSTANCE, MuxAck.INSTANCE);
        assertThat(wire).containsExactly(0x15);
        assertThat(decodeWhole(DECODER, wire).messages()).containsExactly(MuxAck.INSTANCE);
    }

    @Test
    void passesTheFramesThatCameWithItOn() {
        // MUX-4: bytes that arrive with 0x15, in the same write or split anywhere, are frames.
        byte[] bytes = concat(hex("15"), FRAME, FRAME);
        for (int cut = 1; cut < bytes.length; cut++) {
            Outcome o = decode(DECODER, split(bytes, cut), true);
            assertThat(o.error()).isNull();
            assertThat(o.joined()).as("cut at %d", cut)
                    .containsExactly(MuxAck.INSTANCE, Payload.of(concat(FRAME, FRAME)));
        }
        for (int cut = 0; cut <= bytes.length; cut++) {
            Outcome o = decode(CHANNEL, split(bytes, cut), true);
            assertThat(o.error()).isNull();
            assertThat(o.messages()).as("cut at %d", cut).containsExactly(MuxAck.INSTANCE, PONG, PONG);
            assertThat(o.handlersLeft()).containsExactly(MuxFrameDecoder.class);
        }
    }

    @Test
    void noByteYetEmitsNothingAndKeepsWaiting() {
        Outcome o = decode(DECODER, List.of(new byte[0]), false);
        assertThat(o.error()).isNull();
        assertThat(o.messages()).isEmpty();
        assertThat(o.open()).isTrue();
        assertThat(o.handlersLeft()).contains(MuxAckDecoder.class);
    }

    @Test
    void streamEndingBeforeTheAnswerMeansTheModeIsUnavailable() {
        Outcome o = decode(DECODER, List.of(new byte[0]), true);
        assertRejected(o.error(), ProtocolError.MUX_UNAVAILABLE, SpecRule.MUX_5);
        assertThat(o.messages()).isEmpty();
        assertThat(o.laterErrors()).isEmpty();
    }

    @Test
    void everyOtherFirstByteMeansTheModeIsUnavailable() {
        for (int b = 0; b < 256; b++) {
            if (b == 0x15) {
                continue;
            }
            Outcome o = decode(CHANNEL, List.of(concat(new byte[] {(byte) b}, FRAME), FRAME), true);
            assertRejectedQuietly(o, ProtocolError.MUX_UNAVAILABLE, SpecRule.MUX_5);
            assertThat(o.error()).hasMessageContaining(String.format("first byte 0x%02x", b));
            // Nothing is believed from a stream that did not start with the answer, not even a valid frame.
            assertThat(o.messages()).as("byte 0x%02x", b).isEmpty();
            assertThat(o.handlersLeft()).contains(MuxAckDecoder.class);
        }
        // A fallback's HTTP answer (MUX-5's example) and CRUMFURS's acknowledgement.
        Outcome http = decodeWhole(CHANNEL, "HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertRejectedQuietly(http, ProtocolError.MUX_UNAVAILABLE, SpecRule.MUX_5);
        assertRejectedQuietly(decodeWhole(CHANNEL, hex("14")), ProtocolError.MUX_UNAVAILABLE, SpecRule.MUX_5);
    }

    @Test
    void staticDecodeChecksTheByte() {
        ByteBuf in = buf("15 14");
        try {
            assertThat(MuxAckDecoder.decode(in)).isSameAs(MuxAck.INSTANCE);
            assertRejected(catchThrowable(() -> MuxAckDecoder.decode(in)), ProtocolError.MUX_UNAVAILABLE,
                    SpecRule.MUX_5);
            assertRejected(catchThrowable(() -> MuxAckDecoder.decode(in)), ProtocolError.MUX_UNAVAILABLE,
                    SpecRule.MUX_5);
        } finally {
            in.release();
        }
    }

    @Test
    void isASingleDecodeHandlerOfItsOwnConnection() {
        MuxAckDecoder d = new MuxAckDecoder();
        assertThat(d.isSingleDecode()).isTrue();
        assertThat(d.isSharable()).isFalse();
    }
}
