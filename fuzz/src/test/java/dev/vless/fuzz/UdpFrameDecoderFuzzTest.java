// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.udp.UdpFrame;
import dev.vless.codec.udp.UdpFrameDecoder;
import dev.vless.spec.SpecRule;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.EnumSet;

/**
 * Fuzzes {@link UdpFrameDecoder}: a stream, split anywhere, yields one payload per frame, empty ones included,
 * whose re-encoding reproduces the stream; the only rejection is a stream that ends inside a frame.
 *
 * @see "spec/VLESS.md §8"
 */
class UdpFrameDecoderFuzzTest {

    @FuzzTest
    void decodesOrRejectsCleanly(FuzzedDataProvider data) {
        FuzzSupport.Input input = FuzzSupport.Input.from(data);
        byte[] bytes = input.bytes();
        FuzzSupport.Outcome outcome = FuzzSupport.decode(UdpFrameDecoder::new, input, false);
        FuzzSupport.assertErrorIsOneOf(outcome, EnumSet.of(ProtocolError.TRUNCATED));
        assertThat(outcome.removed()).as("frame decoder removed").isFalse();

        ByteArrayOutputStream reencoded = new ByteArrayOutputStream();
        for (Object message : outcome.messages()) {
            assertThat(message).isInstanceOf(FuzzSupport.Payload.class);
            byte[] payload = ((FuzzSupport.Payload) message).bytes();
            reencoded.writeBytes(FuzzSupport.encode(buf -> UdpFrame.encode(Unpooled.wrappedBuffer(payload), buf)));
        }
        byte[] frames = reencoded.toByteArray();
        assertThat(Arrays.copyOf(bytes, Math.min(bytes.length, frames.length))).as("re-encoded frames")
                .isEqualTo(frames);

        if (frames.length == bytes.length) {
            assertThat(outcome.error()).as("error after whole frames").isNull();
            return;
        }
        // What is left must be the start of a frame that never ended.
        assertThat(outcome.error()).isEqualTo(ProtocolError.TRUNCATED);
        assertThat(outcome.rule()).isEqualTo(SpecRule.UDP_1);
        int rest = bytes.length - frames.length;
        if (rest >= UdpFrame.HEADER_LENGTH) {
            int length = ((bytes[frames.length] & 0xff) << 8) | (bytes[frames.length + 1] & 0xff);
            assertThat(rest).as("bytes of the last frame").isLessThan(UdpFrame.HEADER_LENGTH + length);
        }
    }
}
