// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import java.security.MessageDigest;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/** The server's users, matched in constant time (HDR-4) so response timing cannot tell how close a guess was. */
public final class UserRegistry {

    private final List<byte[]> users;

    /** A registry of these users. */
    public UserRegistry(Set<UUID> users) {
        this.users = users.stream().map(UserRegistry::bytes).toList();
    }

    /** Whether {@code candidate} is a user; compares against every user in full, whatever matches. */
    public boolean contains(UUID candidate) {
        byte[] c = bytes(candidate);
        boolean found = false;
        for (byte[] u : users) {
            found |= MessageDigest.isEqual(u, c);
        }
        return found;
    }

    /**
     * The first 8 hex digits of a user ID: all of it a log line may show. A user ID is the user's password; 32 bits
     * are enough to tell users apart in a log and useless for guessing the other 96.
     */
    public static String shortId(UUID id) {
        return id.toString().substring(0, 8);
    }

    private static byte[] bytes(UUID id) {
        return ByteBuffer.allocate(16).putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits())
                .array();
    }
}
