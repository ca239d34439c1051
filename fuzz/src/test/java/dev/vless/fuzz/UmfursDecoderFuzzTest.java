// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.udp.UmfursDecoder;
import dev.vless.codec.udp.UmfursEncoder;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * Fuzzes {@link UmfursDecoder}: a CRUMFURS stream, split anywhere, yields UMFURS messages that re-encode to the
 * bytes they came from (an IPv4-mapped IPv6 source to its IPv4 form, ADR-4), then at most one
 * {@link dev.vless.codec.VlessProtocolException}, after which nothing more comes out.
 *
 * @see "spec/VLESS.md §10"
 */
class UmfursDecoderFuzzTest {

    private static final Set<ProtocolError> ERRORS = EnumSet.of(ProtocolError.BAD_SOURCE_TYPE,
            ProtocolError.SOURCE_PORT_ZERO, ProtocolError.TRUNCATED);

    @FuzzTest
    void decodesOrRejectsCleanly(FuzzedDataProvider data) {
        FuzzSupport.Input input = FuzzSupport.Input.from(data);
        byte[] bytes = input.bytes();
        FuzzSupport.Outcome outcome = FuzzSupport.decode(UmfursDecoder::new, input, false);
        FuzzSupport.assertErrorIsOneOf(outcome, ERRORS);
        assertThat(outcome.removed()).as("UMFURS decoder removed").isFalse();

        int offset = 0;
        for (Object message : outcome.messages()) {
            assertThat(message).isInstanceOf(FuzzSupport.Datagram.class);
            FuzzSupport.Datagram datagram = (FuzzSupport.Datagram) message;
            assertThat(datagram.sender()).isInstanceOf(InetSocketAddress.class);
            InetSocketAddress source = (InetSocketAddress) datagram.sender();
            byte[] payload = datagram.payload().bytes();
            byte[] encoded = FuzzSupport.encode(buf -> UmfursEncoder.encode(source, Unpooled.wrappedBuffer(payload),
                    buf));

            int headerLength = bytes[offset] == 1 ? UmfursDecoder.IPV4_HEADER_LENGTH
                    : UmfursDecoder.IPV6_HEADER_LENGTH;
            int end = offset + headerLength + payload.length;
            assertThat(end).as("end of the message at %d", offset).isLessThanOrEqualTo(bytes.length);
            assertThat(encoded).as("re-encoded %s from %d", source, offset)
                    .isEqualTo(canonical(Arrays.copyOfRange(bytes, offset, end)));
            offset = end;
        }
        assertThat(outcome.error() == null).as("error after %d of %d bytes", offset, bytes.length)
                .isEqualTo(offset == bytes.length);
    }

    /** The wire form a server sends for a message it received as {@code original}: a mapped source as IPv4. */
    private static byte[] canonical(byte[] original) {
        if (original[0] != 3 || !isIpv4Mapped(original)) {
            return original;
        }
        byte[] v4 = new byte[original.length - 12];
        v4[0] = 1;
        System.arraycopy(original, 13, v4, 1, original.length - 13);
        return v4;
    }

    private static boolean isIpv4Mapped(byte[] message) {
        for (int i = 1; i <= 10; i++) {
            if (message[i] != 0) {
                return false;
            }
        }
        return message[11] == (byte) 0xff && message[12] == (byte) 0xff;
    }
}
