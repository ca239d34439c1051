// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * When the target really closes a stalled, incomplete header, measured once per run: the reference for "held until
 * the handshake deadline" (ERR-2, ERR-4) in every bad-input case.
 *
 * <p>Bad-input cases fail a target that closes before its deadline. If they took the deadline from
 * {@code --handshake-timeout} alone, a user who stated it wrong would get a FAIL on every bad-input rule: a setup
 * mistake reported as the target's fault. So the run measures what the target does with a header that simply stops,
 * which every server must close at its deadline and not before, and uses that moment instead when it disagrees with
 * the declared one.
 */
public final class DeadlineCalibration {

    /**
     * How much earlier than the reference a close may come and still count as "at the deadline". The harness starts
     * its clock before its connect, so a correct close is measured at or after the deadline; what can make it look
     * earlier is only jitter: a server's timer wheel (Netty's ticks every 100 ms), thread scheduling on a loaded CI
     * machine, and the spread between the calibration's samples. 300 ms covers those with room to spare, and a close
     * "at once" (the probing oracle the rule forbids) is still far below any real deadline minus 300 ms.
     */
    public static final long TOLERANCE_MS = 300;

    /** Parallel samples: the earliest is the reference, so that one slow sample never makes the bound stricter. */
    static final int SAMPLES = 3;

    /**
     * A measured close earlier than this is no handshake deadline an honest client over TLS could meet: the target
     * closes stalled headers at once, which ERR-4 forbids, so it must not become the reference that excuses others.
     */
    static final long PLAUSIBLE_MINIMUM_MS = 500;

    private final Duration declared;
    private final long measuredMs;
    private final String finding;
    private final List<String> evidence;

    private DeadlineCalibration(Duration declared, long measuredMs, String finding, List<String> evidence) {
        this.declared = declared;
        this.measuredMs = measuredMs;
        this.finding = finding;
        this.evidence = List.copyOf(evidence);
    }

    /** No measurement: the declared deadline is the reference (harnesses made outside a run). */
    static DeadlineCalibration declaredOnly(VlessTarget target) {
        return new DeadlineCalibration(target.handshakeTimeout(), -1,
                "not measured; the declared " + target.handshakeTimeout().toMillis() + " ms is used", List.of());
    }

    /**
     * Opens {@link #SAMPLES} connections at once, sends each the version byte and half a user ID, and times the
     * target's close from the start of each connect. Adds a run event when the result differs from the declaration.
     */
    static DeadlineCalibration measure(VlessTarget target, RunEvents events) {
        Duration declared = target.handshakeTimeout();
        if (target.fallback()) {
            // A fallback decides when bad input ends, so there is no lower bound to calibrate.
            return new DeadlineCalibration(declared, -1, "not measured: the target hands bad input to a fallback"
                    + " (--fallback); the declared " + declared.toMillis() + " ms is used", List.of());
        }
        // Long enough to see a deadline twice the declared one: a user who halved it still gets a measurement.
        Duration wait = declared.multipliedBy(2).plusSeconds(1);
        byte[] stall = new byte[9];
        stall[0] = (byte) (target.profile() == dev.vless.spec.Profile.V0 ? 0x00 : 0x01);
        long msb = target.user().getMostSignificantBits();
        for (int i = 0; i < 8; i++) {
            stall[1 + i] = (byte) (msb >>> (56 - 8 * i));
        }
        WireLog log = new WireLog();
        List<CompletableFuture<String>> samples = new ArrayList<>();
        List<long[]> closes = java.util.Collections.synchronizedList(new ArrayList<>());
        // Threads of its own: the common pool has a single thread on a two-core machine, which would serialise them.
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(SAMPLES, r -> {
            Thread t = new Thread(r, "deadline-calibration");
            t.setDaemon(true);
            return t;
        });
        for (int i = 0; i < SAMPLES; i++) {
            String label = "calibration#" + (i + 1);
            samples.add(CompletableFuture.supplyAsync(() -> sample(target, log, label, stall, wait, closes), threads));
        }
        threads.shutdown();
        List<String> lines = new ArrayList<>();
        lines.add("calibrating the handshake deadline: " + SAMPLES + " connections at once, each sends "
                + WireLog.hex(stall) + " (version and half a user ID) and then nothing; waiting up to "
                + wait.toMillis() + " ms");
        for (CompletableFuture<String> s : samples) {
            lines.add("  " + s.join());
        }
        long earliest = closes.stream().mapToLong(c -> c[0]).min().orElse(-1);
        long latest = closes.stream().mapToLong(c -> c[0]).max().orElse(-1);
        String finding;
        long measured = -1;
        if (earliest < 0) {
            finding = "no stalled header was closed within " + wait.toMillis() + " ms; the declared "
                    + declared.toMillis() + " ms is used";
        } else if (earliest < PLAUSIBLE_MINIMUM_MS) {
            finding = "stalled headers were closed after " + earliest + " ms: too soon for a handshake deadline"
                    + " (ERR-4); the declared " + declared.toMillis() + " ms is used";
        } else {
            measured = earliest;
            finding = "stalled headers closed after " + earliest + (latest != earliest ? " to " + latest : "")
                    + " ms (declared " + declared.toMillis() + " ms)";
        }
        lines.add(finding);
        lines.addAll(log.lines());
        DeadlineCalibration c = new DeadlineCalibration(declared, measured, finding, lines);
        if (measured >= 0 && Math.abs(measured - declared.toMillis()) > TOLERANCE_MS) {
            events.add(String.format(Locale.ROOT, "the target closes a stalled header after %d ms, but the declared"
                    + " handshake deadline (--handshake-timeout) is %d ms: bad-input cases use the measured %d ms",
                    measured, declared.toMillis(), measured));
        } else if (measured < 0) {
            events.add("handshake deadline not calibrated: " + finding);
        }
        return c;
    }

    private static String sample(VlessTarget target, WireLog log, String label, byte[] stall, Duration wait,
            List<long[]> closes) {
        long t0 = System.nanoTime();
        try (VlessConnection c = new VlessConnection(target, log, label)) {
            c.write(stall);
            Outcome o = c.await(wait.minusNanos(System.nanoTime() - t0));
            long since = (System.nanoTime() - t0) / 1_000_000;
            if (o.kind() == Outcome.Kind.CLOSED || o.kind() == Outcome.Kind.RESET) {
                closes.add(new long[] {since});
            }
            return label + ": " + o + " (" + since + " ms after the connect began)";
        } catch (IOException e) {
            return label + ": the connection failed: " + e.getMessage();
        }
    }

    /** The deadline the user declared ({@code --handshake-timeout}). */
    public Duration declared() {
        return declared;
    }

    /** Whether a plausible close was measured. */
    public boolean measured() {
        return measuredMs >= 0;
    }

    /** The reference for "held until the deadline": the measured moment, else the declared deadline. */
    public Duration reference() {
        return measuredMs >= 0 ? Duration.ofMillis(measuredMs) : declared;
    }

    /** The earliest close a bad-input connection may have, counted from the start of its connect. */
    public long earliestCloseMs() {
        return Math.max(0, reference().toMillis() - TOLERANCE_MS);
    }

    /** How long a bad-input connection may stay open: the declared or measured deadline, whichever is later, + 1 s. */
    public Duration closeAllowance() {
        Duration later = measuredMs > declared.toMillis() ? Duration.ofMillis(measuredMs) : declared;
        return later.plusSeconds(1);
    }

    /** One line for the report. */
    public String finding() {
        return finding;
    }

    /** What the calibration sent and saw, for a case's wire log. */
    public List<String> evidence() {
        return evidence;
    }
}
