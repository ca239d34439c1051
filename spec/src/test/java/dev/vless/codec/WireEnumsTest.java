// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static dev.vless.codec.CodecHarness.assertRejected;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vless.spec.SpecRule;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The wire enums: their bytes, and the typed errors for every byte that is not one of them. */
class WireEnumsTest {

    @Test
    void versionsHaveTheirWireBytes() {
        assertThat(VlessVersion.V0.byteValue()).isEqualTo((byte) 0x00);
        assertThat(VlessVersion.V1.byteValue()).isEqualTo((byte) 0x01);
        for (VlessVersion v : VlessVersion.values()) {
            assertThat(VlessVersion.valueOf(v.byteValue())).isSameAs(v);
        }
    }

    @Test
    void rejectsEveryOtherVersionByte() {
        for (int b = -128; b < 128; b++) {
            if (b == 0 || b == 1) {
                continue;
            }
            byte value = (byte) b;
            VlessProtocolException e = assertRejected(catchThrowable(() -> VlessVersion.valueOf(value)),
                    ProtocolError.BAD_VERSION, SpecRule.VER_2);
            assertThat(e).hasMessageContaining(String.format("version 0x%02x", b & 0xff));
        }
    }

    @Test
    void commandsHaveTheirWireBytes() {
        assertThat(VlessCommand.TCP.byteValue()).isEqualTo((byte) 1);
        assertThat(VlessCommand.UDP.byteValue()).isEqualTo((byte) 2);
        assertThat(VlessCommand.MUX.byteValue()).isEqualTo((byte) 3);
        assertThat(VlessCommand.CRUMFURS.byteValue()).isEqualTo((byte) 4);
        for (VlessCommand c : VlessCommand.values()) {
            assertThat(VlessCommand.valueOf(c.byteValue())).isSameAs(c);
        }
    }

    @Test
    void onlyTcpAndUdpHaveAnAddress() {
        Set<VlessCommand> withAddress = EnumSet.noneOf(VlessCommand.class);
        for (VlessCommand c : VlessCommand.values()) {
            if (c.hasAddress()) {
                withAddress.add(c);
            }
        }
        assertThat(withAddress).containsExactlyInAnyOrder(VlessCommand.TCP, VlessCommand.UDP);
    }

    @Test
    void rejectsEveryOtherCommandByte() {
        for (int b = -128; b < 128; b++) {
            if (b >= 1 && b <= 5) {
                continue;
            }
            byte value = (byte) b;
            VlessProtocolException e = assertRejected(catchThrowable(() -> VlessCommand.valueOf(value)),
                    ProtocolError.UNKNOWN_COMMAND, SpecRule.HDR_5);
            assertThat(e).hasMessageContaining(String.format("command 0x%02x", b & 0xff));
        }
    }

    @Test
    void addressTypesUseVlessNumberingNotSocks() {
        assertThat(VlessAddressType.IPV4.byteValue()).isEqualTo((byte) 1);
        assertThat(VlessAddressType.DOMAIN.byteValue()).isEqualTo((byte) 2);
        assertThat(VlessAddressType.IPV6.byteValue()).isEqualTo((byte) 3);
        for (VlessAddressType t : VlessAddressType.values()) {
            assertThat(VlessAddressType.valueOf(t.byteValue())).isSameAs(t);
        }
    }

    @Test
    void rejectsEveryOtherAddressTypeByte() {
        for (int b = -128; b < 128; b++) {
            if (b >= 1 && b <= 3) {
                continue;
            }
            byte value = (byte) b;
            VlessProtocolException e = assertRejected(catchThrowable(() -> VlessAddressType.valueOf(value)),
                    ProtocolError.UNKNOWN_ADDRESS_TYPE, SpecRule.ADR_1);
            assertThat(e).hasMessageContaining(String.format("address type 0x%02x", b & 0xff));
        }
    }

    @Test
    void theNameLookupOfEnumStillWorks() {
        // valueOf(byte) overloads the generated valueOf(String); both must stay usable.
        assertThat(VlessCommand.valueOf("CRUMFURS")).isSameAs(VlessCommand.CRUMFURS);
        assertThat(VlessAddressType.valueOf("IPV6")).isSameAs(VlessAddressType.IPV6);
        assertThat(VlessVersion.valueOf("V1")).isSameAs(VlessVersion.V1);
    }

    @Test
    void crumfursAcknowledgementIsByte0x14() {
        assertThat(CrumfursAck.VALUE).isEqualTo((byte) 20);
        assertThat(CrumfursAck.INSTANCE).isEqualTo(new CrumfursAck());
    }

    @Test
    void everyErrorKindHasAUniqueSlugThatLooksItUp() {
        Set<String> slugs = new java.util.HashSet<>();
        for (ProtocolError e : ProtocolError.values()) {
            assertThat(slugs.add(e.slug())).as("slug %s unique", e.slug()).isTrue();
            assertThat(e.slug()).matches("[a-z]+(-[a-z]+)*");
            assertThat(ProtocolError.bySlug(e.slug())).isSameAs(e);
            assertThat(e.defaultRule()).isNotNull();
        }
        assertThatIllegalArgumentException().isThrownBy(() -> ProtocolError.bySlug("no-such-kind"))
                .withMessage("unknown error kind: no-such-kind");
    }

    @Test
    void exceptionNamesRuleAndKindFirst() {
        VlessProtocolException e = new VlessProtocolException(ProtocolError.TRUNCATED, SpecRule.UDP_1, "3 bytes in");
        assertThat(e).hasMessage("UDP-1 truncated: 3 bytes in");
        assertThat(e.error()).isEqualTo(ProtocolError.TRUNCATED);
        assertThat(e.rule()).isEqualTo(SpecRule.UDP_1);
        assertThat(new VlessProtocolException(ProtocolError.PORT_ZERO, "x").rule()).isEqualTo(SpecRule.HDR_8);
        // Bad network input is not a bug of ours: no stack trace is captured.
        assertThat(e.getStackTrace()).isEmpty();
    }
}
