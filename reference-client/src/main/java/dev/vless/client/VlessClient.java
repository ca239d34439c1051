// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static java.util.Objects.requireNonNull;

import dev.vless.client.internal.ClientMetrics;
import dev.vless.client.internal.ClientRuntime;
import dev.vless.client.internal.ClientTls;
import dev.vless.client.internal.Transport;
import dev.vless.client.internal.Upstream;
import dev.vless.client.socks.SocksServerInitializer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VLESS reference client: a local SOCKS5 server (CONNECT and UDP ASSOCIATE) whose traffic goes to a VLESS server,
 * v1 over TLS by default. UDP goes one command-2 connection per remote address, with the CRUMFURS channel open so
 * that datagrams from any remote reach the application with their true source (full cone); or, with
 * {@link UdpMode#MUX}, over one UDP-MUX connection per client shared by every association. Start it from code with
 * {@code VlessClient.builder()...build().start()}, or from the command line with
 * {@code dev.vless.client.cli.ClientCommand}.
 */
public final class VlessClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(VlessClient.class);

    private final VlessClientConfig config;
    private final ClientMetrics metrics = new ClientMetrics();
    private volatile State state = State.NEW;
    private Transport transport;
    private EventLoopGroup bossGroup;
    private EventLoopGroup workerGroup;
    private ClientRuntime runtime;
    private volatile Channel serverChannel;
    private InetSocketAddress serverAddress;

    private enum State { NEW, STARTING, STARTED, STOPPED }

    VlessClient(VlessClientConfig config) {
        this.config = requireNonNull(config, "config");
    }

    /** A builder with the defaults. */
    public static VlessClientBuilder builder() {
        return new VlessClientBuilder();
    }

    /** The configuration the client was built with. */
    public VlessClientConfig config() {
        return config;
    }

    /**
     * Resolves the server, prepares TLS and binds the SOCKS5 listener; completes with this client once applications
     * can connect, or exceptionally with a message that says what went wrong. Resolving the server's name happens on
     * the calling thread.
     */
    public synchronized CompletableFuture<VlessClient> start() {
        if (state != State.NEW) {
            return CompletableFuture.failedFuture(new IllegalStateException("client already " + state));
        }
        state = State.STARTING;
        CompletableFuture<VlessClient> result = new CompletableFuture<>();
        try {
            serverAddress = resolve();
            SslContext ssl = ClientTls.create(config.tls());
            transport = Transport.select(config.nativeTransport());
            bossGroup = transport.newGroup(1, "vless-client-accept");
            workerGroup = transport.newGroup(config.ioThreads(), "vless-client-io");
            Upstream upstream = new Upstream(config, transport, ssl, serverAddress);
            runtime = new ClientRuntime(config, metrics, transport, upstream, workerGroup.next());
            ServerBootstrap b = new ServerBootstrap()
                    .group(bossGroup, workerGroup)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childHandler(new SocksServerInitializer(runtime, config.socksUser(), config.socksPassword()));
            b.bind(config.socksAddress()).addListener(f -> {
                if (f.isSuccess()) {
                    serverChannel = ((ChannelFuture) f).channel();
                    if (state == State.STARTING) {
                        state = State.STARTED;
                    }
                    log.info("SOCKS5 on {} -> VLESS {} {} ({}, {})", NetUtil.toSocketAddressString(socksAddress()),
                            config.version().name().toLowerCase(java.util.Locale.ROOT), config.serverText(),
                            config.tls().describe(), transport.name());
                    result.complete(this);
                } else {
                    shutdownGroups();
                    state = State.STOPPED;
                    result.completeExceptionally(new IllegalStateException("cannot listen for SOCKS5 on "
                            + NetUtil.toSocketAddressString(config.socksAddress()) + ": " + f.cause().getMessage()
                            + " (is the port in use, or the address not on this host?)", f.cause()));
                }
            });
        } catch (RuntimeException e) {
            shutdownGroups();
            state = State.STOPPED;
            result.completeExceptionally(e);
        }
        return result;
    }

    /** Closes the SOCKS5 listener, every connection and the CRUMFURS, and releases the threads. */
    public synchronized CompletableFuture<Void> stop() {
        if (state == State.STOPPED || state == State.NEW) {
            state = State.STOPPED;
            return CompletableFuture.completedFuture(null);
        }
        state = State.STOPPED;
        CompletableFuture<Void> done = new CompletableFuture<>();
        Runnable rest = () -> runtime.close().addListener(x -> {
            io.netty.util.concurrent.Future<?> w = workerGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS);
            io.netty.util.concurrent.Future<?> b = bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS);
            w.addListener(y -> b.addListener(z -> done.complete(null)));
        });
        Channel ch = serverChannel;
        if (ch != null) {
            ch.close().addListener(f -> rest.run());
        } else {
            rest.run();
        }
        return done;
    }

    /** Same as {@code stop().join()}. */
    @Override
    public void close() {
        stop().join();
    }

    /** The address the SOCKS5 listener is bound to, with the actual port; {@code null} before start. */
    public InetSocketAddress socksAddress() {
        Channel ch = serverChannel;
        return ch == null ? null : (InetSocketAddress) ch.localAddress();
    }

    /** The server's address as resolved at start; {@code null} before start. */
    public InetSocketAddress serverAddress() {
        return serverAddress;
    }

    /** The counters now. */
    public ClientStats stats() {
        return metrics.snapshot();
    }

    /** The transport in use, "epoll" or "nio"; {@code null} before start. */
    public String transportName() {
        return transport == null ? null : transport.name();
    }

    private InetSocketAddress resolve() {
        try {
            return new InetSocketAddress(InetAddress.getByName(config.serverHost()), config.serverPort());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("cannot resolve the VLESS server's host '" + config.serverHost()
                    + "' (expected: a host name this machine can resolve, or an IP address)", e);
        }
    }

    private void shutdownGroups() {
        if (workerGroup != null) {
            workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (bossGroup != null) {
            bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
