// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * How many v0 UDP sockets each (user, client IP) and each user holds open. A v0 command-2 connection has a socket of
 * its own and is in no NAT context, so no per-context limit (LIM-1) touched it: one client could open sockets until
 * the process ran out of file descriptors and every other user's connections failed. v0 gets the bound a v1 user
 * already has: as many sockets per client IP as a context may hold ({@code --max-sockets-per-context}), and as many
 * per user as its contexts may hold together ({@code × --max-contexts-per-user}). Beyond it that one request is
 * refused; nothing already open is touched. Thread-safe.
 */
public final class V0UdpBudget {

    /** Why a request was refused, for the operator's line. */
    public enum Refusal {
        PER_CLIENT_IP, PER_USER
    }

    private record Key(UUID user, InetAddress clientIp) {
    }

    private final int perClientIp;
    private final int perUser;
    private final Map<Key, Integer> byClient = new HashMap<>();
    private final Map<UUID, Integer> byUser = new HashMap<>();

    /** A budget of {@code perClientIp} sockets per (user, client IP) and {@code perUser} per user. */
    public V0UdpBudget(int perClientIp, int perUser) {
        this.perClientIp = perClientIp;
        this.perUser = perUser;
    }

    /** The per-client-IP limit. */
    public int perClientIp() {
        return perClientIp;
    }

    /** The per-user limit. */
    public int perUser() {
        return perUser;
    }

    /**
     * Takes one socket from the budget.
     *
     * @return {@code null} when taken (give it back with {@link #release}), else why not
     */
    public synchronized Refusal tryAcquire(UUID user, InetAddress clientIp) {
        Key k = new Key(user, clientIp);
        int c = byClient.getOrDefault(k, 0);
        if (c >= perClientIp) {
            return Refusal.PER_CLIENT_IP;
        }
        int u = byUser.getOrDefault(user, 0);
        if (u >= perUser) {
            return Refusal.PER_USER;
        }
        byClient.put(k, c + 1);
        byUser.put(user, u + 1);
        return null;
    }

    /** Gives back a socket taken by {@link #tryAcquire}. */
    public synchronized void release(UUID user, InetAddress clientIp) {
        byClient.computeIfPresent(new Key(user, clientIp), (k, n) -> n <= 1 ? null : n - 1);
        byUser.computeIfPresent(user, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** Sockets held now by {@code user}. */
    public synchronized int held(UUID user) {
        return byUser.getOrDefault(user, 0);
    }
}
