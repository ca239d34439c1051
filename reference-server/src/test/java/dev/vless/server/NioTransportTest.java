// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import dev.vless.server.testing.VlessServerExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The relays on Java NIO ({@code --transport nio}), the fall-back where no native transport loads. */
class NioTransportTest extends TransportRelaysTest {

    @RegisterExtension
    static final VlessServerExtension server = new VlessServerExtension(b -> b.nativeTransport(false));

    @Override
    VlessServerExtension server() {
        return server;
    }

    @Override
    String transportName() {
        return "nio";
    }
}
