// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vless.codec.CrumfursAck;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.udp.CrumfursAckDecoder;
import dev.vless.spec.SpecRule;
import java.util.Arrays;
import java.util.EnumSet;

/**
 * Fuzzes {@link CrumfursAckDecoder}: a stream that starts with {@code 0x14} yields the acknowledgement and the rest
 * unchanged; any other first byte, or none, is rejected with nothing passed on.
 *
 * @see "spec/VLESS.md §9"
 */
class CrumfursAckDecoderFuzzTest {

    @FuzzTest
    void decodesOrRejectsCleanly(FuzzedDataProvider data) {
        FuzzSupport.Input input = FuzzSupport.Input.from(data);
        byte[] bytes = input.bytes();
        FuzzSupport.Outcome outcome = FuzzSupport.decode(CrumfursAckDecoder::new, input, true);
        FuzzSupport.assertErrorIsOneOf(outcome,
                EnumSet.of(ProtocolError.BAD_ACKNOWLEDGEMENT, ProtocolError.TRUNCATED));

        if (bytes.length == 0) {
            // The stream ended before CRUMFURS was established.
            assertThat(outcome.messages()).isEmpty();
            assertThat(outcome.error()).isEqualTo(ProtocolError.TRUNCATED);
            assertThat(outcome.rule()).isEqualTo(SpecRule.CRF_1);
            return;
        }
        if (bytes[0] != CrumfursAck.VALUE) {
            assertThat(outcome.messages()).as("output after a bad acknowledgement").isEmpty();
            assertThat(outcome.error()).isEqualTo(ProtocolError.BAD_ACKNOWLEDGEMENT);
            assertThat(outcome.removed()).as("decoder removed after a bad acknowledgement").isFalse();
            return;
        }
        assertThat(outcome.error()).isNull();
        assertThat(outcome.removed()).as("decoder removed after the acknowledgement").isTrue();
        assertThat(outcome.messages().get(0)).isSameAs(CrumfursAck.INSTANCE);
        assertThat(outcome.payloadFrom(1)).as("stream after the acknowledgement")
                .isEqualTo(Arrays.copyOfRange(bytes, 1, bytes.length));
    }
}
