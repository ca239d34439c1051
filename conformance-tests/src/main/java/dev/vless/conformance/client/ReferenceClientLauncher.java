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
    private final java.time.Duration udpIdle;

    /** The reference client in {@code mode} with its default idle time for command-2 connections (60 s). */
    public ReferenceClientLauncher(UdpMode mode) {
        this(mode, null);
    }

    /** The reference client in {@code mode} closing command-2 connections idle for {@code udpIdle}. */
    public ReferenceClientLauncher(UdpMode mode, java.time.Duration udpIdle) {
        this.mode = mode;
        this.udpIdle = udpIdle;
    }

    @Override
    public RunningClient start(String link, InetSocketAddress socks) throws IOException {
        dev.vless.client.VlessClientBuilder b = VlessClient.builder().shareLink(ShareLink.parse(link)).socks(socks)
                .udpMode(mode);
        if (udpIdle != null) {
            b.udpIdle(udpIdle);
        }
        VlessClient client = b.build();
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
