// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * Starts the VLESS client under test. The client conformance harness runs its own scripted VLESS server and hands each
 * client it starts that server's share link and the loopback address its SOCKS5 front must listen on; the harness then
 * acts as an application through that front.
 */
public interface ClientLauncher {

    /**
     * Starts one client whose server is {@code link} ({@code vless://UUID@127.0.0.1:PORT?security=tls&sni=localhost&pcs=HEX}
     * or {@code security=none}) and whose SOCKS5 front listens on {@code socks}. Returns once the front accepts
     * connections.
     *
     * @throws IOException when the client cannot be started or its front never accepts (the message says which)
     */
    RunningClient start(String link, InetSocketAddress socks) throws IOException;

    /** What is checked, for the report: "reference client (UDP mode mux)", the command line, ... */
    String description();

    /**
     * Whether {@link #start} gives a new client each time. A client the user started ({@code --socks}) is the same
     * process throughout: cases that need a client fresh from start are then not applicable.
     */
    default boolean restartable() {
        return true;
    }
}
