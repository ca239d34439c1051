// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** What happened to a run itself, each with its time into the run: the target dying, restarts, interference. */
public final class RunEvents {

    private final long start = System.nanoTime();
    private final List<String> events = new ArrayList<>();
    private volatile PrintStream console;

    /** Also prints every event on {@code out} as it happens ({@code null}: only record). */
    public void echoTo(PrintStream out) {
        this.console = out;
    }

    /** Seconds since the run began, one decimal. */
    public String now() {
        return String.format(java.util.Locale.ROOT, "%.1f s", (System.nanoTime() - start) / 1e9);
    }

    /** Records {@code text}, stamped with the time into the run. */
    public synchronized void add(String text) {
        String line = "[" + now() + "] " + text;
        events.add(line);
        PrintStream out = console;
        if (out != null) {
            out.println("!! " + line);
        }
    }

    /** Everything recorded so far. */
    public synchronized List<String> all() {
        return new ArrayList<>(events);
    }
}
