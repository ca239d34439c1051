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

    private final List<Map.Entry<Pattern, String>> replacements = new ArrayList<>();

    private Redaction(List<UUID> users) {
        int n = 0;
        for (UUID u : users) {
            if (u == null) {
                continue;
            }
            String name = Matcher.quoteReplacement("<user-" + (++n) + ">");
            String text = u.toString();
            replacements.add(Map.entry(Pattern.compile(Pattern.quote(text), Pattern.CASE_INSENSITIVE), name));
            replacements.add(Map.entry(Pattern.compile(Pattern.quote(text.replace("-", "")),
                    Pattern.CASE_INSENSITIVE), name));
        }
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
        return out;
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
