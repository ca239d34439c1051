// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.server.testing.VlessServerExtension;
import io.netty.channel.uring.IoUring;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The relays on io_uring ({@code --transport io_uring}), where the kernel has it. */
class IoUringTransportTest extends TransportRelaysTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b.transport(TransportChoice.IO_URING));

    @BeforeAll
    static void needsIoUring() {
        assumeTrue(IoUring.isAvailable(), () -> "io_uring is unavailable here: " + IoUring.unavailabilityCause());
    }

    @Override
    VlessServerExtension server() {
        return server;
    }

    @Override
    String transportName() {
        return "io_uring";
    }
}
