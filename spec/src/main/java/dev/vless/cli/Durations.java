// SPDX-License-Identifier: Apache-2.0
package dev.vless.cli;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one duration syntax of every tool: the server's and the client's options, the conformance suite's options and
 * {@code -Dvless.*} properties, and the load generator's options.
 *
 * <ul>
 *   <li>a number with a unit, {@code ms}, {@code s}, {@code m}, {@code h} or {@code d}: {@code 500ms}, {@code 30s},
 *       {@code 5m}, {@code 1h}, {@code 2d}; the number may have a decimal fraction: {@code 1.5s}, {@code 0.5h};
 *   <li>several of those without spaces, each unit smaller than the one before: {@code 1h30m}, {@code 2m30s},
 *       {@code 1s500ms};
 *   <li>a bare number, which is seconds: {@code 90}, {@code 0.5};
 *   <li>ISO-8601, as {@link Duration#parse} reads it: {@code PT5M}, {@code PT1.5S}, {@code P1D}.
 * </ul>
 *
 * <p>Letter case and blanks around the value do not matter. A value is never negative and at most
 * {@link #MAX} (what a {@code long} of nanoseconds holds, about 292 years), so that whoever takes it may call
 * {@link Duration#toNanos()}. Anything else is refused with one message that names the option and gives examples,
 * {@link #complaint}. Whether zero or a small value makes sense is the option's business, not the syntax's.
 */
public final class Durations {

    /** The syntax in one sentence, for the description in each tool's {@code --help}. */
    public static final String SYNTAX = "Durations are a number with a unit (ms, s, m, h, d), such as 500ms, 30s, "
            + "1.5s, 5m, 1h or 1h30m; a bare number is seconds.";
    /** The largest duration accepted: {@link Long#MAX_VALUE} nanoseconds. */
    public static final Duration MAX = Duration.ofNanos(Long.MAX_VALUE);

    private static final String EXPECTED = "expected: a number with a unit, such as 300s, 5m, 1h30m or 500ms";
    private static final Pattern NUMBER = Pattern.compile("\\d+(?:\\.\\d+)?");
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h|d)");
    /** The units, largest first; a value lists them in this order, each at most once. */
    private static final List<String> UNITS = List.of("d", "h", "m", "s", "ms");
    private static final List<Long> UNIT_NANOS = List.of(86_400_000_000_000L, 3_600_000_000_000L,
            60_000_000_000L, 1_000_000_000L, 1_000_000L);
    private static final BigInteger MAX_NANOS = BigInteger.valueOf(Long.MAX_VALUE);

    private Durations() {
    }

    /**
     * Reads {@code text}, the value of {@code option} (an option such as {@code --udp-lifetime} or a property such
     * as {@code vless.ioTimeout}).
     *
     * @throws UsageException with {@link #complaint}'s message when {@code text} is not a duration of this syntax
     */
    public static Duration parse(String option, String text) throws UsageException {
        Duration d = text == null ? null : read(text.strip().toLowerCase(Locale.ROOT));
        if (d == null) {
            throw new UsageException(complaint(option, text));
        }
        return d;
    }

    /**
     * {@link #parse}, for callers whose errors are {@link IllegalArgumentException}s (system properties, the
     * suite's options).
     *
     * @throws IllegalArgumentException with {@link #complaint}'s message
     */
    public static Duration parseOrThrow(String option, String text) {
        try {
            return parse(option, text);
        } catch (UsageException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * The one complaint about a value that is not a duration, such as
     * {@code --cool-down '5x' is not a duration (expected: a number with a unit, such as 300s, 5m, 1h30m or 500ms)}.
     */
    public static String complaint(String option, String text) {
        return option + " '" + text + "' is not a duration (" + EXPECTED + ")";
    }

    /** The duration {@code s} (trimmed, lower case) stands for, or {@code null}. */
    private static Duration read(String s) {
        if (s.startsWith("p")) {
            return iso(s);
        }
        if (NUMBER.matcher(s).matches()) {
            return nanos(new BigDecimal(s).multiply(BigDecimal.valueOf(1_000_000_000L)));
        }
        Matcher m = PART.matcher(s);
        BigDecimal total = BigDecimal.ZERO;
        int end = 0;
        int previousUnit = -1;
        while (end < s.length() && m.find(end) && m.start() == end) {
            int unit = UNITS.indexOf(m.group(2));
            if (unit <= previousUnit) {
                return null; // 30m1h, 1s1s: a unit out of order or twice is a typo more likely than a sum
            }
            previousUnit = unit;
            total = total.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(UNIT_NANOS.get(unit))));
            end = m.end();
        }
        return end == 0 || end != s.length() ? null : nanos(total);
    }

    private static Duration iso(String s) {
        Duration d;
        try {
            d = Duration.parse(s.toUpperCase(Locale.ROOT));
        } catch (DateTimeParseException e) {
            return null;
        }
        return d.isNegative() || d.compareTo(MAX) > 0 ? null : d;
    }

    /** {@code nanos} as a duration, or {@code null} when it is not whole nanoseconds or beyond {@link #MAX}. */
    private static Duration nanos(BigDecimal nanos) {
        BigInteger whole;
        try {
            whole = nanos.toBigIntegerExact();
        } catch (ArithmeticException e) {
            return null; // finer than a nanosecond: surely not what was meant
        }
        return whole.compareTo(MAX_NANOS) > 0 ? null : Duration.ofNanos(whole.longValueExact());
    }
}
