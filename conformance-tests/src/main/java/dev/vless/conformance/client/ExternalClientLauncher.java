// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * A client the user started and configured with the link the harness printed ({@code --socks HOST:PORT}). The harness
 * cannot restart it, so cases that need a client fresh from start are not applicable, and every case sees the state
 * the ones before it left.
 */
public final class ExternalClientLauncher implements ClientLauncher {

    private final InetSocketAddress socks;

    public ExternalClientLauncher(InetSocketAddress socks) {
        this.socks = socks;
    }

    @Override
    public RunningClient start(String link, InetSocketAddress ignored) throws IOException {
        if (!accepts()) {
            throw new IOException("nothing accepts connections at " + socks + " (start the client with the link "
                    + "printed above and its SOCKS5 front there, or give --client-cmd)");
        }
        return new RunningClient() {
            @Override
            public InetSocketAddress socks() {
                return socks;
            }

            @Override
            public String exited() {
                return accepts() ? null : "its SOCKS5 front at " + socks + " no longer accepts connections";
            }

            @Override
            public void close() {
                // the user's process: not the harness's to stop
            }
        };
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(socks, 2000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public String description() {
        return "client with its SOCKS5 front at " + socks + " (started by the user)";
    }

    @Override
    public boolean restartable() {
        return false;
    }
}
