// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessResponseHeader;
import dev.vless.codec.VlessResponseHeaderDecoder;
import dev.vless.codec.VlessServerEncoder;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * Fuzzes {@link VlessResponseHeaderDecoder}: any byte stream, split anywhere, yields either one v0 response header
 * that re-encodes to the bytes it came from, followed by the rest unchanged, or one
 * {@link dev.vless.codec.VlessProtocolException}.
 *
 * @see "spec/VLESS.md §6"
 */
class VlessResponseHeaderDecoderFuzzTest {

    private static final Set<ProtocolError> ERRORS =
            EnumSet.of(ProtocolError.BAD_RESPONSE_VERSION, ProtocolError.TRUNCATED);

    @FuzzTest
    void decodesOrRejectsCleanly(FuzzedDataProvider data) {
        FuzzSupport.Input input = FuzzSupport.Input.from(data);
        byte[] bytes = input.bytes();
        FuzzSupport.Outcome outcome = FuzzSupport.decode(VlessResponseHeaderDecoder::new, input, true);
        FuzzSupport.assertErrorIsOneOf(outcome, ERRORS);

        if (outcome.messages().isEmpty()) {
            assertThat(outcome.removed()).as("decoder removed without a header").isFalse();
            assertThat(outcome.error() != null).as("rejected").isEqualTo(bytes.length > 0);
            return;
        }
        assertThat(outcome.error()).as("error after a complete header").isNull();
        assertThat(outcome.removed()).as("decoder removed after the header").isTrue();
        assertThat(outcome.messages().get(0)).isInstanceOf(VlessResponseHeader.class);
        VlessResponseHeader header = (VlessResponseHeader) outcome.messages().get(0);

        byte[] encoded = FuzzSupport.encode(buf -> VlessServerEncoder.encode(header, buf));
        assertThat(Arrays.copyOf(bytes, Math.min(bytes.length, encoded.length))).as("re-encoded %s", header)
                .isEqualTo(encoded);
        assertThat(header.encodedLength()).isEqualTo(encoded.length);
        assertThat(new VlessResponseHeader(header.addons())).isEqualTo(header);
        assertThat(outcome.payloadFrom(1)).as("payload after the header")
                .isEqualTo(Arrays.copyOfRange(bytes, encoded.length, bytes.length));
    }
}
