// SPDX-License-Identifier: Apache-2.0
package dev.vless.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** The leak check must see a leak, or every "no leak" the build reports means nothing. */
class LeakDetectionExtensionTest {

    @Test
    void reportsAnUnreleasedBuffer() {
        leakOne();
        assertThat(LeakDetectionExtension.collectLeaks()).isNotEmpty();
    }

    @Test
    void staysQuietWhenEverythingIsReleased() {
        ByteBuf buf = Unpooled.directBuffer(16).writeLong(1);
        buf.release();
        assertThat(LeakDetectionExtension.collectLeaks()).isEmpty();
    }

    private static void leakOne() {
        ByteBuf leaked = Unpooled.directBuffer(16);
        leaked.writeInt(42);
        leaked = null; // dropped without release
    }
}
