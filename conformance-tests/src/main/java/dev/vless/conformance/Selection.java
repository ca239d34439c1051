// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.spec.SpecRule;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which cases to run: by rule ID ({@code HDR-3}), by rule area ({@code NAT} = every NAT rule), or by group
 * ({@code crumfurs}, {@code bad-input}, ...). Empty means all.
 *
 * @param tags the JUnit tags to include; empty for all
 */
public record Selection(Set<String> tags) {

    /** The groups cases are tagged with. */
    public static final List<String> GROUPS = List.of("header", "relay", "udp", "crumfurs", "nat", "full-cone",
            "bad-input", "lifetime", "limits", "mux", "tls", "delivery");

    /** Everything. */
    public static Selection all() {
        return new Selection(Set.of());
    }

    /**
     * Parses a comma-separated list of rule IDs, areas and groups.
     *
     * @throws IllegalArgumentException for a word that is none of them
     */
    public static Selection parse(String text) {
        Set<String> tags = new LinkedHashSet<>();
        if (text == null || text.isBlank()) {
            return all();
        }
        for (String raw : text.split(",")) {
            String w = raw.trim();
            if (w.isEmpty()) {
                continue;
            }
            if (SpecRule.byId(w).isPresent()) {
                tags.add(SpecRule.byId(w).get().id());
                continue;
            }
            String area = w.toUpperCase(Locale.ROOT);
            List<String> inArea = new ArrayList<>();
            for (SpecRule r : SpecRule.values()) {
                if (r.id().startsWith(area + "-")) {
                    inArea.add(r.id());
                }
            }
            if (!inArea.isEmpty()) {
                tags.addAll(inArea);
                // "nat" is both a rule area and a group: take both, or the group's untagged cases would be lost.
                if (GROUPS.contains(w.toLowerCase(Locale.ROOT))) {
                    tags.add(w.toLowerCase(Locale.ROOT));
                }
                continue;
            }
            if (GROUPS.contains(w.toLowerCase(Locale.ROOT))) {
                tags.add(w.toLowerCase(Locale.ROOT));
                continue;
            }
            throw new IllegalArgumentException("'" + w + "' is not a rule ID, rule area or group (expected: e.g. "
                    + "HDR-3, NAT, or one of " + GROUPS + ")");
        }
        return new Selection(Set.copyOf(tags));
    }
}
