// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.cli.Durations;
import dev.vless.cli.UsageException;
import dev.vless.codec.VlessVersion;
import dev.vless.link.ShareLink;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code vless-bench} command: runs UDP echo, TCP bulk and TCP connection workloads on loopback against the direct
 * path, a VLESS target (by default a reference server it starts as a child process) and optionally a second target
 * (another link, or v2ray it starts itself), all in one run, and writes {@code results.json} and {@code results.md}.
 */
@Command(name = "vless-bench",
        mixinStandardHelpOptions = true,
        version = "vless-bench 0.1.0",
        sortOptions = false,
        usageHelpWidth = 110,
        description = {
            "Live loopback load generator for VLESS servers. Each workload runs against the direct path (the "
                    + "generator talks to its own echo peers and sink), the target, and the comparison target if "
                    + "one is given, one after the other in the same run.",
            Durations.SYNTAX},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:a target failed to start or a workload failed", "2:bad command line"})
public final class LoadGenerator implements Callable<Integer> {

    @Option(names = "--target", paramLabel = "LINK",
            description = "The VLESS server to measure, as a share link (default: start the reference server on "
                    + "127.0.0.1 as a child process, plaintext, and measure that).")
    String targetLink;

    @Option(names = "--target-pid", paramLabel = "PID",
            description = "Process ID of the --target server, so that its CPU time can be read from /proc.")
    long targetPid = -1;

    @Option(names = "--protocol", split = ",", paramLabel = "v1|v0",
            description = "VLESS versions spoken to the target, each measured as a target of its own; the first is "
                    + "the one compared (default: ${DEFAULT-VALUE}).")
    List<String> protocol = new ArrayList<>(List.of("v1"));

    @Option(names = "--udp-mode", split = ",", paramLabel = "per-remote|mux",
            description = "How v1 carries UDP, one or both (default: ${DEFAULT-VALUE}): per-remote = CRUMFURS and one "
                    + "command-2 connection per remote; mux = UDP-MUX connections (command 5), one per generator "
                    + "thread. Both: every UDP workload runs in each mode, interleaved.")
    List<String> udpMode = new ArrayList<>(List.of("per-remote"));

    @Option(names = "--many-peers", paramLabel = "PEERSxDATAGRAMS",
            description = "The many-peers workload: one client, PEERS remotes, DATAGRAMS ping-pongs each, all at once, "
                    + "per remote and over UDP-MUX, each on a fresh reference server with TLS: set-up time, server CPU "
                    + "per datagram and memory (none: skip; default: ${DEFAULT-VALUE}).")
    String manyPeers = "none";

    @Option(names = "--compare", paramLabel = "LINK",
            description = "A second VLESS server to measure in the same run, as a share link.")
    String compareLink;

    @Option(names = "--compare-pid", paramLabel = "PID", description = "Process ID of the --compare server.")
    long comparePid = -1;

    @Option(names = "--compare-protocol", paramLabel = "v1|v0",
            description = "VLESS version spoken to --compare (default: ${DEFAULT-VALUE}).")
    String compareProtocol = "v0";

    @Option(names = "--v2ray", arity = "0..1", paramLabel = "PATH", fallbackValue = "/usr/bin/v2ray",
            description = "Start v2ray (default path /usr/bin/v2ray) on 127.0.0.1 with a generated VLESS config and "
                    + "compare with it (VLESS v0; plaintext, TLS for the connection workload).")
    Path v2ray;

    @Option(names = "--udp", split = ",", paramLabel = "FLOWSxPAYLOADxINFLIGHT",
            description = "UDP echo workloads (default: ${DEFAULT-VALUE}); 'none' for no UDP workload.")
    List<String> udp = new ArrayList<>(List.of("1x64x1", "64x1200x8", "1x1200x32"));

    @Option(names = "--rate", paramLabel = "DATAGRAMS/S",
            description = "Pace each UDP workload to at most this many datagrams per second in total (default: "
                    + "unlimited, each flow keeps its in-flight window full).")
    long rate;

    @Option(names = "--tcp-bulk", paramLabel = "CONNECTIONS",
            description = "TCP bulk upload with this many connections; 0 skips it (default: ${DEFAULT-VALUE}).")
    int tcpBulk = 1;

    @Option(names = "--tcp-connect", paramLabel = "WORKERS",
            description = "Connection set-up rate (TLS, one-byte echo) with this many concurrent workers; 0 skips "
                    + "it (default: ${DEFAULT-VALUE}).")
    int tcpConnect = 4;

    @Option(names = "--duration", paramLabel = "DURATION",
            description = "Measurement window per workload and target (default: ${DEFAULT-VALUE}).")
    String duration = "5s";

    @Option(names = "--warmup", paramLabel = "DURATION",
            description = "Traffic before each window, not counted (default: ${DEFAULT-VALUE}).")
    String warmup = "3s";

    @Option(names = "--server-warmup", paramLabel = "DURATION",
            description = "Traffic to each server before the first workload, not counted, so that a JVM's JIT "
                    + "compilation is done before anything is measured (default: ${DEFAULT-VALUE}).")
    String serverWarmup = "10s";

    @Option(names = "--repeat", paramLabel = "N",
            description = "Run every workload and target N times, interleaved, and report the run with the median "
                    + "rate (default: ${DEFAULT-VALUE}).")
    int repeat = 1;

    @Option(names = "--memory", paramLabel = "N",
            description = "Measure memory per idle connection and per UDP mapping with N of each, on fresh server "
                    + "processes; 0 skips it (default: ${DEFAULT-VALUE}).")
    int memory;

    @Option(names = "--threads", paramLabel = "N",
            description = "The generator's event loop threads (clients, peers and sinks) (default: ${DEFAULT-VALUE}).")
    int threads = 2;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Where results.json, results.md and the servers' logs go (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("target", "vless-bench");

    @Option(names = "--server-jar", paramLabel = "PATH",
            description = "The reference server's executable jar (default: reference-server/target/vless-server.jar"
                    + " under the repository, else this generator's own class path).")
    Path serverJar;

    @Option(names = "--server-jvm-options", paramLabel = "OPTIONS",
            description = "JVM options for the reference server child, space-separated (default: none: the "
                    + "server's own defaults).")
    String serverJvmOptions = "";

    @Option(names = "--server-io-threads", paramLabel = "N",
            description = "--io-threads for the reference server child (default: the server's default).")
    Integer serverIoThreads;

    private final PrintStream stdout;

    LoadGenerator(PrintStream stdout) {
        this.stdout = stdout;
    }

    /**
     * Runs the generator.
     *
     * @param args the command line; {@code --help} lists every option
     */
    public static void main(String[] args) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
        System.exit(run(System.out, args));
    }

    static int run(PrintStream out, String... args) {
        return new CommandLine(new LoadGenerator(out)).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        Timing timing = new Timing(duration("--warmup", warmup), duration("--duration", duration), rate);
        List<UdpEcho.Spec> specs = new ArrayList<>();
        for (String s : udp) {
            if (!s.equalsIgnoreCase("none")) {
                specs.add(UdpEcho.Spec.parse(s));
            }
        }
        if (repeat < 1 || threads < 1) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--repeat and --threads must be at least 1");
        }
        List<VlessVersion> versions = new ArrayList<>();
        for (String p : protocol) {
            versions.add(version("--protocol", p));
        }
        for (String m : udpMode) {
            if (!m.equals("per-remote") && !m.equals("mux")) {
                throw new CommandLine.ParameterException(new CommandLine(this), "--udp-mode " + m
                        + " (expected: per-remote, mux, or both separated by a comma)");
            }
        }
        ManyPeers.Spec peersSpec;
        try {
            peersSpec = manyPeers.equalsIgnoreCase("none") ? null : ManyPeers.Spec.parse(manyPeers);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--many-peers: " + e.getMessage());
        }
        Duration preWarm = duration("--server-warmup", serverWarmup);
        VlessVersion compareVersion = version("--compare-protocol", compareProtocol);
        if (compareLink != null && v2ray != null) {
            throw new CommandLine.ParameterException(new CommandLine(this), "give --compare or --v2ray, not both");
        }
        Progress progress = new Progress(stdout);
        Report.Machine machine = Report.machine();
        progress.line("vless-bench on " + machine.processors() + " CPUs, " + machine.java());

        List<ManagedServer> managed = new ArrayList<>();
        Thread cleanup = new Thread(() -> managed.forEach(ManagedServer::close), "vless-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        List<Result> results = new ArrayList<>();
        List<MemoryProbe.Row> memoryRows = new ArrayList<>();
        List<ManyPeers.Row> peerRows = new ArrayList<>();
        Path logs = out.resolve("logs");
        UUID user = UUID.randomUUID();
        ManagedServer.ReferenceLauncher launcher = launcher();
        String v2rayName = v2ray == null ? null : v2rayName(v2ray);
        Report.Names names;
        try (Net net = new Net(threads); TlsMaterial tls = new TlsMaterial(); Peers peers = new Peers(net, tls)) {
            progress.line("generator: " + threads + " event loop threads (" + net.transport() + "), TLS "
                    + TlsMaterial.engine());
            Target direct = Target.direct(false);
            List<Target> primaries = new ArrayList<>();
            ManagedServer reference = null;
            if (targetLink == null) {
                progress.line("starting the reference server: " + launcher.describe());
                reference = start(managed, () -> ManagedServer.reference("reference", launcher, user, null,
                        List.of(), logs));
            }
            for (VlessVersion v : versions) {
                String suffix = versions.size() > 1 || reference != null ? " " + v.name().toLowerCase(Locale.ROOT) : "";
                primaries.add(reference != null
                        ? Target.vless("reference" + suffix, reference.link(), v, reference.pid())
                        : Target.vless(name(ShareLink.parse(targetLink), "target") + suffix,
                                ShareLink.parse(targetLink), v, targetPid));
            }
            Target primary = primaries.get(0);
            Target compare = null;
            if (compareLink != null) {
                compare = Target.vless(name(ShareLink.parse(compareLink), "compare"), ShareLink.parse(compareLink),
                        compareVersion, comparePid);
            } else if (v2ray != null) {
                progress.line("starting " + v2rayName + ": " + v2ray + " -config <generated>");
                ManagedServer s = start(managed, () -> ManagedServer.v2ray("v2ray", v2ray, user, null, logs));
                compare = Target.vless(v2rayName + " v0", s.link(), VlessVersion.V0, s.pid());
            }
            names = new Report.Names(direct.name(), primary.name(), compare == null ? null : compare.name());
            List<Target> plain = new ArrayList<>();
            plain.add(direct);
            for (Target p : primaries) {
                boolean v1 = p.version() == VlessVersion.V1;
                if (!v1 || udpMode.contains("per-remote")) {
                    plain.add(p);
                }
                if (v1 && udpMode.contains("mux")) {
                    plain.add(p.withMux(p.name() + " mux"));
                }
            }
            if (compare != null) {
                plain.add(compare);
            }

            UdpEcho udpEcho = new UdpEcho(net, peers, tls);
            if (!preWarm.isZero()) {
                for (Target t : plain.subList(1, plain.size())) {
                    progress.line("server warm-up: " + t.name() + ", " + preWarm.toSeconds() + " s of UDP and TCP");
                    Timing half = new Timing(preWarm.dividedBy(2), Duration.ofMillis(100), 0);
                    udpEcho.run(new UdpEcho.Spec(8, 1200, 8), t, half, progress.quiet());
                    new TcpBulk(net, peers, tls).run(1, t, half, progress.quiet());
                }
            }
            for (UdpEcho.Spec spec : specs) {
                progress.line("udp echo: " + spec.label());
                results.addAll(median(plain, t -> udpEcho.run(spec, t, timing, progress)));
            }
            if (tcpBulk > 0) {
                TcpBulk bulk = new TcpBulk(net, peers, tls);
                progress.line("tcp bulk: " + TcpBulk.label(tcpBulk));
                results.addAll(median(plain, t -> bulk.run(tcpBulk, t, timing, progress)));
            }
            if (tcpConnect > 0) {
                List<Target> secure = new ArrayList<>();
                secure.add(Target.direct(true));
                if (targetLink != null) {
                    secure.addAll(primaries);
                } else {
                    ManagedServer s = start(managed, () -> ManagedServer.reference("reference-tls", launcher, user,
                            tls, List.of(), logs));
                    for (Target p : primaries) {
                        secure.add(Target.vless(p.name() + " (TLS)", s.link(), p.version(), s.pid()));
                    }
                }
                if (compareLink != null) {
                    secure.add(compare);
                } else if (v2ray != null) {
                    ManagedServer s = start(managed, () -> ManagedServer.v2ray("v2ray-tls", v2ray, user, tls, logs));
                    secure.add(Target.vless(compare.name() + " (TLS)", s.link(), VlessVersion.V0, s.pid()));
                }
                TcpConnect connect = new TcpConnect(net, peers, tls);
                if (!preWarm.isZero()) {
                    for (Target t : secure.subList(1, secure.size())) {
                        progress.line("server warm-up: " + t.name() + ", " + preWarm.toSeconds() + " s of TLS "
                                + "connections");
                        connect.run(tcpConnect, t, new Timing(preWarm, Duration.ofMillis(100), 0), progress.quiet());
                    }
                }
                progress.line("tcp connect: " + tcpConnect + " workers");
                results.addAll(median(secure, t -> connect.run(tcpConnect, t, timing, progress)));
            }
            if (peersSpec != null) {
                ManyPeers workload = new ManyPeers(net, peers, tls, progress);
                progress.line("many peers: " + peersSpec.label() + ", per remote and over UDP-MUX, TLS, fresh servers");
                // Per remote, the client holds one command-2 connection per remote: the per-context limit (256 by
                // default) is raised so that the workload measures the mode, not the limit's evictions.
                List<String> raised = List.of("--max-udp-connections-per-context", "100000", "--max-connections",
                        "1000000", "--max-table-entries", "1000000");
                for (int round = 0; round < repeat; round++) {
                    for (boolean mux : new boolean[] {false, true}) {
                        String mode = mux ? "mux" : "per-remote";
                        try (ManagedServer s = ManagedServer.reference("reference-peers-" + mode, launcher, user, tls,
                                raised, logs)) {
                            Target t = Target.vless("reference v1 (TLS)", s.link(), VlessVersion.V1, s.pid());
                            peerRows.add(workload.run(s, mux ? t.withMux("reference v1 mux (TLS)") : t, peersSpec));
                        }
                    }
                }
            }
            if (memory > 0) {
                MemoryProbe probe = new MemoryProbe(net, peers, progress);
                progress.line("memory: " + memory + " of each kind, on fresh processes");
                // A fixed, pre-touched heap: RSS then moves only with memory outside the heap, not with the heap
                // growing or (after the probe's full collections) shrinking.
                List<String> jvm = new ArrayList<>(List.of("-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch"));
                jvm.addAll(launcher.jvmOptions());
                ManagedServer.ReferenceLauncher pinned = new ManagedServer.ReferenceLauncher(launcher.jar(), jvm,
                        launcher.serverOptions());
                try (ManagedServer s = ManagedServer.reference("reference-memory", pinned, user, null,
                        List.of("--max-table-entries", "1000000", "--max-udp-connections-per-context", "100000",
                                "--max-connections", "1000000"), logs)) {
                    memoryRows.addAll(probe.run(s, Target.vless("reference v1", s.link(), VlessVersion.V1, s.pid()),
                            memory));
                }
                if (v2ray != null) {
                    try (ManagedServer s = ManagedServer.v2ray("v2ray-memory", v2ray, user, null, logs)) {
                        memoryRows.addAll(probe.run(s, Target.vless(v2rayName + " v0", s.link(), VlessVersion.V0,
                                s.pid()), memory));
                    }
                }
            }
        } finally {
            managed.forEach(ManagedServer::close);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
        Map<String, Object> options = new LinkedHashMap<>();
        options.put("warmup", warmup);
        options.put("duration", duration);
        options.put("repeat", repeat);
        options.put("rate", rate);
        options.put("threads", threads);
        options.put("protocol", protocol);
        options.put("udpMode", udpMode);
        options.put("manyPeers", manyPeers);
        options.put("server", targetLink != null ? targetLink : launcher.describe() + " " + serverJvmOptions);
        options.put("compare", compareLink != null ? compareLink : v2ray != null ? v2ray + " (" + v2rayName + ")"
                : null);
        String md = Report.write(out, machine, options, names, results, memoryRows, peerRows);
        stdout.println();
        stdout.print(md);
        stdout.println("\nwritten: " + out.resolve("results.json") + ", " + out.resolve("results.md"));
        return 0;
    }

    /** A workload run on one target. */
    private interface Workload {
        Result run(Target target) throws Exception;
    }

    /** Runs every target {@code repeat} times, interleaved, and keeps each target's median-rate run. */
    private List<Result> median(List<Target> targets, Workload workload) throws Exception {
        List<List<Result>> runs = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
            runs.add(new ArrayList<>());
        }
        for (int round = 0; round < repeat; round++) {
            for (int i = 0; i < targets.size(); i++) {
                runs.get(i).add(workload.run(targets.get(i)));
            }
        }
        List<Result> out = new ArrayList<>();
        for (List<Result> r : runs) {
            r.sort(Comparator.comparingDouble(Result::rate));
            Result m = r.get(r.size() / 2);
            out.add(m);
            stdout.printf(Locale.ROOT, "  = %s: %s %s%s%n", m.target(), Progress.human(m.rate()), m.rateUnit(),
                    m.serverCpuUsPerOp() == null ? "" : String.format(Locale.ROOT, ", server %.2f µs CPU/op",
                            m.serverCpuUsPerOp()));
        }
        return out;
    }

    private interface Starter {
        ManagedServer start() throws IOException, InterruptedException;
    }

    private static ManagedServer start(List<ManagedServer> managed, Starter starter)
            throws IOException, InterruptedException {
        ManagedServer s = starter.start();
        managed.add(s);
        return s;
    }

    private ManagedServer.ReferenceLauncher launcher() {
        Path jar = serverJar;
        if (jar == null) {
            String property = System.getProperty("vless.bench.serverJar");
            jar = property != null ? Path.of(property) : Path.of("reference-server", "target", "vless-server.jar");
        }
        List<String> jvm = new ArrayList<>();
        for (String o : serverJvmOptions.trim().split("\\s+")) {
            if (!o.isEmpty()) {
                jvm.add(o);
            }
        }
        List<String> server = new ArrayList<>();
        if (serverIoThreads != null) {
            server.addAll(List.of("--io-threads", serverIoThreads.toString()));
        }
        return new ManagedServer.ReferenceLauncher(jar, jvm, server);
    }

    private static String v2rayName(Path binary) {
        try {
            // v2ray 4 takes -version; an unknown word would start it with its default configuration instead.
            Process p = new ProcessBuilder(binary.toString(), "-version").redirectErrorStream(true).start();
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "v2ray";
            }
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            Matcher m = Pattern.compile("V2Ray ([0-9.]+)").matcher(text);
            return m.find() ? "v2ray " + m.group(1) : "v2ray";
        } catch (IOException e) {
            throw new CommandLine.ParameterException(new CommandLine(new LoadGenerator(System.out)),
                    "--v2ray " + binary + ": cannot run it (" + e.getMessage() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "v2ray";
        }
    }

    private static String name(ShareLink link, String fallback) {
        return link.name() != null ? link.name() : fallback;
    }

    private VlessVersion version(String option, String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "v1", "1" -> VlessVersion.V1;
            case "v0", "0" -> VlessVersion.V0;
            default -> throw new CommandLine.ParameterException(new CommandLine(this),
                    option + " '" + text + "' (expected: v1 or v0)");
        };
    }

    /** A duration in the syntax every tool shares; a bad one is a usage error (exit code 2). */
    private Duration duration(String option, String text) {
        try {
            return Durations.parse(option, text);
        } catch (UsageException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), e.getMessage());
        }
    }
}
