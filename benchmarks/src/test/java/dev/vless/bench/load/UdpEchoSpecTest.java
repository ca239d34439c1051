// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class UdpEchoSpecTest {

    @Test
    void parsesFlowsPayloadAndWindow() {
        UdpEcho.Spec spec = UdpEcho.Spec.parse("64x1200x8");
        assertThat(spec).isEqualTo(new UdpEcho.Spec(64, 1200, 8));
        assertThat(spec.label()).isEqualTo("64 flows × 1200 B × 8 in flight");
    }

    @Test
    void rejectsPayloadsTooSmallForTheTag() {
        assertThatThrownBy(() -> UdpEcho.Spec.parse("1x8x1")).hasMessageContaining("the first 16 carry");
    }

    @Test
    void rejectsAMalformedSpec() {
        assertThatThrownBy(() -> UdpEcho.Spec.parse("64x1200")).hasMessageContaining("FLOWSxPAYLOADxINFLIGHT");
    }
}
