// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The request record: every field is checked against the rules of its version, with a message naming it. */
class VlessRequestTest {

    private static final UUID USER = UUID.fromString("a684455c-b14f-11ea-bf0d-42010aaa0003");
    private static final VlessAddress TARGET = VlessAddress.of("192.0.2.1", 443);

    @Test
    void buildsEachFormWithItsFactory() {
        VlessRequest v1 = VlessRequest.v1(USER, VlessCommand.UDP, TARGET);
        assertThat(v1.version()).isEqualTo(VlessVersion.V1);
        assertThat(v1.addons()).isEmpty();
        assertThat(v1.command()).isEqualTo(VlessCommand.UDP);
        assertThat(v1.address()).isEqualTo(TARGET);

        VlessRequest crumfurs = VlessRequest.crumfurs(USER);
        assertThat(crumfurs.command()).isEqualTo(VlessCommand.CRUMFURS);
        assertThat(crumfurs.address()).isNull();
        assertThat(crumfurs.encodedLength()).isEqualTo(VlessRequest.CRUMFURS_LENGTH);

        VlessRequest v0 = VlessRequest.v0(USER, VlessCommand.TCP, TARGET);
        assertThat(v0.version()).isEqualTo(VlessVersion.V0);
        assertThat(v0.addonsLength()).isZero();
    }

    @Test
    void namesTheMissingField() {
        byte[] none = new byte[0];
        assertThatNullPointerException()
                .isThrownBy(() -> new VlessRequest(null, USER, none, VlessCommand.TCP, TARGET)).withMessage("version");
        assertThatNullPointerException()
                .isThrownBy(() -> new VlessRequest(VlessVersion.V1, null, none, VlessCommand.TCP, TARGET))
                .withMessage("user");
        assertThatNullPointerException()
                .isThrownBy(() -> new VlessRequest(VlessVersion.V1, USER, null, VlessCommand.TCP, TARGET))
                .withMessage("addons");
        assertThatNullPointerException()
                .isThrownBy(() -> new VlessRequest(VlessVersion.V1, USER, none, null, TARGET))
                .withMessage("command");
        assertThatNullPointerException()
                .isThrownBy(() -> new VlessRequest(VlessVersion.V1, USER, none, VlessCommand.TCP, null))
                .withMessage("address");
    }

    @Test
    void rejectsAddonsInV1() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new VlessRequest(VlessVersion.V1, USER, new byte[1], VlessCommand.TCP, TARGET))
                .withMessage("addons: 1 bytes (expected: none in v1)");
    }

    @Test
    void acceptsUpTo255AddonBytesInV0() {
        VlessRequest r = new VlessRequest(VlessVersion.V0, USER, new byte[255], VlessCommand.TCP, TARGET);
        assertThat(r.addonsLength()).isEqualTo(255);
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new VlessRequest(VlessVersion.V0, USER, new byte[256], VlessCommand.TCP, TARGET))
                .withMessage("addons: 256 bytes (expected: 0-255)");
    }

    @Test
    void rejectsCrumfursInV0() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new VlessRequest(VlessVersion.V0, USER, new byte[0], VlessCommand.CRUMFURS, null))
                .withMessage("command: CRUMFURS (expected: TCP, UDP or MUX in v0)");
    }

    @Test
    void rejectsPortZero() {
        VlessAddress zero = VlessAddress.of("192.0.2.1", 0);
        for (VlessCommand c : new VlessCommand[] {VlessCommand.TCP, VlessCommand.UDP}) {
            assertThatIllegalArgumentException().isThrownBy(() -> VlessRequest.v1(USER, c, zero))
                    .withMessage("port: 0 (expected: 1-65535)");
            assertThatIllegalArgumentException().isThrownBy(() -> VlessRequest.v0(USER, c, zero))
                    .withMessage("port: 0 (expected: 1-65535)");
        }
    }

    @Test
    void rejectsAnAddressOnMux() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> VlessRequest.v0(USER, VlessCommand.MUX, TARGET))
                .withMessage("address: 192.0.2.1:443 (expected: none for MUX)");
    }

    @Test
    void rejectsAnAddressOnCrumfurs() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> VlessRequest.v1(USER, VlessCommand.CRUMFURS, TARGET))
                .withMessage("address: 192.0.2.1:443 (expected: none for CRUMFURS)");
    }

    @Test
    void copiesAddonsInAndOut() {
        byte[] addons = {1, 2, 3};
        VlessRequest r = new VlessRequest(VlessVersion.V0, USER, addons, VlessCommand.TCP, TARGET);
        addons[0] = 9;
        assertThat(r.addons()).containsExactly(1, 2, 3);
        r.addons()[1] = 9;
        assertThat(r.addons()).containsExactly(1, 2, 3);
    }

    @Test
    void comparesAddonsByContent() {
        VlessRequest a = new VlessRequest(VlessVersion.V0, USER, new byte[] {7, 8}, VlessCommand.TCP, TARGET);
        VlessRequest b = new VlessRequest(VlessVersion.V0, USER, new byte[] {7, 8}, VlessCommand.TCP, TARGET);
        VlessRequest c = new VlessRequest(VlessVersion.V0, USER, new byte[] {7, 9}, VlessCommand.TCP, TARGET);
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b).isNotEqualTo(c);
        assertThat(a).isNotEqualTo(VlessRequest.v1(USER, VlessCommand.TCP, TARGET));
        assertThat(a.toString()).isEqualTo(
                "VlessRequest[V0 a684455c-b14f-11ea-bf0d-42010aaa0003 TCP addons=0708 192.0.2.1:443]");
        assertThat(VlessRequest.crumfurs(USER).toString())
                .isEqualTo("VlessRequest[V1 a684455c-b14f-11ea-bf0d-42010aaa0003 CRUMFURS]");
    }

    @Test
    void encodedLengthCountsEveryField() {
        assertThat(VlessRequest.v1(USER, VlessCommand.TCP, TARGET).encodedLength()).isEqualTo(1 + 16 + 1 + 2 + 1 + 4);
        assertThat(VlessRequest.v1(USER, VlessCommand.UDP, VlessAddress.of("::1", 53)).encodedLength())
                .isEqualTo(1 + 16 + 1 + 2 + 1 + 16);
        assertThat(VlessRequest.v0(USER, VlessCommand.TCP, VlessAddress.of("dummy.com", 80)).encodedLength())
                .isEqualTo(1 + 16 + 1 + 1 + 2 + 1 + 1 + 9);
        VlessRequest longest = new VlessRequest(VlessVersion.V0, USER, new byte[255], VlessCommand.TCP,
                VlessAddress.of("d".repeat(255), 1));
        assertThat(longest.encodedLength()).isEqualTo(VlessRequest.MAX_LENGTH);
    }
}
