// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

/**
 * A limit the server enforced (LIM-1), each counted in {@link ServerStats#limits()} and reported by a rate-limited line
 * at INFO that names the option raising it. Drops of datagrams at the memory caps are {@link DropReason}s; refusals of
 * v0 UDP sockets and of sockets that could not be created have counters of their own in {@link ServerStats}.
 */
public enum Limit {
    /** A client connection closed at accept: the server holds {@code --max-connections}. */
    CONNECTIONS("--max-connections", "client connections"),
    /** A command-2 connection closed, the least recently active of a context past {@code --max-udp-connections-per-context}. */
    UDP_CONNECTIONS_PER_CONTEXT("--max-udp-connections-per-context", "UDP connections in one NAT context"),
    /** A dialed or heard entry evicted, the least recently used of a context past {@code --max-table-entries}. */
    TABLE_ENTRIES("--max-table-entries", "dialed and heard entries in one NAT context"),
    /**
     * A per-destination context at {@code --max-sockets-per-context} sent to a new destination from its existing
     * socket instead of a new one.
     */
    SOCKETS_PER_CONTEXT("--max-sockets-per-context", "UDP sockets in one NAT context"),
    /** A request of a user that already has {@code --max-contexts-per-user} NAT contexts refused. */
    CONTEXTS_PER_USER("--max-contexts-per-user", "NAT contexts of one user"),
    /** A MUX connection closed, the least recently active of a context past {@code --max-mux-per-context}. */
    MUX_CONNECTIONS_PER_CONTEXT("--max-mux-per-context", "MUX connections in one NAT context"),
    /** A MUX frame to a new destination dropped: its context added {@code --mux-new-destinations-per-second}. */
    MUX_NEW_DESTINATIONS("--mux-new-destinations-per-second", "new destinations per second of one NAT context");

    private final String option;
    private final String what;

    Limit(String option, String what) {
        this.option = option;
        this.what = what;
    }

    /** The command-line option that raises the limit. */
    public String option() {
        return option;
    }

    /** What the limit bounds, for log lines. */
    public String what() {
        return what;
    }

    /** The name in the stats line: {@code udp-connections-per-context}. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
