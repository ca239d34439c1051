// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import dev.vless.client.UdpMode;
import dev.vless.client.VlessClient;
import dev.vless.link.ShareLink;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The reference client, started in-process through its public API: what {@code vless-conformance client} checks when
 * no client is given, and what {@code mvn verify} holds to every client MUST in both UDP modes.
 */
public final class ReferenceClientLauncher implements ClientLauncher {

    private final UdpMode mode;

    public ReferenceClientLauncher(UdpMode mode) {
        this.mode = mode;
    }

    @Override
    public RunningClient start(String link, InetSocketAddress socks) throws IOException {
        VlessClient client = VlessClient.builder().shareLink(ShareLink.parse(link)).socks(socks).udpMode(mode).build();
        try {
            client.start().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            client.close();
            throw new IOException("the reference client did not start: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            client.close();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the reference client started", e);
        }
        return new RunningClient() {
            @Override
            public InetSocketAddress socks() {
                return client.socksAddress();
            }

            @Override
            public String exited() {
                return null; // in-process: it cannot die without the harness
            }

            @Override
            public void close() {
                client.close();
            }
        };
    }

    @Override
    public String description() {
        return "reference client (in-process, UDP mode " + mode.name().toLowerCase(Locale.ROOT).replace('_', '-')
                + ")";
    }
}
