// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.server.VlessServerConfig;
import dev.vless.server.internal.CoolingSockets;
import dev.vless.server.internal.Resolver;
import dev.vless.server.internal.ServerMetrics;
import dev.vless.server.internal.Transport;
import dev.vless.server.internal.UserRegistry;
import dev.vless.server.internal.V0UdpBudget;
import dev.vless.server.nat.NatSettings;
import dev.vless.server.nat.NatTable;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.ChannelGroupFuture;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.concurrent.atomic.AtomicLong;

/** What every connection's handlers share: configuration, counters, users, the NAT table, the resolver. */
public final class ServerRuntime implements AutoCloseable {

    final VlessServerConfig config;
    final ServerMetrics metrics;
    final Transport transport;
    final SslContext sslContext;
    final UserRegistry users;
    final Resolver resolver = new Resolver();
    final NatTable nat;
    /** Released UDP ports in their cool-down, v1 and v0 alike, capped server-wide and per user (LIF-7). */
    final CoolingSockets coolingSockets;
    /** v0 UDP sockets per user and client IP: v0 is in no NAT context, so no context limit bounds it. */
    final V0UdpBudget v0Budget;
    /** Orders command-2 connections by the moment their header completed (DLV-1). */
    final AtomicLong udpSequence = new AtomicLong();
    /** The operator's lines (refused destinations, unknown users, TLS failures), rate-limited per server. */
    final OperatorLog operatorLog = new OperatorLog();
    /** Every open client connection, so that stopping can close them while their event loops still run. */
    final ChannelGroup connections = new DefaultChannelGroup("vless-connections", GlobalEventExecutor.INSTANCE);

    /** Creates the shared state of a server. */
    public ServerRuntime(VlessServerConfig config, ServerMetrics metrics, Transport transport, EventLoopGroup workers,
            SslContext sslContext) {
        this.config = config;
        this.metrics = metrics;
        this.transport = transport;
        this.sslContext = sslContext;
        this.users = new UserRegistry(config.users());
        this.coolingSockets = new CoolingSockets(config.maxCoolingSockets(), config.maxCoolingSocketsPerUser(),
                metrics);
        this.v0Budget = new V0UdpBudget(config.maxV0UdpSocketsPerClientIp(), config.maxV0UdpSocketsPerUser());
        this.nat = new NatTable(NatSettings.of(config), metrics, transport, workers, coolingSockets);
    }

    /** Closes every client connection; the future completes once all are closed. */
    public ChannelGroupFuture closeConnections() {
        return connections.close();
    }

    /** Closes the NAT table and the resolver. */
    @Override
    public void close() {
        nat.close();
        coolingSockets.closeAll();
        resolver.close();
    }
}
