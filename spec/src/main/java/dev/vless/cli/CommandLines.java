// SPDX-License-Identifier: Apache-2.0
package dev.vless.cli;

import io.netty.util.ResourceLeakDetector;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/** Command-line plumbing the reference server and client share (see the package description). */
public final class CommandLines {

    /** The levels {@code --log-level} takes. */
    public static final List<String> LOG_LEVELS = List.of("error", "warn", "info", "debug");
    /** How long a stop may take before the process exits anyway. */
    public static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);

    private static final String LOG_LEVEL_PROPERTY = "org.slf4j.simpleLogger.defaultLogLevel";

    private CommandLines() {
    }

    /**
     * Sets slf4j-simple's level from {@code --log-level} before any logger exists; a bad value is left for the full
     * parse to report. An explicit {@code -Dorg.slf4j.simpleLogger.defaultLogLevel} wins over the default.
     */
    public static void configureLogging(String[] args) {
        String level = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--log-level") && i + 1 < args.length) {
                level = args[i + 1];
            } else if (args[i].startsWith("--log-level=")) {
                level = args[i].substring("--log-level=".length());
            }
        }
        String normalised = level == null ? null : level.trim().toLowerCase(Locale.ROOT);
        if (normalised != null && LOG_LEVELS.contains(normalised)) {
            System.setProperty(LOG_LEVEL_PROPERTY, normalised);
        } else if (System.getProperty(LOG_LEVEL_PROPERTY) == null) {
            System.setProperty(LOG_LEVEL_PROPERTY, "info");
        }
        if ("debug".equals(System.getProperty(LOG_LEVEL_PROPERTY))
                && System.getProperty("org.slf4j.simpleLogger.log.io.netty") == null) {
            // Netty's own debug output (platform probing at start) would drown the tool's.
            System.setProperty("org.slf4j.simpleLogger.log.io.netty", "info");
        }
        setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
        setIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        setIfAbsent("org.slf4j.simpleLogger.showShortLogName", "true");
    }

    /**
     * Turns Netty's buffer leak detector off unless the JVM was given a level ({@code -Dio.netty.leakDetection.level}).
     * Its default samples one buffer in 128 with a stack trace: 2.9 % of the server's CPU samples in the 64-flow TLS
     * workload (perf, benchmarks/README.md), for a check the test suite makes at PARANOID on every build. Embedders of
     * the library keep Netty's default; only the command-line tools call this.
     */
    public static void leakDetectionOffUnlessAsked() {
        if (System.getProperty("io.netty.leakDetection.level") == null
                && System.getProperty("io.netty.leakDetectionLevel") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** The {@code --log-level} value, trimmed and lower-case, if it is one of {@link #LOG_LEVELS}. */
    public static String logLevel(String text) throws UsageException {
        String level = text.trim().toLowerCase(Locale.ROOT);
        if (!LOG_LEVELS.contains(level)) {
            throw new UsageException("--log-level '" + text + "' is not a level (expected: error, warn, info or "
                    + "debug)");
        }
        return level;
    }

    /**
     * Runs {@code stop}, waiting at most {@link #STOP_TIMEOUT}, then prints {@code finalStats}.
     *
     * @return 0, or {@code failureCode} when the stop failed or did not end in time
     */
    public static int stop(String name, Supplier<? extends Future<?>> stop, Supplier<String> finalStats,
            PrintStream out, PrintStream err, int failureCode) {
        int code = 0;
        try {
            stop.get().get(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            err.println(name + ": did not stop within " + STOP_TIMEOUT.toSeconds() + " s; exiting anyway");
            code = failureCode;
        } catch (ExecutionException e) {
            err.println(name + ": error while stopping: " + e.getCause());
            code = failureCode;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            code = failureCode;
        }
        out.println("stopped; final stats: " + finalStats.get());
        out.flush();
        err.flush();
        return code;
    }

    /**
     * Blocks the calling thread until the JVM is ended by a signal; then a shutdown hook named {@code hookName} runs
     * {@code stop} and halts with the exit code it returns. Never returns.
     */
    public static void runUntilSignalled(String hookName, IntSupplier stop) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            int code = stop.getAsInt();
            // A JVM ended by a signal exits with 128 + signal; a requested, clean stop should report 0. halt() is
            // allowed while hooks run, and nothing else of ours needs to run after this one.
            Runtime.getRuntime().halt(code);
        }, hookName));
        CountDownLatch never = new CountDownLatch(1);
        while (true) {
            try {
                never.await(); // the event loop threads are daemons; this thread keeps the JVM alive
            } catch (InterruptedException e) {
                // Only a signal ends the process; the shutdown hook does the rest.
            }
        }
    }
}
