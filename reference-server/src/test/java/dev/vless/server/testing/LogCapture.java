// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.testing;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Captures what slf4j-simple writes while it is open. slf4j-simple looks {@code System.err} up at every line it
 * writes, so swapping {@code System.err} is enough; what is captured still reaches the real standard error, so a
 * failed test's output keeps its log. Tests run one at a time (the build runs none in parallel), so nothing else's
 * output is mistaken for the test's, as long as assertions look for text only the test can cause.
 *
 * <pre>{@code
 * try (LogCapture log = LogCapture.start()) {
 *     ... provoke ...
 *     log.awaitLine("refused destination 127.0.0.1:", 5000);
 *     assertThat(log.linesContaining("refused destination")).hasSize(1);
 * }
 * }</pre>
 */
public final class LogCapture implements AutoCloseable {

    private static final List<String> LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR");
    /** slf4j-simple's line: {@code [time] [thread] LEVEL logger - message}. */
    private static final Pattern LEVEL = Pattern.compile("\\[[^\\]]*\\] (TRACE|DEBUG|INFO|WARN|ERROR) ");

    private final PrintStream original;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    private LogCapture() {
        original = System.err;
        OutputStream tee = new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (bytes) {
                    bytes.write(b);
                }
                original.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (bytes) {
                    bytes.write(b, off, len);
                }
                original.write(b, off, len);
            }
        };
        System.setErr(new PrintStream(tee, true, StandardCharsets.UTF_8));
    }

    /** Starts capturing standard error. */
    public static LogCapture start() {
        return new LogCapture();
    }

    /** Every complete line captured so far. */
    public List<String> lines() {
        String text;
        synchronized (bytes) {
            text = bytes.toString(StandardCharsets.UTF_8);
        }
        int end = text.lastIndexOf('\n');
        return end < 0 ? List.of() : text.substring(0, end).lines().toList();
    }

    /** The complete lines that contain {@code text}. */
    public List<String> linesContaining(String text) {
        return lines().stream().filter(l -> l.contains(text)).toList();
    }

    /**
     * The complete lines logged at {@code level} or above (TRACE, DEBUG, INFO, WARN, ERROR, in that order), with any
     * line of a Netty leak report ({@code LEAK:}), whatever its level.
     */
    public List<String> linesAtOrAbove(String level) {
        int min = LEVELS.indexOf(level);
        if (min < 0) {
            throw new IllegalArgumentException("level: " + level + " (expected: one of " + LEVELS + ")");
        }
        return lines().stream().filter(l -> {
            Matcher m = LEVEL.matcher(l);
            return m.find() ? LEVELS.indexOf(m.group(1)) >= min : l.contains("LEAK:");
        }).toList();
    }

    /** Waits until a line contains {@code text}; fails after {@code timeoutMillis}. */
    public void awaitLine(String text, long timeoutMillis) throws InterruptedException {
        Loopback.await("a log line containing '" + text + "'; got: " + lines(), timeoutMillis,
                () -> !linesContaining(text).isEmpty());
    }

    /** Puts the original standard error back. */
    @Override
    public void close() {
        System.err.flush();
        System.setErr(original);
    }
}
