// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz.live;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Records what is logged while it is open. slf4j-simple (this module's binding) and Netty's leak reports both write
 * to {@code System.err}, looked up on every line, so a tee installed here sees every log line of the server. The
 * lines still reach the console.
 */
final class LogCapture implements AutoCloseable {

    /** slf4j-simple's line: {@code [date] [thread] LEVEL logger - message}. */
    private static final Pattern LEVEL = Pattern.compile("\\[[^\\]]*\\] (TRACE|DEBUG|INFO|WARN|ERROR) ");

    private final PrintStream original = System.err;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    LogCapture() {
        OutputStream tee = new OutputStream() {
            @Override
            public void write(int b) {
                original.write(b);
                synchronized (captured) {
                    captured.write(b);
                }
            }

            @Override
            public void write(byte[] b, int off, int len) {
                original.write(b, off, len);
                synchronized (captured) {
                    captured.write(b, off, len);
                }
            }
        };
        System.setErr(new PrintStream(tee, true, StandardCharsets.UTF_8));
    }

    /** Every line logged so far. */
    List<String> lines() {
        synchronized (captured) {
            return new ArrayList<>(Arrays.asList(captured.toString(StandardCharsets.UTF_8).split("\n")));
        }
    }

    /**
     * The lines logged at {@code level} or above (levels in the order TRACE, DEBUG, INFO, WARN, ERROR), with any
     * line that mentions a leak or an exception's stack frame, whatever its level.
     */
    List<String> atOrAbove(String level) {
        List<String> order = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR");
        int min = order.indexOf(level);
        List<String> out = new ArrayList<>();
        for (String line : lines()) {
            var m = LEVEL.matcher(line);
            if (m.find() ? order.indexOf(m.group(1)) >= min : line.contains("LEAK:")) {
                out.add(line);
            }
        }
        return out;
    }

    @Override
    public void close() {
        System.setErr(original);
    }
}
