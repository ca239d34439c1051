// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Takes the target's user IDs out of everything the suite prints or writes. A VLESS user ID is the password of its
 * user, and reports are made to be attached to public bug reports: each ID becomes {@code <user-1>} / {@code <user-2>},
 * in its text form (links, messages) and in the hex of the wire log (every request header carries it).
 */
public final class Redaction implements UnaryOperator<String> {

    /** Keeps everything ({@code --show-secrets}). */
    public static final Redaction NONE = new Redaction(List.of());

    /** The shortest piece of an ID's hex that is redacted on its own: 4 bytes, never a coincidence in practice. */
    private static final int MIN_PIECE = 8;

    private final List<Map.Entry<Pattern, String>> replacements = new ArrayList<>();
    /** Each ID's 32 hex digits, lower case, and the name that replaces it. */
    private final List<Map.Entry<String, String>> hexIds = new ArrayList<>();

    private Redaction(List<UUID> users) {
        int n = 0;
        for (UUID u : users) {
            if (u == null) {
                continue;
            }
            String plain = "<user-" + (++n) + ">";
            String name = Matcher.quoteReplacement(plain);
            String text = u.toString();
            replacements.add(Map.entry(Pattern.compile(Pattern.quote(text), Pattern.CASE_INSENSITIVE), name));
            hexIds.add(Map.entry(text.replace("-", ""), plain));
        }
    }

    /**
     * Replaces every run of at least {@link #MIN_PIECE} hex digits that is a piece of an ID's hex: a header split
     * over several writes, or one whose ID a bad-input case altered in one byte, shows most of the ID in the wire log.
     */
    private String redactHex(String s) {
        StringBuilder out = null;
        int copied = 0;
        String lower = s.toLowerCase(java.util.Locale.ROOT);
        int i = 0;
        while (i + MIN_PIECE <= lower.length()) {
            int best = 0;
            String bestName = null;
            for (Map.Entry<String, String> id : hexIds) {
                String hex = id.getKey();
                for (int at = hex.indexOf(lower.substring(i, i + MIN_PIECE)); at >= 0;
                        at = hex.indexOf(lower.substring(i, i + MIN_PIECE), at + 1)) {
                    int len = 0;
                    while (at + len < hex.length() && i + len < lower.length() && hex.charAt(at + len) == lower
                            .charAt(i + len)) {
                        len++;
                    }
                    if (len > best) {
                        best = len;
                        bestName = id.getValue();
                    }
                }
            }
            if (best >= MIN_PIECE) {
                if (out == null) {
                    out = new StringBuilder(s.length());
                }
                out.append(s, copied, i).append(bestName);
                i += best;
                copied = i;
            } else {
                i++;
            }
        }
        if (out == null) {
            return s;
        }
        return out.append(s, copied, s.length()).toString();
    }

    /** Replaces {@code users} (nulls ignored) wherever they appear. */
    public static Redaction of(UUID... users) {
        return new Redaction(java.util.Arrays.asList(users));
    }

    @Override
    public String apply(String s) {
        if (s == null || replacements.isEmpty()) {
            return s;
        }
        String out = s;
        for (Map.Entry<Pattern, String> r : replacements) {
            out = r.getKey().matcher(out).replaceAll(r.getValue());
        }
        return redactHex(out);
    }

    /** The report with every string redacted. */
    public Report apply(Report r) {
        if (replacements.isEmpty()) {
            return r;
        }
        List<Report.RootCause> causes = r.rootCauses().stream().map(c -> new Report.RootCause(c.rule(),
                apply(c.summary()), list(c.failedCases()), list(c.blockedCases()), c.blockedRules(), c.reproduce()))
                .toList();
        List<Report.RuleResult> rules = r.rules().stream().map(x -> new Report.RuleResult(x.id(), x.level(), x.party(),
                x.section(), x.requirement(), x.verdict(), apply(x.note()), list(x.cases()))).toList();
        List<Report.CaseResult> cases = r.cases().stream().map(c -> new Report.CaseResult(c.id(),
                apply(c.displayName()), c.rules(), c.level(), c.verdict(), apply(c.message()), c.durationMs(),
                map(c.facts()), list(c.evidence()), c.order(), c.startMs(), c.blockedBy())).toList();
        return new Report(r.schema(), r.suiteVersion(), apply(r.target()), r.profile(), r.policy(), r.startedAt(),
                r.durationMs(), r.passed(), r.summary(), map(r.classification()), causes, list(r.events()),
                apply(r.unchecked()), rules, cases);
    }

    private List<String> list(List<String> in) {
        return in.stream().map(this::apply).toList();
    }

    private Map<String, String> map(Map<String, String> in) {
        Map<String, String> out = new LinkedHashMap<>();
        in.forEach((k, v) -> out.put(k, apply(v)));
        return out;
    }
}
