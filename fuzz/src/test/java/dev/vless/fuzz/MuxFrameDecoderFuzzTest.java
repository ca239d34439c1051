// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.udp.MuxFrameDecoder;
import dev.vless.codec.udp.MuxFrameDecoder.Direction;
import dev.vless.codec.udp.MuxFrameEncoder;
import dev.vless.spec.SpecRule;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * Fuzzes {@link MuxFrameDecoder} in both directions on the same bytes: a UDP-MUX stream, split anywhere, yields
 * frames that re-encode to the bytes they came from (an IPv4-mapped IPv6 address to its IPv4 form, ADR-4), then at
 * most one {@link dev.vless.codec.VlessProtocolException} of a kind §23 documents, after which nothing more comes out.
 * Whatever a server may send a client may send too, so the frames a client's decoder takes from a server stream are
 * a prefix of what the server's decoder takes from it, frame for frame.
 *
 * @see "spec/VLESS.md §23"
 */
class MuxFrameDecoderFuzzTest {

    private static final Set<ProtocolError> CLIENT_ERRORS = EnumSet.of(ProtocolError.UNKNOWN_ADDRESS_TYPE,
            ProtocolError.EMPTY_DOMAIN, ProtocolError.INVALID_DOMAIN, ProtocolError.TRUNCATED);
    private static final Set<ProtocolError> SERVER_ERRORS = EnumSet.of(ProtocolError.BAD_SOURCE_TYPE,
            ProtocolError.SOURCE_PORT_ZERO, ProtocolError.TRUNCATED);

    @FuzzTest
    void decodesOrRejectsCleanly(FuzzedDataProvider data) {
        FuzzSupport.Input input = FuzzSupport.Input.from(data);
        FuzzSupport.Outcome fromClient = check(input, Direction.FROM_CLIENT, CLIENT_ERRORS);
        FuzzSupport.Outcome fromServer = check(input, Direction.FROM_SERVER, SERVER_ERRORS);

        assertThat(fromServer.messages().size()).as("frames a server may send")
                .isLessThanOrEqualTo(fromClient.messages().size());
        assertThat(fromClient.messages().subList(0, fromServer.messages().size()))
                .as("a server's frames decode the same from either side").isEqualTo(fromServer.messages());
        if (fromServer.error() == null) {
            assertThat(fromClient.error()).as("a valid server stream is a valid client stream").isNull();
        }
    }

    private static FuzzSupport.Outcome check(FuzzSupport.Input input, Direction direction,
            Set<ProtocolError> errors) {
        byte[] bytes = input.bytes();
        FuzzSupport.Outcome outcome = FuzzSupport.decode(() -> new MuxFrameDecoder(direction), input, false);
        FuzzSupport.assertErrorIsOneOf(outcome, errors);
        if (outcome.error() != null) {
            assertThat(outcome.rule()).as("rule of %s", outcome.error())
                    .isEqualTo(outcome.error() == ProtocolError.TRUNCATED ? SpecRule.MUX_12 : SpecRule.MUX_11);
        }
        assertThat(outcome.removed()).as("frame decoder removed").isFalse();

        int offset = 0;
        for (Object message : outcome.messages()) {
            assertThat(message).isInstanceOf(FuzzSupport.Frame.class);
            FuzzSupport.Frame frame = (FuzzSupport.Frame) message;
            VlessAddress address = frame.address();
            assertThat(new VlessAddress(address.type(), address.host(), address.port()))
                    .as("rebuilt through the checking constructor").isEqualTo(address);
            assertThat(address.isIpv4Mapped()).as("a mapped address is reported as IPv4").isFalse();
            if (direction == Direction.FROM_SERVER) {
                assertThat(address.type()).as("a server's frame names an IP").isNotEqualTo(VlessAddressType.DOMAIN);
                assertThat(address.port()).as("a server's frame names a source port").isPositive();
            }
            byte[] payload = frame.payload().bytes();
            byte[] encoded = FuzzSupport.encode(buf -> {
                if (direction == Direction.FROM_CLIENT) {
                    MuxFrameEncoder.encodeHeader(address, payload.length, buf);
                } else {
                    MuxFrameEncoder.encodeHeader(address.toInetSocketAddress(), payload.length, buf);
                }
                buf.writeBytes(payload);
            });
            int end = offset + wireHeaderLength(bytes, offset) + payload.length;
            assertThat(end).as("end of the frame at %d", offset).isLessThanOrEqualTo(bytes.length);
            assertThat(encoded).as("re-encoded %s from %d", address, offset)
                    .isEqualTo(canonical(Arrays.copyOfRange(bytes, offset, end)));
            offset = end;
        }
        assertThat(outcome.error() == null).as("%s: error after %d of %d bytes", direction, offset, bytes.length)
                .isEqualTo(offset == bytes.length);
        return outcome;
    }

    /** The header length of the frame at {@code offset}, read off the wire rather than from the codec. */
    private static int wireHeaderLength(byte[] bytes, int offset) {
        switch (bytes[offset]) {
            case 1:
                return 1 + 4 + 2 + 2;
            case 3:
                return 1 + 16 + 2 + 2;
            case 2:
                return 1 + 1 + (bytes[offset + 1] & 0xff) + 2 + 2;
            default:
                throw new AssertionError("a frame decoded from address type " + bytes[offset]);
        }
    }

    /** The canonical wire form of a frame: a type-3 IPv4-mapped address as type 1 (ADR-4, MUX-8). */
    private static byte[] canonical(byte[] original) {
        if (original[0] != 3) {
            return original;
        }
        for (int i = 1; i <= 10; i++) {
            if (original[i] != 0) {
                return original;
            }
        }
        if (original[11] != (byte) 0xff || original[12] != (byte) 0xff) {
            return original;
        }
        byte[] v4 = new byte[original.length - 12];
        v4[0] = 1;
        System.arraycopy(original, 13, v4, 1, original.length - 13);
        return v4;
    }
}
