// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import dev.vless.server.Limit;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts every time a limit is enforced and tells the operator, at most one line per limit every ten seconds, through
 * the same logger as the other operator lines ({@code dev.vless.server.relay.OperatorLog}) and at the same level, INFO:
 * a client causes these, so they must not raise the server's warnings. Cheap on the hot path: a counter increment, and
 * a line built only when one is written.
 */
public final class LimitEvents {

    private static final Logger log = LoggerFactory.getLogger("dev.vless.server.relay.OperatorLog");
    private static final Duration INTERVAL = Duration.ofSeconds(10);

    private final Map<Limit, LongAdder> counts = new EnumMap<>(Limit.class);
    private final Map<Limit, LogLimiter> limiters = new EnumMap<>(Limit.class);

    public LimitEvents() {
        for (Limit l : Limit.values()) {
            counts.put(l, new LongAdder());
            limiters.put(l, new LogLimiter(INTERVAL));
        }
    }

    /**
     * Records one enforcement of {@code limit} for {@code client}, the limit being {@code value}. Allocates nothing
     * unless a line is written (entry eviction can happen on every datagram of a full table).
     */
    public void hit(Limit limit, java.net.InetAddress client, int value) {
        counts.get(limit).increment();
        if (!log.isInfoEnabled()) {
            return;
        }
        long heldBack = limiters.get(limit).tryAcquire();
        if (heldBack < 0) {
            return;
        }
        String line = line(limit, client == null ? "?" : client.getHostAddress(), value);
        log.info(LogLimiter.withHeldBack(line, heldBack));
    }

    /** The line for one enforcement. */
    static String line(Limit limit, String client, int value) {
        String done = switch (limit) {
            case CONNECTIONS -> "refused a connection from " + client;
            case UDP_CONNECTIONS_PER_CONTEXT -> "closed the least recently active UDP connection of client " + client;
            case TABLE_ENTRIES -> "evicted the least recently used mapping entry of client " + client;
            case SOCKETS_PER_CONTEXT -> "sent from an existing socket of client " + client + " instead of a new one";
            case CONTEXTS_PER_USER -> "refused a UDP, CRUMFURS or MUX request from client " + client;
            case MUX_CONNECTIONS_PER_CONTEXT -> "closed the least recently active MUX connection of client " + client;
            case MUX_NEW_DESTINATIONS -> "dropped a MUX frame of client " + client + " to a new destination";
        };
        return "limit reached: " + done + " (" + limit.what() + ": " + value + ", " + limit.option() + "); raise "
                + limit.option() + " if clients need more";
    }

    /** The counts so far. */
    public Map<Limit, Long> snapshot() {
        Map<Limit, Long> out = new EnumMap<>(Limit.class);
        counts.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
