// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The live fuzzers' "nothing at WARN or above" rests on this filter: it must see what is logged. */
class LogCaptureTest {

    @Test
    void linesAtOrAboveFilterByLevel() {
        try (LogCapture log = LogCapture.start()) {
            LoggerFactory.getLogger(LogCaptureTest.class).warn("a warning for the capture test");
            System.err.println("LEAK: a leak report line, whatever its level");
            assertThat(log.linesAtOrAbove("WARN")).anyMatch(l -> l.contains("a warning for the capture test"))
                    .anyMatch(l -> l.contains("LEAK: a leak report line"));
            assertThat(log.linesAtOrAbove("ERROR")).noneMatch(l -> l.contains("a warning for the capture test"));
            assertThat(log.linesAtOrAbove("INFO")).anyMatch(l -> l.contains("a warning for the capture test"));
        }
    }
}
