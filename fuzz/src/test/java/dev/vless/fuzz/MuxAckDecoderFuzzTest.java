// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vless.codec.MuxAck;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.udp.MuxAckDecoder;
import dev.vless.spec.SpecRule;
import java.util.Arrays;
import java.util.EnumSet;

/**
 * Fuzzes {@link MuxAckDecoder}: a stream that starts with {@code 0x15} yields the answer and the rest unchanged, as
 * frames for the next handler; any other first byte, or none, means the mode is unavailable, with nothing passed on.
 *
 * @see "spec/VLESS.md §23"
 */
class MuxAckDecoderFuzzTest {

    @FuzzTest
    void decodesOrRejectsCleanly(FuzzedDataProvider data) {
        FuzzSupport.Input input = FuzzSupport.Input.from(data);
        byte[] bytes = input.bytes();
        FuzzSupport.Outcome outcome = FuzzSupport.decode(MuxAckDecoder::new, input, true);
        FuzzSupport.assertErrorIsOneOf(outcome, EnumSet.of(ProtocolError.MUX_UNAVAILABLE));

        if (bytes.length == 0 || bytes[0] != MuxAck.VALUE) {
            // End of stream before the answer, or another first byte: the client falls back (MUX-5).
            assertThat(outcome.messages()).as("output without the answer").isEmpty();
            assertThat(outcome.error()).isEqualTo(ProtocolError.MUX_UNAVAILABLE);
            assertThat(outcome.rule()).isEqualTo(SpecRule.MUX_5);
            assertThat(outcome.removed()).as("decoder removed without the answer").isFalse();
            return;
        }
        assertThat(outcome.error()).isNull();
        assertThat(outcome.removed()).as("decoder removed after the answer").isTrue();
        assertThat(outcome.messages().get(0)).isSameAs(MuxAck.INSTANCE);
        assertThat(outcome.payloadFrom(1)).as("frames after the answer")
                .isEqualTo(Arrays.copyOfRange(bytes, 1, bytes.length));
    }
}
