package dev.vless.server.nat;

import dev.vless.server.internal.ServerMetrics;
import dev.vless.server.internal.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * The server's NAT contexts, keyed by user and client IP (NAT-1). A context is created on first use, pinned to one
 * event loop, and removed by itself once it has nothing left.
 */
public final class NatTable implements AutoCloseable {

    /** A context's key: the UUID and the client IP as the server sees it. */
    public record Key(UUID user, InetAddress clientIp) {
        @Override
        public String toString() {
            return user + "@" + NetUtil.toAddressString(clientIp);
        }
    }

    private final NatSettings settings;
    private final ServerMetrics metrics;
    private final Transport transport;
    private final EventLoopGroup group;
    private final Map<Key, NatContext> contexts = new HashMap<>();
    private final Map<UUID, Integer> perUser = new HashMap<>();

    /** A table whose contexts live on {@code group}'s loops. */
    public NatTable(NatSettings settings, ServerMetrics metrics, Transport transport, EventLoopGroup group) {
        this.settings = settings;
        this.metrics = metrics;
        this.transport = transport;
        this.group = group;
    }

    /**
     * Runs {@code action} on the context of {@code user} at {@code clientIp}, on the context's event loop, creating
     * the context if needed; runs {@code refused} (on the caller's thread) when the user already has the most
     * contexts allowed.
     */
    public void withContext(UUID user, InetAddress clientIp, Consumer<NatContext> action, Runnable refused) {
        Key key = new Key(user, dev.vless.codec.VlessAddress.canonical(clientIp));
        NatContext ctx;
        synchronized (this) {
            ctx = contexts.get(key);
            if (ctx == null) {
                int n = perUser.getOrDefault(user, 0);
                if (n >= settings.maxContextsPerUser()) {
                    ctx = null;
                } else {
                    ctx = new NatContext(this, key, group.next(), settings, metrics, transport);
                    contexts.put(key, ctx);
                    perUser.put(user, n + 1);
                    metrics.liveContexts.increment();
                }
            }
        }
        if (ctx == null) {
            refused.run();
            return;
        }
        NatContext c = ctx;
        c.executor().execute(() -> {
            if (c.isClosed()) {
                withContext(user, clientIp, action, refused); // it emptied and left just now: start a fresh one
            } else {
                action.accept(c);
            }
        });
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
