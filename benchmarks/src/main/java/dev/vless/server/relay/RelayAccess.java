// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.server.nat.NatTable;

/**
 * What the relay benchmark needs of a {@link ServerRuntime} that its API does not offer: its NAT table, to reach the
 * context a connection joined. Benchmark support only; it lives in the server's package to read the package-private
 * field.
 */
public final class RelayAccess {

    private RelayAccess() {
    }

    /** The runtime's NAT table. */
    public static NatTable natTable(ServerRuntime runtime) {
        return runtime.nat;
    }
}
