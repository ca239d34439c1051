// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessRequestDecoder;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * Fuzzes {@link VlessRequestDecoder}: any byte stream, split anywhere, yields either one valid request whose encoding
 * is exactly the bytes it came from followed by the rest as payload, or one {@link dev.vless.codec.VlessProtocolException}.
 *
 * @see "spec/VLESS.md §4"
 */
class VlessRequestDecoderFuzzTest {

    private static final Set<ProtocolError> ERRORS = EnumSet.of(ProtocolError.BAD_VERSION,
            ProtocolError.UNKNOWN_COMMAND, ProtocolError.COMMAND_NOT_IN_VERSION, ProtocolError.UNKNOWN_ADDRESS_TYPE,
            ProtocolError.EMPTY_DOMAIN, ProtocolError.INVALID_DOMAIN, ProtocolError.PORT_ZERO,
            ProtocolError.TRUNCATED);

    @FuzzTest
    void decodesOrRejectsCleanly(FuzzedDataProvider data) {
        FuzzSupport.Input input = FuzzSupport.Input.from(data);
        byte[] bytes = input.bytes();
        FuzzSupport.Outcome outcome = FuzzSupport.decode(VlessRequestDecoder::new, input, true);
        FuzzSupport.assertErrorIsOneOf(outcome, ERRORS);

        if (outcome.messages().isEmpty()) {
            assertThat(outcome.removed()).as("decoder removed without a request").isFalse();
            assertThat(outcome.error() != null).as("rejected").isEqualTo(bytes.length > 0);
            return;
        }
        assertThat(outcome.error()).as("error after a complete header").isNull();
        assertThat(outcome.removed()).as("decoder removed after the header").isTrue();
        assertThat(outcome.messages().get(0)).isInstanceOf(VlessRequest.class);
        VlessRequest request = (VlessRequest) outcome.messages().get(0);

        byte[] header = FuzzSupport.encode(buf -> VlessClientEncoder.encode(request, buf));
        assertThat(Arrays.copyOf(bytes, Math.min(bytes.length, header.length))).as("re-encoded %s", request)
                .isEqualTo(header);
        assertThat(request.encodedLength()).isEqualTo(header.length);
        assertThat(new VlessRequest(request.version(), request.user(), request.addons(), request.command(),
                request.address())).as("rebuilt through the checking constructor").isEqualTo(request);
        assertThat(VlessRequestDecoder.decode(Unpooled.wrappedBuffer(header))).isEqualTo(request);
        assertThat(outcome.payloadFrom(1)).as("payload after the header")
                .isEqualTo(Arrays.copyOfRange(bytes, header.length, bytes.length));
    }
}
