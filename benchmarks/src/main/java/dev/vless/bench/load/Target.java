// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.codec.VlessVersion;
import dev.vless.link.ShareLink;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * What a workload talks to: the peers themselves (the direct path), or a VLESS server given by its share link and
 * the protocol version to speak, with the server's process ID when its CPU time can be read.
 *
 * @param server    the name in reports without the variant (TLS, users), such as {@code reference v1 [epoll]}
 * @param link      the server's link; {@code null} for the direct path
 * @param version   the VLESS version the client speaks; {@code null} for the direct path
 * @param pid       the server process, or -1 when it is not on this host or unknown
 * @param directTls for the direct path: whether it talks TLS to the peer (as a TLS proxy connection would)
 * @param mux       whether UDP goes over UDP-MUX connections (command 5) rather than one command-2 connection per remote
 * @param users     the users a UDP workload's flows are spread over (flow i: user i modulo their number); empty for
 *                  the link's user alone, without naming a user count in the report
 */
record Target(String server, ShareLink link, VlessVersion version, long pid, boolean directTls, boolean mux,
        List<UUID> users) {

    Target {
        users = List.copyOf(users);
    }

    static Target direct(boolean tls) {
        return new Target("direct", null, null, -1, tls, false, List.of());
    }

    static Target vless(String server, ShareLink link, VlessVersion version, long pid) {
        return new Target(server, link, version, pid, false, false, List.of());
    }

    /** The same server with UDP over UDP-MUX (v1 only), named {@code server}. */
    Target withMux(String server) {
        if (version != VlessVersion.V1) {
            throw new IllegalArgumentException("UDP-MUX is a v1 command (expected: a v1 target, not " + version + ")");
        }
        return new Target(server, link, version, pid, false, true, users);
    }

    /** The same server with a UDP workload's flows spread over {@code users} (each a NAT context of its own). */
    Target withUsers(List<UUID> users) {
        if (link == null) {
            throw new IllegalArgumentException("the direct path has no users");
        }
        return new Target(server, link, version, pid, directTls, mux, users);
    }

    /** The name in reports: the server, then its variant, such as {@code reference v1, 16 users (TLS)}. */
    String name() {
        return server + (users.isEmpty() ? "" : ", " + usersLabel()) + (tls() ? " (TLS)" : "");
    }

    /** What this target varies that another server's target can vary too, for comparing like with like. */
    String variant() {
        List<String> parts = new ArrayList<>();
        if (!users.isEmpty()) {
            parts.add(usersLabel());
        }
        if (tls()) {
            parts.add("TLS");
        }
        return String.join(", ", parts);
    }

    /** The user flow {@code flow} speaks as. */
    UUID userFor(int flow) {
        return users.isEmpty() ? link.user() : users.get(flow % users.size());
    }

    /** The distinct users the flows speak as, in order. */
    List<UUID> distinctUsers() {
        return users.isEmpty() ? List.of(link.user()) : users;
    }

    boolean isDirect() {
        return link == null;
    }

    boolean tls() {
        return link != null ? link.tls() : directTls;
    }

    private String usersLabel() {
        return users.size() + (users.size() == 1 ? " user" : " users");
    }
}
