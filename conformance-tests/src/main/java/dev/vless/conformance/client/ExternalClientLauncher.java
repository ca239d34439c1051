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

    /** How long the harness waits for the user to start the client with the link it printed. */
    public static final java.time.Duration DEFAULT_WAIT = java.time.Duration.ofSeconds(120);

    private final InetSocketAddress socks;
    private final java.time.Duration wait;

    public ExternalClientLauncher(InetSocketAddress socks) {
        this(socks, DEFAULT_WAIT);
    }

    /** A client the user starts at {@code socks}, waited for up to {@code wait} (its link is printed first). */
    public ExternalClientLauncher(InetSocketAddress socks, java.time.Duration wait) {
        this.socks = socks;
        this.wait = wait;
    }

    /** Where the user's client must serve SOCKS5. */
    public InetSocketAddress socks() {
        return socks;
    }

    /** How long {@link #start} waits for it. */
    public java.time.Duration waitFor() {
        return wait;
    }

    @Override
    public RunningClient start(String link, InetSocketAddress ignored) throws IOException {
        long until = System.nanoTime() + wait.toNanos();
        while (!accepts()) {
            if (System.nanoTime() > until) {
                throw new IOException("nothing accepted connections at " + socks + " within " + wait.toSeconds()
                        + " s (start the client with the link printed above and its SOCKS5 front there, or give"
                        + " --client-cmd)");
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the client at " + socks, e);
            }
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
