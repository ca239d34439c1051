// SPDX-License-Identifier: Apache-2.0
package dev.vless.spec;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.stream.Collectors.groupingBy;
import static java.util.stream.Collectors.mapping;
import static java.util.stream.Collectors.toList;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.ProtocolError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Keeps {@code spec/VLESS.md} and {@link SpecRule} in step: the document is the normative text, the enum is what the
 * code, the vectors and the conformance suite refer to, and neither may drift from the other.
 */
class SpecDocumentTest {

    // Surefire runs with the module directory as working directory, so this is spec/VLESS.md.
    private static final Path DOCUMENT = Path.of("VLESS.md");

    /** {@code - <a id="hdr-3"></a>**HDR-3** · MUST · server — sentence}. */
    private static final Pattern RULE_LINE = Pattern.compile(
            "^- <a id=\"([^\"]*)\"></a>\\*\\*([A-Z]+-\\d+)\\*\\* · (\\S+) · (\\S+) — (.+)$");
    /** Anything that looks like an attempt at a rule line, so that a malformed one cannot hide from the checks. */
    private static final Pattern RULE_LIKE = Pattern.compile(
            "^\\s*[-*+]\\s.*(<a id=\"[a-z]+-\\d+\"|\\*\\*[A-Z]{2,}-\\d+\\*\\*\\s*·)");
    private static final Pattern SECTION_HEADING = Pattern.compile("^## (?:(\\d+)\\. )?(.+)$");
    private static final Pattern RULE_ID = Pattern.compile("([A-Z]+)-(\\d+)");
    private static final Pattern RULE_LINK = Pattern.compile("\\]\\(#([a-z]+-\\d+)\\)");
    private static final Pattern KEYWORD = Pattern.compile(
            "\\b(MUST|SHALL|SHOULD|MAY|REQUIRED|RECOMMENDED|OPTIONAL)\\b");
    private static final Pattern CODE_SPAN = Pattern.compile("`[^`]*`");
    /** The section that defines the requirement words and therefore has to spell them out. */
    private static final String CONVENTIONS_SECTION = "2";

    private static Document doc;

    @BeforeAll
    static void readDocument() throws IOException {
        assertThat(DOCUMENT).as("the specification, relative to %s", Path.of("").toAbsolutePath()).isRegularFile();
        doc = Document.parse(Files.readAllLines(DOCUMENT, UTF_8));
    }

    @Test
    void statesEveryRuleExactlyOnce() {
        Map<SpecRule, List<RuleLine>> byRule = new EnumMap<>(SpecRule.class);
        for (RuleLine line : doc.rules) {
            SpecRule.byId(line.id).ifPresent(rule -> byRule.computeIfAbsent(rule, r -> new ArrayList<>()).add(line));
        }
        List<String> problems = new ArrayList<>();
        for (SpecRule rule : SpecRule.values()) {
            List<RuleLine> lines = byRule.getOrDefault(rule, List.of());
            if (lines.isEmpty()) {
                problems.add(rule + ": missing from VLESS.md (expected in section " + rule.section() + ")");
            } else if (lines.size() > 1) {
                problems.add(rule + ": stated " + lines.size() + " times, on lines "
                        + lines.stream().map(l -> String.valueOf(l.lineNumber)).collect(toList()));
            }
        }
        assertThat(problems).withFailMessage(() -> report("rules not stated exactly once", problems)).isEmpty();
    }

    @Test
    void statesEveryRuleAsTheRegistryDoes() {
        List<String> problems = new ArrayList<>();
        for (RuleLine line : doc.rules) {
            SpecRule rule = SpecRule.byId(line.id).orElse(null);
            if (rule == null) {
                continue; // reported by documentHasNoRuleTheRegistryLacks
            }
            String where = rule + " (line " + line.lineNumber + "): ";
            if (!line.id.equals(rule.id())) {
                problems.add(where + "ID written \"" + line.id + "\" (expected: \"" + rule.id() + "\")");
            }
            if (!line.anchor.equals(rule.anchor())) {
                problems.add(where + "anchor \"" + line.anchor + "\" (expected: \"" + rule.anchor() + "\")");
            }
            if (!line.level.equals(rule.level().name())) {
                problems.add(where + "level " + line.level + " (expected: " + rule.level() + ")");
            }
            String party = rule.party().name().toLowerCase(Locale.ROOT);
            if (!line.party.equals(party)) {
                problems.add(where + "party " + line.party + " (expected: " + party + ")");
            }
            if (!line.sentence.equals(rule.requirement())) {
                problems.add(where + sentenceDifference(line.sentence, rule.requirement()));
            }
        }
        assertThat(problems).withFailMessage(() -> report("rule lines that differ from SpecRule", problems)).isEmpty();
    }

    @Test
    void placesEveryRuleUnderTheHeadingOfItsSection() {
        List<String> problems = new ArrayList<>();
        for (RuleLine line : doc.rules) {
            SpecRule.byId(line.id).ifPresent(rule -> {
                if (!rule.section().equals(line.section)) {
                    problems.add(rule + " (line " + line.lineNumber + "): under section "
                            + (line.section == null ? "<no numbered section>" : line.section)
                            + " (expected: section " + rule.section() + ")");
                }
            });
        }
        assertThat(problems).withFailMessage(() -> report("rules in the wrong section", problems)).isEmpty();
    }

    @Test
    void documentHasNoRuleTheRegistryLacks() {
        List<String> problems = new ArrayList<>();
        for (RuleLine line : doc.rules) {
            if (SpecRule.byId(line.id).isEmpty()) {
                problems.add(line.id + " (line " + line.lineNumber + "): not in SpecRule; add it there or remove it");
            }
        }
        for (Map.Entry<Integer, String> malformed : doc.malformedRuleLines.entrySet()) {
            problems.add("line " + malformed.getKey() + ": looks like a rule but does not match the rule-line format"
                    + " `- <a id=\"id\"></a>**ID** · LEVEL · party — sentence`: " + malformed.getValue());
        }
        assertThat(problems).withFailMessage(() -> report("rule lines unknown to SpecRule", problems)).isEmpty();
    }

    @Test
    void numbersRulesOfAnAreaWithoutGaps() {
        Map<String, List<Integer>> numbersByArea = Arrays.stream(SpecRule.values())
                .map(rule -> RULE_ID.matcher(rule.id()))
                .filter(Matcher::matches)
                .collect(groupingBy(m -> m.group(1), TreeMap::new,
                        mapping(m -> Integer.parseInt(m.group(2)), toList())));
        List<String> problems = new ArrayList<>();
        numbersByArea.forEach((area, numbers) -> {
            List<Integer> sorted = numbers.stream().sorted().collect(toList());
            List<Integer> expected = IntStream.rangeClosed(1, numbers.size()).boxed().collect(toList());
            if (!sorted.equals(expected)) {
                problems.add("area " + area + ": numbers " + sorted + " (expected: 1 to " + numbers.size()
                        + " without gaps)");
            }
        });
        assertThat(problems).withFailMessage(() -> report("areas with gaps in their numbering", problems)).isEmpty();
    }

    @Test
    void listsRulesInRegistryOrder() {
        List<String> documentOrder = doc.rules.stream().map(l -> l.id).distinct().collect(toList());
        List<String> registryOrder = Arrays.stream(SpecRule.values()).map(SpecRule::id)
                .filter(documentOrder::contains).collect(toList());
        assertThat(documentOrder)
                .withFailMessage(() -> "VLESS.md states rules in a different order from SpecRule; first difference: "
                        + firstDifference(documentOrder, registryOrder))
                .isEqualTo(registryOrder);
    }

    @Test
    void numbersSectionsConsecutivelyAndHasOneForEveryRule() {
        List<Integer> numbers = doc.sectionNumbers.stream().map(Integer::parseInt).collect(toList());
        assertThat(numbers).as("numbered section headings (## n. Title)")
                .isEqualTo(IntStream.rangeClosed(1, numbers.size()).boxed().collect(toList()));
        Set<String> needed = new LinkedHashSet<>();
        for (SpecRule rule : SpecRule.values()) {
            needed.add(rule.section());
        }
        assertThat(doc.sectionNumbers).as("sections that SpecRule refers to").containsAll(needed);
    }

    @Test
    void usesRequirementWordsOnlyInRules() {
        assertThat(doc.keywordsInProse)
                .withFailMessage(() -> report("capitalised requirement words outside numbered rules (write them in"
                        + " lower case, or make the requirement a rule)", doc.keywordsInProse))
                .isEmpty();
    }

    @Test
    void linksOnlyToRulesThatExist() {
        List<String> problems = new ArrayList<>();
        doc.ruleLinks.forEach((lineNumber, anchors) -> {
            for (String anchor : anchors) {
                if (SpecRule.byId(anchor).map(r -> !r.anchor().equals(anchor)).orElse(true)) {
                    problems.add("line " + lineNumber + ": link to #" + anchor + ", which is no rule's anchor");
                }
            }
        });
        assertThat(problems).withFailMessage(() -> report("broken rule links", problems)).isEmpty();
    }

    @Test
    void tabulatesEveryProtocolErrorWithItsRule() {
        List<String> problems = new ArrayList<>();
        for (ProtocolError error : ProtocolError.values()) {
            String rowStart = "| `" + error.slug() + "` |";
            List<String> rows = doc.lines.stream().filter(l -> l.startsWith(rowStart)).collect(toList());
            String link = "[" + error.defaultRule().id() + "](#" + error.defaultRule().anchor() + ")";
            if (rows.size() != 1) {
                problems.add(error.slug() + ": " + rows.size() + " table rows (expected: 1)");
            } else if (!rows.get(0).split("\\|")[3].contains(link)) {
                problems.add(error.slug() + ": rule column does not link " + error.defaultRule() + ": " + rows.get(0));
            }
        }
        assertThat(problems).withFailMessage(() -> report("error kinds missing from §15.3", problems)).isEmpty();
    }

    @Test
    void findsRulesByIdIgnoringCaseAndSpace() {
        assertThat(SpecRule.byId("HDR-3")).contains(SpecRule.HDR_3);
        assertThat(SpecRule.byId("hdr-3")).contains(SpecRule.HDR_3);
        assertThat(SpecRule.byId(" Nat-10 ")).contains(SpecRule.NAT_10);
        assertThat(SpecRule.byId("NAT-1")).contains(SpecRule.NAT_1);
        for (SpecRule rule : SpecRule.values()) {
            assertThat(SpecRule.byId(rule.id())).as("byId(%s)", rule.id()).contains(rule);
            assertThat(SpecRule.byId(rule.anchor())).as("byId(%s)", rule.anchor()).contains(rule);
        }
    }

    @Test
    void findsNoRuleForAnUnknownId() {
        assertThat(SpecRule.byId("HDR-99")).isEmpty();
        assertThat(SpecRule.byId("HDR")).isEmpty();
        assertThat(SpecRule.byId("XYZ-1")).isEmpty();
        assertThat(SpecRule.byId("")).isEmpty();
    }

    @Test
    void anchorsAreLowerCaseIds() {
        assertThat(SpecRule.HDR_3.anchor()).isEqualTo("hdr-3");
        assertThat(SpecRule.NAT_10.anchor()).isEqualTo("nat-10");
        for (SpecRule rule : SpecRule.values()) {
            assertThat(rule.id()).as("id of %s", rule.name()).matches(RULE_ID).isEqualTo(rule.name().replace('_', '-'));
            assertThat(rule.anchor()).as("anchor of %s", rule).isEqualTo(rule.id().toLowerCase(Locale.ROOT));
            assertThat(rule.toString()).isEqualTo(rule.id());
        }
    }

    private static String sentenceDifference(String actual, String expected) {
        int i = 0;
        while (i < actual.length() && i < expected.length() && actual.charAt(i) == expected.charAt(i)) {
            i++;
        }
        return "sentence differs at character " + i + ": document has \"" + excerpt(actual, i)
                + "\", SpecRule has \"" + excerpt(expected, i) + "\"\n      document: " + actual
                + "\n      SpecRule: " + expected;
    }

    private static String excerpt(String s, int at) {
        int from = Math.max(0, at - 10);
        int to = Math.min(s.length(), at + 30);
        return (from > 0 ? "…" : "") + s.substring(from, to) + (to < s.length() ? "…" : "");
    }

    private static String firstDifference(List<String> actual, List<String> expected) {
        for (int i = 0; i < Math.min(actual.size(), expected.size()); i++) {
            if (!actual.get(i).equals(expected.get(i))) {
                return "position " + i + " is " + actual.get(i) + " (expected: " + expected.get(i) + ")";
            }
        }
        return "lengths " + actual.size() + " and " + expected.size();
    }

    private static String report(String title, List<String> problems) {
        return title + " (" + problems.size() + "):\n  " + String.join("\n  ", problems);
    }

    /** One parsed rule line and the numbered section it sits in. */
    private record RuleLine(int lineNumber, String section, String anchor, String id, String level, String party,
            String sentence) {
    }

    /** What the checks need from the document, gathered in one pass. */
    private static final class Document {
        final List<String> lines;
        final List<RuleLine> rules = new ArrayList<>();
        final Map<Integer, String> malformedRuleLines = new TreeMap<>();
        final List<String> sectionNumbers = new ArrayList<>();
        final List<String> keywordsInProse = new ArrayList<>();
        final Map<Integer, List<String>> ruleLinks = new TreeMap<>();

        private Document(List<String> lines) {
            this.lines = lines;
        }

        static Document parse(List<String> lines) {
            Document doc = new Document(lines);
            String section = null;
            boolean inFence = false;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                int lineNumber = i + 1;
                if (line.strip().startsWith("```")) {
                    inFence = !inFence;
                    continue;
                }
                if (!inFence) {
                    Matcher heading = SECTION_HEADING.matcher(line);
                    if (heading.matches()) {
                        // An unnumbered top-level heading (Abstract, an appendix) ends the numbered section before it.
                        section = heading.group(1);
                        if (section != null) {
                            doc.sectionNumbers.add(section);
                        }
                        continue;
                    }
                    Matcher rule = RULE_LINE.matcher(line);
                    if (rule.matches()) {
                        doc.rules.add(new RuleLine(lineNumber, section, rule.group(1), rule.group(2), rule.group(3),
                                rule.group(4), rule.group(5)));
                        continue;
                    }
                    if (RULE_LIKE.matcher(line).find()) {
                        doc.malformedRuleLines.put(lineNumber, line);
                    }
                    Matcher link = RULE_LINK.matcher(line);
                    while (link.find()) {
                        doc.ruleLinks.computeIfAbsent(lineNumber, n -> new ArrayList<>()).add(link.group(1));
                    }
                }
                if (!CONVENTIONS_SECTION.equals(section)) {
                    Matcher keyword = KEYWORD.matcher(CODE_SPAN.matcher(line).replaceAll(""));
                    if (keyword.find()) {
                        doc.keywordsInProse.add("line " + lineNumber + ": " + keyword.group(1) + " in \""
                                + line.strip() + "\"");
                    }
                }
            }
            return doc;
        }
    }
}
