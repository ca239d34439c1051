// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class UserRegistryTest {

    static final UUID ALICE = UUID.fromString("a684455c-b14f-11ea-bf0d-42010aaa0003");

    @Test
    @DisplayName("HDR-3 · finds every registered user and no other")
    void findsRegisteredUsersOnly() {
        Set<UUID> users = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            users.add(UUID.randomUUID());
        }
        UserRegistry registry = new UserRegistry(users);
        for (UUID u : users) {
            assertThat(registry.contains(u)).isTrue();
        }
        for (int i = 0; i < 100; i++) {
            assertThat(registry.contains(UUID.randomUUID())).isFalse();
        }
    }

    @Test
    @DisplayName("HDR-3 · a UUID differing in any single bit is not a user")
    void everySingleBitMatters() {
        UserRegistry registry = new UserRegistry(Set.of(ALICE));
        assertThat(registry.contains(ALICE)).isTrue();
        for (int bit = 0; bit < 128; bit++) {
            long msb = ALICE.getMostSignificantBits() ^ (bit < 64 ? 1L << bit : 0);
            long lsb = ALICE.getLeastSignificantBits() ^ (bit >= 64 ? 1L << (bit - 64) : 0);
            assertThat(registry.contains(new UUID(msb, lsb))).as("bit %d flipped", bit).isFalse();
        }
    }

    @Test
    void emptyRegistryContainsNobody() {
        assertThat(new UserRegistry(Set.of()).contains(ALICE)).isFalse();
    }
}
