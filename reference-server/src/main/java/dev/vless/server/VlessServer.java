// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static java.util.Objects.requireNonNull;

import dev.vless.link.ShareLink;
import dev.vless.server.internal.FdLimit;
import dev.vless.server.internal.KernelUdpDrops;
import dev.vless.server.internal.ServerMetrics;
import dev.vless.server.internal.TlsContexts;
import dev.vless.server.internal.TlsMaterial;
import dev.vless.server.internal.Transport;
import dev.vless.server.relay.ServerRuntime;
import dev.vless.server.relay.VlessChannelInitializer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VLESS v0 + v1 reference server: one listener for both versions, TCP relay, UDP with the full-cone NAT context,
 * CRUMFURS. Start it from code with {@code VlessServer.builder()...build().start()}, or from the command line with
 * {@code dev.vless.server.cli.ServerCommand}.
 */
public final class VlessServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(VlessServer.class);

    private final VlessServerConfig config;
    private final ServerMetrics metrics = new ServerMetrics();
    private volatile State state = State.NEW;
    private Transport transport;
    private EventLoopGroup bossGroup;
    private EventLoopGroup workerGroup;
    private ServerRuntime runtime;
    private Channel serverChannel;
    private TlsMaterial tls;
    private ScheduledExecutorService statsExecutor;
    private final KernelUdpDrops udpDrops = new KernelUdpDrops();

    private enum State { NEW, STARTING, STARTED, STOPPED }

    VlessServer(VlessServerConfig config) {
        this.config = requireNonNull(config, "config");
    }

    /** A builder with the specification's defaults. */
    public static VlessServerBuilder builder() {
        return new VlessServerBuilder();
    }

    /** The configuration the server was built with. */
    public VlessServerConfig config() {
        return config;
    }

    /** Binds the listener; completes with this server once it accepts connections, or exceptionally. */
    public synchronized CompletableFuture<VlessServer> start() {
        if (state != State.NEW) {
            return CompletableFuture.failedFuture(new IllegalStateException("server already " + state));
        }
        state = State.STARTING;
        CompletableFuture<VlessServer> result = new CompletableFuture<>();
        try {
            warnIfOverFdLimit();
            tls = TlsContexts.create(config.tls());
            transport = Transport.select(config.transport());
            if (transport.fallback() != null) {
                log.warn("transport {} instead of {}: {}", transport.name(), config.transport().flagName(),
                        transport.fallback());
            }
            bossGroup = transport.newGroup(1, "vless-accept");
            workerGroup = transport.newGroup(config.ioThreads(), "vless-io");
            runtime = new ServerRuntime(config, metrics, transport, workerGroup, tls.context());
            ServerBootstrap b = new ServerBootstrap()
                    .group(bossGroup, workerGroup)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                            new WriteBufferWaterMark(config.maxUnsentBytes() / 2, config.maxUnsentBytes()))
                    .childHandler(new VlessChannelInitializer(runtime));
            transport.keepAliveOptions().forEach(b::childOption);
            b.bind(config.listenAddress()).addListener(f -> {
                if (f.isSuccess()) {
                    serverChannel = ((io.netty.channel.ChannelFuture) f).channel();
                    state = State.STARTED;
                    startStatsLog();
                    log.info("VLESS server listening on {} ({}, {}, TLS {}); at most {} connections and {} cooling "
                            + "UDP ports ({})", localAddress(), transport.name(), config.mappingPolicy(),
                            tls.description(), config.maxConnections(), config.maxCoolingSockets(), fdLimitText());
                    result.complete(this);
                } else {
                    shutdownGroups();
                    state = State.STOPPED;
                    result.completeExceptionally(new IllegalStateException(
                            "cannot listen on " + config.listenAddress() + ": " + f.cause().getMessage()
                                    + " (is the port in use, or the address not on this host?)", f.cause()));
                }
            });
        } catch (Exception e) {
            shutdownGroups();
            state = State.STOPPED;
            result.completeExceptionally(e);
        }
        return result;
    }

    /** Stops accepting, closes every connection and socket, and releases the threads. */
    public synchronized CompletableFuture<Void> stop() {
        if (state == State.STOPPED || state == State.NEW) {
            state = State.STOPPED;
            return CompletableFuture.completedFuture(null);
        }
        state = State.STOPPED;
        if (statsExecutor != null) {
            statsExecutor.shutdownNow();
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        Channel ch = serverChannel;
        Runnable rest = () -> {
            runtime.close();
            io.netty.util.concurrent.Future<?> w = workerGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS);
            io.netty.util.concurrent.Future<?> b = bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS);
            w.addListener(x -> b.addListener(y -> done.complete(null)));
        };
        if (ch != null) {
            // Client connections first, each closed by its own event loop while every loop still runs. Left to the
            // loops' shutdown, a close requested by another loop (a NAT context closing a CRUMFURS, say) could be
            // rejected by a loop already terminating, and that socket stayed open after stop() had completed.
            ch.close().addListener(f -> runtime.closeConnections().addListener(g -> rest.run()));
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

    /** The address the listener is bound to, with the actual port; {@code null} before start. */
    public InetSocketAddress localAddress() {
        Channel ch = serverChannel;
        return ch == null ? null : (InetSocketAddress) ch.localAddress();
    }

    /** The counters now. */
    public ServerStats stats() {
        return metrics.snapshot(udpDrops.total());
    }

    /** The transport in use, "io_uring", "epoll" or "nio"; {@code null} before start. */
    public String transportName() {
        return transport == null ? null : transport.name();
    }

    /**
     * The TLS engine serving connections, such as "OpenSSL BoringSSL" or "JDK" ("none" without TLS); {@code null}
     * before start.
     */
    public String tlsEngine() {
        return tls == null ? null : tls.engine();
    }

    /** The SHA-256 fingerprint of the server certificate (colon-separated hex), or {@code null} without TLS. */
    public String certificateFingerprint() {
        return tls == null ? null : tls.fingerprintSha256();
    }

    /**
     * The share link clients import for {@code user}: {@code vless://UUID@host:port?...#name}, with the listen
     * address when {@code host} is {@code null}.
     */
    public String shareLink(UUID user, String host, String name) {
        InetSocketAddress local = localAddress();
        String h = host != null ? host : NetUtil.toAddressString(local.getAddress());
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        boolean plaintext = config.tls().mode() == TlsConfig.Mode.PLAINTEXT;
        boolean selfSigned = config.tls().mode() == TlsConfig.Mode.SELF_SIGNED;
        String sni = plaintext ? null : selfSigned ? config.tls().serverName() : host;
        // A self-signed certificate is trusted by its fingerprint; a CA-issued one by the client's CAs.
        List<String> pins = selfSigned && tls.fingerprintSha256() != null
                ? List.of(tls.fingerprintSha256().replace(":", "").toUpperCase(Locale.ROOT)) : List.of();
        return new ShareLink(user, h, local.getPort(), plaintext ? ShareLink.Security.NONE : ShareLink.Security.TLS,
                sni, pins, false, name).toString();
    }

    /**
     * Once per start, so it cannot repeat: limits that need more descriptors than the process may open mean that a
     * busy server fails new sockets with "Too many open files" instead of refusing the surplus at accept.
     */
    private void warnIfOverFdLimit() {
        long limit = FdLimit.processLimit();
        long needed = FdLimit.needed(config.maxConnections(), config.maxCoolingSockets());
        if (limit > 0 && needed > limit) {
            log.warn("--max-connections {} and --max-cooling-sockets {} may need {} file descriptors (two per "
                    + "connection, one per cooling port, {} for the JVM), but this process may open {} (ulimit -n): "
                    + "raise the limit, or lower --max-connections to {} or less", config.maxConnections(),
                    config.maxCoolingSockets(), needed, FdLimit.RESERVE, limit,
                    Math.max(1, (limit - FdLimit.RESERVE - config.maxCoolingSockets()) / 2));
        }
    }

    private static String fdLimitText() {
        long limit = FdLimit.processLimit();
        return limit > 0 ? "file descriptor limit " + limit : "file descriptor limit unknown";
    }

    private void startStatsLog() {
        long ms = config.statsInterval().toMillis();
        if (ms > 0) {
            // Its own thread: reading the kernel's drop counters walks /proc, which an event loop must not wait for.
            statsExecutor = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("vless-stats", true));
            statsExecutor.scheduleAtFixedRate(() -> log.info("stats: {}", stats().format()), ms, ms,
                    TimeUnit.MILLISECONDS);
        }
    }

    private void shutdownGroups() {
        if (runtime != null) {
            runtime.close();
        }
        if (workerGroup != null) {
            workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (bossGroup != null) {
            bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
