// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.testing;

import dev.vless.client.VlessClient;
import dev.vless.client.VlessClientBuilder;
import dev.vless.link.ShareLink;
import dev.vless.server.DestinationFilter;
import dev.vless.server.VlessServer;
import dev.vless.server.VlessServerBuilder;
import java.net.InetSocketAddress;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * An in-process reference server (loopback destinations allowed) and a client configured from the server's own share
 * link, its SOCKS5 front on an ephemeral port of 127.0.0.1. With TLS the server has a self-signed certificate and the
 * link pins its fingerprint.
 */
public final class Rig implements AutoCloseable {

    /** The user the server serves and the client is. */
    public final UUID user = UUID.randomUUID();
    /** The server. */
    public final VlessServer server;
    /** The client. */
    public final VlessClient client;

    private Rig(boolean tls, Consumer<VlessServerBuilder> serverConfig, Consumer<VlessClientBuilder> clientConfig) {
        VlessServerBuilder sb = VlessServer.builder()
                .listen("127.0.0.1", 0)
                .user(user)
                .destinations(DestinationFilter.allowingLoopback())
                .coolDown(java.time.Duration.ZERO)
                .ioThreads(2);
        if (!tls) {
            sb.plaintext();
        }
        serverConfig.accept(sb);
        server = sb.build();
        server.start().join();
        VlessClientBuilder cb = VlessClient.builder()
                .shareLink(ShareLink.parse(server.shareLink(user, "127.0.0.1", "test")))
                .socks("127.0.0.1", 0)
                .ioThreads(2);
        clientConfig.accept(cb);
        client = cb.build();
        try {
            client.start().join();
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** A plaintext server and its client. */
    public static Rig plaintext() {
        return new Rig(false, s -> { }, c -> { });
    }

    /** A TLS server and its client, which pins the certificate. */
    public static Rig tls() {
        return new Rig(true, s -> { }, c -> { });
    }

    /** A server and client with extra configuration. */
    public static Rig of(boolean tls, Consumer<VlessServerBuilder> server, Consumer<VlessClientBuilder> client) {
        return new Rig(tls, server, client);
    }

    /** The client's SOCKS5 address. */
    public InetSocketAddress socks() {
        return client.socksAddress();
    }

    @Override
    public void close() {
        client.close();
        server.close();
    }

    /** Polls {@code condition} every 10 ms until it holds, failing with {@code what} after {@code millis}. */
    public static void await(String what, long millis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + millis + " ms waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }
}
