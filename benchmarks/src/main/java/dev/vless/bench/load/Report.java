// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The run's results as {@code results.json} (every figure) and {@code results.md} (a table per workload: each target
 * against the direct path and against the comparison target, then the reference server's performance goals, each
 * with the values measured and whether it was met; the goals are explained in benchmarks/README.md).
 */
final class Report {

    /**
     * Where the figures were measured.
     *
     * @param processors what the JVM sees ({@code nproc})
     * @param lscpu      the first lines of {@code lscpu}
     * @param java       the generator's JVM
     * @param kernel     the Linux release
     */
    record Machine(int processors, List<String> lscpu, String java, String kernel) {
    }

    /** The names the comparisons use. */
    record Names(String direct, String primary, String compare) {
    }

    private Report() {
    }

    static Machine machine() {
        List<String> lscpu = new ArrayList<>();
        try {
            Process p = new ProcessBuilder("lscpu").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            for (String line : out.split("\n")) {
                if (lscpu.size() < 12 && !line.isBlank()) {
                    lscpu.add(line.replaceAll("\\s+", " ").trim());
                }
            }
        } catch (IOException e) {
            lscpu.add("(lscpu not available: " + e.getMessage() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        String kernel;
        try {
            // Line by line: some /proc/sys files give Files.readString only their first byte (rmem_max does here).
            kernel = String.join(" ", Files.readAllLines(Path.of("/proc/sys/kernel/osrelease"))).trim();
        } catch (IOException e) {
            kernel = System.getProperty("os.name") + " " + System.getProperty("os.version");
        }
        String java = System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version") + " ("
                + System.getProperty("java.vendor") + ")";
        return new Machine(Runtime.getRuntime().availableProcessors(), lscpu, java, kernel);
    }

    /** Writes both files and returns the Markdown. */
    static String write(Path dir, Machine machine, Map<String, Object> options, Names names, List<Result> results,
            List<MemoryProbe.Row> memory, List<ManyPeers.Row> manyPeers) throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("generated", Instant.now().toString());
        json.put("machine", machine);
        json.put("options", options);
        json.put("results", withComparisons(names, results));
        json.put("memory", memory);
        json.put("manyPeers", manyPeers);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(dir.resolve("results.json").toFile(), json);
        String md = markdown(machine, options, names, results, memory, manyPeers);
        Files.writeString(dir.resolve("results.md"), md, StandardCharsets.UTF_8);
        return md;
    }

    /** Each result with its share of the direct path's rate and its ratios to the comparison target. */
    private static List<Map<String, Object>> withComparisons(Names names, List<Result> results) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Result r : results) {
            Map<String, Object> m = new ObjectMapper().convertValue(r, LinkedHashMap.class);
            Result direct = counterpart(results, r, names.direct());
            Result compare = names.compare() == null ? null : counterpart(results, r, names.compare());
            m.put("shareOfDirect", direct == null || direct.rate() == 0 ? null : r.rate() / direct.rate());
            m.put("rateVsCompare", compare == null || compare.rate() == 0 ? null : r.rate() / compare.rate());
            m.put("cpuVsCompare", compare == null || r.serverCpuUsPerOp() == null
                    || compare.serverCpuUsPerOp() == null || compare.serverCpuUsPerOp() == 0 ? null
                    : r.serverCpuUsPerOp() / compare.serverCpuUsPerOp());
            out.add(m);
        }
        return out;
    }

    static String markdown(Machine machine, Map<String, Object> options, Names names, List<Result> results,
            List<MemoryProbe.Row> memory, List<ManyPeers.Row> manyPeers) {
        StringBuilder md = new StringBuilder();
        md.append("| workload | target | rate | share of direct | p50 µs | p99 µs | p99.9 µs | loss")
                .append(" | drops server / generator | server cores | server CPU µs/op")
                .append(" | rate vs ").append(names.compare() == null ? "compare" : names.compare())
                .append(" | CPU/op vs ").append(names.compare() == null ? "compare" : names.compare()).append(" |\n");
        md.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for (Result r : results) {
            Result direct = counterpart(results, r, names.direct());
            Result compare = names.compare() == null ? null : counterpart(results, r, names.compare());
            boolean isCompare = compare == r || direct == r;
            md.append("| ").append(r.workload()).append(": ").append(r.label())
                    .append(" | ").append(r.target())
                    .append(" | ").append(rate(r))
                    .append(" | ").append(direct == null || direct == r ? "" : pct(r.rate() / direct.rate()))
                    .append(" | ").append(num(r.p50Us()))
                    .append(" | ").append(num(r.p99Us()))
                    .append(" | ").append(num(r.p999Us()))
                    .append(" | ").append(r.loss() == null ? "" : String.format(Locale.ROOT, "%.3f%%", 100 * r.loss()))
                    .append(" | ").append(drops(r, names))
                    .append(" | ").append(r.serverCores() == null ? "" : String.format(Locale.ROOT, "%.2f",
                            r.serverCores()))
                    .append(" | ").append(r.serverCpuUsPerOp() == null ? "" : String.format(Locale.ROOT, "%.2f",
                            r.serverCpuUsPerOp()) + " " + cpuUnit(r) + (r.serverKernelShare() == null ? ""
                            : String.format(Locale.ROOT, " (%.0f%% kernel)", 100 * r.serverKernelShare())))
                    .append(" | ").append(compare == null || isCompare ? "" : times(r.rate() / compare.rate()))
                    .append(" | ").append(compare == null || isCompare || r.serverCpuUsPerOp() == null
                            || compare.serverCpuUsPerOp() == null ? ""
                            : times(r.serverCpuUsPerOp() / compare.serverCpuUsPerOp()))
                    .append(" |\n");
        }
        scaling(md, names, results);
        if (names.compare() != null && !results.isEmpty()) {
            // One list per variant of the primary's UDP echo rows: plaintext, and TLS when it was measured.
            Set<String> variants = new LinkedHashSet<>();
            for (Result r : results) {
                if (r.workload().equals("udp-echo") && names.primary().equals(r.server())) {
                    variants.add(r.variant() == null ? "" : r.variant());
                }
            }
            for (String variant : variants) {
                StringBuilder lines = new StringBuilder();
                goals(lines, names, results, variant);
                if (lines.length() > 0) { // only when the run had a goal's workload
                    md.append("\nPerformance goals, ").append(variant.isEmpty() ? "" : variant + ": ")
                            .append(names.primary()).append(" against ").append(names.compare())
                            .append(" (measured, not asserted):\n\n").append(lines);
                }
            }
        }
        if (!memory.isEmpty()) {
            md.append("\n| memory: server | added | N | heap per item | RSS per item |\n|---|---|--:|--:|--:|\n");
            for (MemoryProbe.Row row : memory) {
                md.append("| ").append(row.target()).append(" | ").append(row.item()).append(" | ").append(row.count())
                        .append(" | ").append(row.heapBytesPer() == null ? "n/a" : bytes(row.heapBytesPer()))
                        .append(" | ").append(bytes(row.rssBytesPer())).append(" |\n");
            }
        }
        if (!manyPeers.isEmpty()) {
            md.append("\n| many peers | target | TCP connections | set-up ms | all done ms | server CPU µs/datagram")
                    .append(" | server heap added | server RSS added | resent |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n");
            for (ManyPeers.Row row : manyPeers) {
                md.append("| ").append(row.label()).append(" | ").append(row.target())
                        .append(" | ").append(row.tcpConnections())
                        .append(" | ").append(String.format(Locale.ROOT, "%.0f", row.setupMs()))
                        .append(" | ").append(String.format(Locale.ROOT, "%.0f", row.totalMs()))
                        .append(" | ").append(num(row.serverCpuUsPerDatagram()))
                        .append(" | ").append(row.heapBytes() == null ? "n/a" : bytes(row.heapBytes()))
                        .append(" | ").append(bytes(row.rssBytes()))
                        .append(" | ").append(row.resent()).append(" |\n");
            }
        }
        md.append("\nMachine: ").append(machine.processors()).append(" CPUs; ").append(machine.java())
                .append("; Linux ").append(machine.kernel()).append('\n');
        for (String line : machine.lscpu()) {
            md.append("    ").append(line).append('\n');
        }
        md.append("\nOptions: ").append(options).append('\n');
        return md.toString();
    }

    /**
     * The --scaling rows side by side: per server, security and flow count, the flows from one user (one NAT context)
     * against the same flows from a user each.
     */
    private static void scaling(StringBuilder md, Names names, List<Result> results) {
        List<Result> single = new ArrayList<>();
        for (Result r : results) {
            if (r.workload().equals("udp-scaling") && r.variant() != null && r.variant().startsWith("1 user")) {
                single.add(r);
            }
        }
        if (single.isEmpty()) {
            return;
        }
        md.append("\n| scaling: flows | target | 1 user: rate | share of direct | server cores | loss | drops server ")
                .append("/ generator | a user per flow: rate | share of direct | server cores | loss | drops server ")
                .append("/ generator | many users / 1 user |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for (Result one : single) {
            boolean tls = one.variant().endsWith("TLS");
            Result many = null;
            for (Result x : results) {
                if (x != one && x.workload().equals(one.workload()) && x.label().equals(one.label())
                        && Objects.equals(x.server(), one.server()) && x.variant() != null
                        && x.variant().endsWith("TLS") == tls && !x.variant().startsWith("1 user")) {
                    many = x;
                }
            }
            Result direct = counterpart(results, one, names.direct());
            md.append("| ").append(one.label()).append(" | ").append(one.server()).append(tls ? " (TLS)" : "");
            for (Result r : new Result[] {one, many}) {
                if (r == null) {
                    md.append(" | | | | | ");
                    continue;
                }
                md.append(" | ").append(rate(r))
                        .append(" | ").append(direct == null || direct.rate() == 0 ? "" : pct(r.rate() / direct.rate()))
                        .append(" | ").append(r.serverCores() == null ? "" : String.format(Locale.ROOT, "%.2f",
                                r.serverCores()))
                        .append(" | ").append(r.loss() == null ? "" : String.format(Locale.ROOT, "%.3f%%",
                                100 * r.loss()))
                        .append(" | ").append(drops(r, names));
            }
            md.append(" | ").append(many == null || one.rate() == 0 ? "" : times(many.rate() / one.rate()))
                    .append(" |\n");
        }
    }

    /**
     * The goals, on the default UDP echo workloads: a single flow's ping-pong at twice the comparison's round trips per
     * second; with many flows or a full window, at most half its server CPU per round trip and a larger share of the
     * direct path's rate.
     */
    private static void goals(StringBuilder md, Names names, List<Result> results, String variant) {
        Result ping = pick(results, "udp-echo", "1 flow × 64 B × 1 in flight", names.primary(), variant);
        Result pingCompare = ping == null ? null : counterpart(results, ping, names.compare());
        if (ping != null && pingCompare != null) {
            String ownName = ping.target();
            String otherName = pingCompare.target();
            double x = ping.rate() / pingCompare.rate();
            md.append(String.format(Locale.ROOT, "- 1 flow × 64 B × 1 in flight (ping-pong), round trips per second: "
                    + "%s %s, %s %s: %.2f× (goal: at least 2×): %s%n", ownName, Progress.human(ping.rate()),
                    otherName, Progress.human(pingCompare.rate()), x, x >= 2 ? "met" : "not met"));
        }
        for (String label : List.of("64 flows × 1200 B × 8 in flight", "1 flow × 1200 B × 32 in flight")) {
            Result p = pick(results, "udp-echo", label, names.primary(), variant);
            Result c = p == null ? null : counterpart(results, p, names.compare());
            Result d = p == null ? null : counterpart(results, p, names.direct());
            if (p == null || c == null) {
                continue;
            }
            String ownName = p.target();
            String otherName = c.target();
            if (p.serverCpuUsPerOp() != null && c.serverCpuUsPerOp() != null) {
                double x = p.serverCpuUsPerOp() / c.serverCpuUsPerOp();
                md.append(String.format(Locale.ROOT, "- %s, server CPU per round trip: %s %.2f µs, %s %.2f µs: "
                        + "%.2f× (goal: at most 0.5×): %s%n", label, ownName, p.serverCpuUsPerOp(), otherName,
                        c.serverCpuUsPerOp(), x, x <= 0.5 ? "met" : "not met"));
            }
            if (d != null) {
                double sp = p.rate() / d.rate();
                double sc = c.rate() / d.rate();
                md.append(String.format(Locale.ROOT, "- %s, rate as a share of the direct path's: %s %s, %s %s "
                        + "(goal: a larger share): %s%n", label, ownName, pct(sp), otherName, pct(sc),
                        sp > sc ? "met" : "not met"));
            }
        }
    }

    private static Result pick(List<Result> results, String workload, String label, String server,
            String variant) {
        for (Result r : results) {
            if (r.workload().equals(workload) && r.label().equals(label) && server.equals(r.server())
                    && variant.equals(r.variant() == null ? "" : r.variant())) {
                return r;
            }
        }
        return null;
    }

    /**
     * The result of {@code server} for the same workload as {@code r}, in r's variant (TLS, users) when it was
     * measured in it, else in any: UDP over TLS and the users' rows are shares of the one plain direct path.
     */
    static Result counterpart(List<Result> results, Result r, String server) {
        Result any = null;
        for (Result x : results) {
            if (x.workload().equals(r.workload()) && x.label().equals(r.label()) && server.equals(x.server())) {
                if (Objects.equals(x.variant(), r.variant())) {
                    return x;
                }
                if (any == null) {
                    any = x;
                }
            }
        }
        return any;
    }

    /** Kernel drops at the server's and at the generator's UDP sockets; the direct path has no server. */
    private static String drops(Result r, Names names) {
        if (r.serverDrops() == null && r.clientDrops() == null) {
            return "";
        }
        String server = names.direct().equals(r.server()) ? "–" : r.serverDrops() == null ? "n/a"
                : Long.toString(r.serverDrops());
        return server + " / " + (r.clientDrops() == null ? "n/a" : Long.toString(r.clientDrops()));
    }

    private static String rate(Result r) {
        String unit = switch (r.rateUnit()) {
            case "round trips/s" -> " rt/s";
            case "connections/s" -> " conn/s";
            default -> " " + r.rateUnit();
        };
        String s = Progress.human(r.rate()) + unit;
        if (r.workload().startsWith("udp-")) {
            s += String.format(Locale.ROOT, " (%.0f Mbit/s)", r.mbitPerSecond());
        }
        return s;
    }

    private static String cpuUnit(Result r) {
        return switch (r.workload()) {
            case "udp-echo", "udp-scaling" -> "/rt";
            case "tcp-bulk" -> "/MB";
            default -> "/conn";
        };
    }

    private static String num(Double v) {
        return v == null ? "" : v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT,
                "%.1f", v);
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.0f%%", 100 * v);
    }

    private static String times(double v) {
        return String.format(Locale.ROOT, "%.2f×", v);
    }

    private static String bytes(double v) {
        return Math.abs(v) >= 10_240 ? String.format(Locale.ROOT, "%.1f KiB", v / 1024)
                : String.format(Locale.ROOT, "%.0f B", v);
    }
}
