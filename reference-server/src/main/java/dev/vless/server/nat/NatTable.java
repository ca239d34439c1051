// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import dev.vless.server.internal.CoolingSockets;
import dev.vless.server.internal.ServerMetrics;
import dev.vless.server.internal.Transport;
import dev.vless.server.internal.UserRegistry;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * The server's NAT contexts, keyed by user and client IP (NAT-1). A context is created on first use, pinned to the
 * event loop its key hashes to, and removed by itself once it has nothing left.
 */
public final class NatTable implements AutoCloseable {

    /** A context's key: the UUID and the client IP as the server sees it. */
    public record Key(UUID user, InetAddress clientIp) {
        /** Such as {@code a684455c…@127.0.0.1}: this goes into log lines, and a user ID is a password. */
        @Override
        public String toString() {
            return UserRegistry.shortId(user) + "…@" + NetUtil.toAddressString(clientIp);
        }
    }

    private final NatSettings settings;
    private final ServerMetrics metrics;
    private final Transport transport;
    private final CoolingSockets coolingSockets;
    /** The group's loops, indexed by a context key's hash: a context's loop is a function of its key. */
    private final EventLoop[] loops;
    private final Map<Key, NatContext> contexts = new HashMap<>();
    private final Map<UUID, Integer> perUser = new HashMap<>();

    /** A table whose contexts live on {@code group}'s loops. */
    public NatTable(NatSettings settings, ServerMetrics metrics, Transport transport, EventLoopGroup group,
            CoolingSockets coolingSockets) {
        this.settings = settings;
        this.coolingSockets = coolingSockets;
        this.metrics = metrics;
        this.transport = transport;
        List<EventLoop> all = new ArrayList<>();
        for (EventExecutor e : group) {
            all.add((EventLoop) e);
        }
        this.loops = all.toArray(new EventLoop[0]);
    }

    /**
     * The event loop of the context of {@code user} at {@code clientIp}, existing or not yet created. Its connections
     * move there (see {@link dev.vless.server.internal.ChannelMove}) so that a datagram never changes threads between
     * a connection and the context's sockets; one client's UDP is then served by one thread, and many clients are
     * spread over all of them.
     */
    public EventLoop loopFor(UUID user, InetAddress clientIp) {
        return loopFor(key(user, clientIp));
    }

    private EventLoop loopFor(Key key) {
        int h = key.hashCode();
        h ^= h >>> 16;
        return loops[Math.floorMod(h, loops.length)];
    }

    private static Key key(UUID user, InetAddress clientIp) {
        return new Key(user, dev.vless.codec.VlessAddress.canonical(clientIp));
    }

    /**
     * Runs {@code action} on the context of {@code user} at {@code clientIp}, on the context's event loop (at once
     * when called there), creating the context if needed; runs {@code refused} (on the caller's thread) when the user already has the most
     * contexts allowed.
     */
    public void withContext(UUID user, InetAddress clientIp, Consumer<NatContext> action, Runnable refused) {
        Key key = key(user, clientIp);
        NatContext ctx;
        synchronized (this) {
            ctx = contexts.get(key);
            if (ctx == null) {
                int n = perUser.getOrDefault(user, 0);
                if (n >= settings.maxContextsPerUser()) {
                    ctx = null;
                } else {
                    ctx = new NatContext(this, key, loopFor(key), settings, metrics, transport, coolingSockets);
                    contexts.put(key, ctx);
                    perUser.put(user, n + 1);
                    metrics.liveContexts.increment();
                }
            }
        }
        if (ctx == null) {
            metrics.limits.hit(dev.vless.server.Limit.CONTEXTS_PER_USER, clientIp, settings.maxContextsPerUser());
            refused.run();
            return;
        }
        NatContext c = ctx;
        Runnable run = () -> {
            if (c.isClosed()) {
                withContext(user, clientIp, action, refused); // it emptied and left just now: start a fresh one
            } else {
                action.accept(c);
            }
        };
        if (c.executor().inEventLoop()) {
            run.run();
        } else {
            c.executor().execute(run);
        }
    }

    synchronized void removed(Key key, NatContext ctx) {
        if (contexts.remove(key, ctx)) {
            metrics.liveContexts.decrement();
            int n = perUser.getOrDefault(key.user(), 1) - 1;
            if (n <= 0) {
                perUser.remove(key.user());
            } else {
                perUser.put(key.user(), n);
            }
        }
    }

    /** The number of live contexts. */
    public synchronized int size() {
        return contexts.size();
    }

    /** Closes every context and socket. */
    @Override
    public void close() {
        List<NatContext> all;
        synchronized (this) {
            all = new ArrayList<>(contexts.values());
        }
        for (NatContext c : all) {
            if (!c.executor().isShuttingDown()) {
                c.executor().execute(c::shutdown);
            }
        }
    }
}
