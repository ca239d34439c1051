// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import java.net.InetSocketAddress;

/** One started client under test. */
public interface RunningClient extends AutoCloseable {

    /** Where its SOCKS5 front listens. */
    InetSocketAddress socks();

    /** {@code null} while it runs; once it has ended by itself, how (exit status and the last lines it printed). */
    String exited();

    /** The last lines the client printed, for the report's evidence; empty when it prints nowhere the harness sees. */
    default String output() {
        return "";
    }

    /** Stops it (and, for a process, every process it started); idempotent. */
    @Override
    void close();
}
