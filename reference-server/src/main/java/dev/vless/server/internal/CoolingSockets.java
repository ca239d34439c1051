// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Every released UDP port still bound for its cool-down (LIF-7), server-wide. Cool-down exists so that a late
 * datagram never reaches the next owner of a port; it is worth less than service. Each cooling port holds a file
 * descriptor, so a client opening and closing UDP connections fast could otherwise hold thousands; beyond a cap the
 * oldest cooling port, which has waited longest and is least likely to get a late datagram, is closed early and
 * counted, rather than any new request being refused. A user's own cap is checked first, so one user's churn ends
 * its own cool-downs early before anyone else's.
 *
 * <p>Called from any event loop; the lists are guarded by this object, and every close happens outside the lock.
 */
public final class CoolingSockets {

    private static final class Cooling {
        final Channel channel;
        final UUID user;
        ScheduledFuture<?> timer; // the channel's loop only

        Cooling(Channel channel, UUID user) {
            this.channel = channel;
            this.user = user;
        }
    }

    private final int max;
    private final int maxPerUser;
    private final ServerMetrics metrics;
    /** Oldest first. */
    private final LinkedHashMap<Channel, Cooling> all = new LinkedHashMap<>();
    private final Map<UUID, LinkedHashMap<Channel, Cooling>> byUser = new HashMap<>();

    /** At most {@code max} cooling ports, {@code maxPerUser} of one user. */
    public CoolingSockets(int max, int maxPerUser, ServerMetrics metrics) {
        this.max = max;
        this.maxPerUser = maxPerUser;
        this.metrics = metrics;
    }

    /**
     * Keeps {@code socket} bound, its handler discarding what arrives, for {@code coolDownNanos}, then closes it; zero,
     * or a socket already closed, closes it at once. Call on the socket's event loop.
     */
    public void coolDown(Channel socket, UUID user, long coolDownNanos) {
        if (coolDownNanos <= 0 || !socket.isActive()) {
            socket.close();
            return;
        }
        Cooling c = new Cooling(socket, user);
        List<Channel> early = new ArrayList<>();
        synchronized (this) {
            // Room first, then the new one: the count (read without this lock) never shows more than the caps.
            LinkedHashMap<Channel, Cooling> mine = byUser.get(user);
            while (mine != null && mine.size() >= maxPerUser) {
                early.add(removeLocked(mine.keySet().iterator().next()));
                mine = byUser.get(user); // gone once its last port is
            }
            while (all.size() >= max) {
                early.add(removeLocked(all.keySet().iterator().next()));
            }
            all.put(socket, c);
            metrics.coolingSockets.increment();
            byUser.computeIfAbsent(user, u -> new LinkedHashMap<>()).put(socket, c);
        }
        c.timer = socket.eventLoop().schedule(() -> {
            forget(socket);
            socket.close();
        }, coolDownNanos, TimeUnit.NANOSECONDS);
        socket.closeFuture().addListener(f -> {
            forget(socket);
            c.timer.cancel(false); // closed early or at shutdown: no task left waiting out the cool-down
        });
        for (Channel ch : early) {
            metrics.coolDownReleasedEarly.increment();
            ch.close(); // runs on its own loop; its close listener finds it already forgotten
        }
    }

    /** Cooling ports now. */
    public synchronized int size() {
        return all.size();
    }

    /** Cooling ports of {@code user} now. */
    public synchronized int size(UUID user) {
        Map<Channel, Cooling> mine = byUser.get(user);
        return mine == null ? 0 : mine.size();
    }

    /** Closes every cooling port at once: server shutdown has no cool-down. */
    public void closeAll() {
        List<Channel> channels;
        synchronized (this) {
            channels = new ArrayList<>(all.keySet());
        }
        channels.forEach(Channel::close);
    }

    private synchronized void forget(Channel socket) {
        if (all.containsKey(socket)) {
            removeLocked(socket);
        }
    }

    private Channel removeLocked(Channel socket) {
        Cooling c = all.remove(socket);
        metrics.coolingSockets.decrement();
        Map<Channel, Cooling> mine = byUser.get(c.user);
        mine.remove(socket);
        if (mine.isEmpty()) {
            byUser.remove(c.user);
        }
        return socket;
    }
}
