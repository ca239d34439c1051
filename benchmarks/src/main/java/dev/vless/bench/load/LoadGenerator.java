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
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
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
                    + "127.0.0.1 as a child process, plaintext and with TLS as the workloads need, and measure that).")
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

    @Option(names = "--security", split = ",", paramLabel = "plain|tls",
            description = "How the UDP workloads reach the servers this run starts (the reference server and v2ray), "
                    + "one or both, interleaved in the run (default: ${DEFAULT-VALUE}): plain = plaintext VLESS; "
                    + "tls = VLESS in TLS as deployed, with the run's own certificate, which the generator trusts. "
                    + "The direct path stays plain UDP, the baseline of both. A --target or --compare is measured "
                    + "as its link says.")
    List<String> security = new ArrayList<>(List.of("plain", "tls"));

    @Option(names = "--scaling", split = ",", paramLabel = "FLOWS",
            description = "Single-user against many-user scaling: for each FLOWS, the UDP echo (shape "
                    + "--scaling-shape) with all flows from one user (one NAT context on the server) and with each "
                    + "flow from a user of its own (FLOWS contexts), interleaved, on every server this run starts, "
                    + "in every --security and --udp-mode; such as 1,4,16,64 (default: none).")
    List<Integer> scaling = new ArrayList<>();

    @Option(names = "--scaling-shape", paramLabel = "PAYLOADxINFLIGHT",
            description = "Datagram size and datagrams in flight per flow for --scaling (default: ${DEFAULT-VALUE}).")
    String scalingShape = "1200x8";

    @Option(names = "--server-transport", split = ",", paramLabel = "auto|epoll|io_uring|nio",
            description = "Start the reference server once per event loop transport listed (its --transport; "
                    + "before that option existed, epoll = its default and nio = --no-native), each measured as a "
                    + "target of its own in every workload, interleaved, named such as 'reference v1 [io_uring]'; "
                    + "memory and many-peers use the first (default: the server's own choice, unnamed).")
    List<String> serverTransport = new ArrayList<>();

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
                    + "compare with it (VLESS v0; plaintext and TLS as --security asks, TLS for the connection "
                    + "workload).")
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

    @Option(names = "--server-options", paramLabel = "OPTIONS",
            description = "More options for every reference server child, space-separated, after the generator's "
                    + "own, such as '--udp-receive-buffer 212992' or '--tls-provider jdk'; not --transport, which "
                    + "--server-transport sets (default: none).")
    String serverOptions = "";

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
            throw usage("--repeat and --threads must be at least 1");
        }
        List<VlessVersion> versions = new ArrayList<>();
        for (String p : protocol) {
            versions.add(version("--protocol", p));
        }
        for (String m : udpMode) {
            if (!m.equals("per-remote") && !m.equals("mux")) {
                throw usage("--udp-mode " + m + " (expected: per-remote, mux, or both separated by a comma)");
            }
        }
        for (String s : security) {
            if (!s.equals("plain") && !s.equals("tls")) {
                throw usage("--security " + s + " (expected: plain, tls, or both separated by a comma)");
            }
        }
        List<UdpEcho.Spec> scalingSpecs = scalingSpecs();
        for (String t : serverTransport) {
            if (!List.of("auto", "epoll", "io_uring", "nio").contains(t)) {
                throw usage("--server-transport " + t + " (expected: auto, epoll, io_uring or nio, several separated "
                        + "by commas)");
            }
        }
        if (targetLink != null && (!serverTransport.isEmpty() || !scalingSpecs.isEmpty())) {
            throw usage("--server-transport and --scaling need the reference server this run starts, not --target: "
                    + "the many-user half needs a server that knows its users");
        }
        ManyPeers.Spec peersSpec;
        try {
            peersSpec = manyPeers.equalsIgnoreCase("none") ? null : ManyPeers.Spec.parse(manyPeers);
        } catch (IllegalArgumentException e) {
            throw usage("--many-peers: " + e.getMessage());
        }
        Duration preWarm = duration("--server-warmup", serverWarmup);
        VlessVersion compareVersion = version("--compare-protocol", compareProtocol);
        if (compareLink != null && v2ray != null) {
            throw usage("give --compare or --v2ray, not both");
        }
        boolean plainUdp = security.contains("plain");
        boolean tlsUdp = security.contains("tls");
        boolean udpWork = !specs.isEmpty() || !scalingSpecs.isEmpty();
        // Plaintext servers carry plain UDP and the TCP bulk workload; TLS servers TLS UDP and connection set-up.
        boolean needPlain = plainUdp && udpWork || tcpBulk > 0;
        boolean needTls = tlsUdp && udpWork || tcpConnect > 0;
        if (!needTls) {
            needPlain = true; // a server to name in the report, and to warm up, even when only memory is measured
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
        // The first user is everyone's; the others exist for --scaling's one-user-per-flow half.
        List<UUID> users = new ArrayList<>();
        users.add(UUID.randomUUID());
        int maxFlows = scalingSpecs.stream().mapToInt(UdpEcho.Spec::flows).max().orElse(1);
        while (users.size() < maxFlows) {
            users.add(UUID.randomUUID());
        }
        UUID user = users.get(0);
        ManagedServer.ReferenceLauncher launcher = launcher();
        List<String> transports = serverTransport.isEmpty() ? Collections.singletonList(null)
                : List.copyOf(new LinkedHashSet<>(serverTransport));
        String v2rayName = v2ray == null ? null : v2rayName(v2ray);
        Report.Names names;
        try (Net net = new Net(threads); TlsMaterial tls = new TlsMaterial(); Peers peers = new Peers(net, tls)) {
            progress.line("generator: " + threads + " event loop threads (" + net.transport() + "), TLS "
                    + TlsMaterial.engine());
            Target direct = Target.direct(false);
            // Per server: its target when plain and when in TLS (either null when not needed); the compare last.
            List<Target[]> bases = new ArrayList<>();
            List<Target[]> perRemote = new ArrayList<>(); // the bases without UDP-MUX: TCP workloads, primaries
            ManagedServer.ReferenceLauncher firstLauncher = launcher;
            if (targetLink == null) {
                boolean hasTransportFlag = !serverTransport.isEmpty() && hasTransportOption(launcher);
                for (int i = 0; i < transports.size(); i++) {
                    String transport = transports.get(i);
                    ManagedServer.ReferenceLauncher l = transport == null ? launcher
                            : launcher.withServerOptions(transportOptions(transport, hasTransportFlag));
                    if (i == 0) {
                        firstLauncher = l;
                    }
                    String tag = transport == null ? "" : "-" + transport;
                    progress.line("starting the reference server" + (transport == null ? "" : " [" + transport + "]")
                            + ": " + l.describe() + (needTls ? ", plaintext and TLS" : ""));
                    ManagedServer plain = !needPlain ? null : start(managed, () -> ManagedServer.reference(
                            "reference" + tag, l, users, null, List.of(), logs));
                    ManagedServer secure = !needTls ? null : start(managed, () -> ManagedServer.reference(
                            "reference-tls" + tag, l, users, tls, List.of(), logs));
                    String label = transport == null ? "" : " [" + transportLabel(transport, plain, secure) + "]";
                    for (VlessVersion v : versions) {
                        String base = "reference " + v.name().toLowerCase(Locale.ROOT);
                        Target[] pair = {
                            plain == null ? null : Target.vless(base + label, plain.link(), v, plain.pid()),
                            secure == null ? null : Target.vless(base + label, secure.link(), v, secure.pid())};
                        perRemote.add(pair);
                        boolean v1 = v == VlessVersion.V1;
                        if (!v1 || udpMode.contains("per-remote")) {
                            bases.add(pair);
                        }
                        if (v1 && udpMode.contains("mux")) {
                            bases.add(new Target[] {
                                pair[0] == null ? null : pair[0].withMux(base + " mux" + label),
                                pair[1] == null ? null : pair[1].withMux(base + " mux" + label)});
                        }
                    }
                }
            } else {
                // Another server, measured as its link says: the same target in both places.
                ShareLink link = ShareLink.parse(targetLink);
                for (VlessVersion v : versions) {
                    Target t = Target.vless(name(link, "target") + (versions.size() > 1 ? " "
                            + v.name().toLowerCase(Locale.ROOT) : ""), link, v, targetPid);
                    Target[] pair = link.tls() ? new Target[] {null, t} : new Target[] {t, null};
                    perRemote.add(pair);
                    if (v != VlessVersion.V1 || udpMode.contains("per-remote")) {
                        bases.add(pair);
                    }
                    if (v == VlessVersion.V1 && udpMode.contains("mux")) {
                        Target m = t.withMux(t.server() + " mux");
                        bases.add(link.tls() ? new Target[] {null, m} : new Target[] {m, null});
                    }
                }
            }
            Target primary = perRemote.get(0)[perRemote.get(0)[0] != null ? 0 : 1];
            Target[] compare = null;
            boolean compareScales = false;
            if (compareLink != null) {
                ShareLink link = ShareLink.parse(compareLink);
                Target c = Target.vless(name(link, "compare"), link, compareVersion, comparePid);
                compare = link.tls() ? new Target[] {null, c} : new Target[] {c, null};
            } else if (v2ray != null) {
                progress.line("starting " + v2rayName + ": " + v2ray + " -config <generated>"
                        + (needTls ? ", plaintext and TLS" : ""));
                ManagedServer plain = !needPlain ? null
                        : start(managed, () -> ManagedServer.v2ray("v2ray", v2ray, users, null, logs));
                ManagedServer secure = !needTls ? null
                        : start(managed, () -> ManagedServer.v2ray("v2ray-tls", v2ray, users, tls, logs));
                String base = v2rayName + " v0";
                compare = new Target[] {
                    plain == null ? null : Target.vless(base, plain.link(), VlessVersion.V0, plain.pid()),
                    secure == null ? null : Target.vless(base, secure.link(), VlessVersion.V0, secure.pid())};
                compareScales = true;
            }
            names = new Report.Names(direct.server(), primary.server(),
                    compare == null ? null : (compare[0] != null ? compare[0] : compare[1]).server());
            List<Target[]> all = new ArrayList<>(bases);
            if (compare != null) {
                all.add(compare);
            }
            // The UDP targets, each server plain and then in TLS as --security asks; the direct path first.
            List<Target> udpTargets = new ArrayList<>();
            udpTargets.add(direct);
            for (Target[] pair : all) {
                // Another server's link is measured as it says, whatever --security asks.
                boolean external = pair == compare ? compareLink != null : targetLink != null;
                if (pair[0] != null && (plainUdp || external)) {
                    udpTargets.add(pair[0]);
                }
                if (pair[1] != null && (tlsUdp || external)) {
                    udpTargets.add(pair[1]);
                }
            }

            UdpEcho udpEcho = new UdpEcho(net, peers, tls);
            if (!preWarm.isZero()) {
                List<Target> warm = new ArrayList<>(udpTargets.subList(1, udpTargets.size()));
                if (tcpBulk > 0) {
                    for (Target[] pair : all) {
                        if (pair[0] != null && !warm.contains(pair[0])) {
                            warm.add(pair[0]);
                        }
                    }
                }
                for (Target t : warm) {
                    progress.line("server warm-up: " + t.name() + ", " + preWarm.toSeconds() + " s of UDP and TCP");
                    Timing half = new Timing(preWarm.dividedBy(2), Duration.ofMillis(100), 0);
                    udpEcho.run(new UdpEcho.Spec(8, 1200, 8), t, half, progress.quiet());
                    new TcpBulk(net, peers, tls).run(1, t, half, progress.quiet());
                }
            }
            for (UdpEcho.Spec spec : specs) {
                progress.line("udp echo: " + spec.label());
                results.addAll(median(udpTargets, t -> udpEcho.run(spec, t, timing, progress)));
            }
            for (UdpEcho.Spec spec : scalingSpecs) {
                List<Target> scaled = new ArrayList<>();
                scaled.add(direct);
                for (Target t : udpTargets.subList(1, udpTargets.size())) {
                    boolean isCompare = compare != null && (t == compare[0] || t == compare[1]);
                    if (isCompare && !compareScales) {
                        continue; // its users are not ours
                    }
                    scaled.add(t.withUsers(users.subList(0, 1)));
                    if (spec.flows() > 1) {
                        scaled.add(t.withUsers(users.subList(0, spec.flows())));
                    }
                }
                progress.line("udp scaling: " + spec.label() + (spec.flows() > 1 ? ", one user against " + spec.flows()
                        + " users" : ", one user"));
                results.addAll(median(scaled, t -> udpEcho.run("udp-scaling", spec, t, timing, progress)));
            }
            if (tcpBulk > 0) {
                List<Target> plainTargets = new ArrayList<>();
                plainTargets.add(direct);
                for (Target[] pair : all) {
                    if (pair[0] != null && !pair[0].mux()) {
                        plainTargets.add(pair[0]);
                    }
                }
                TcpBulk bulk = new TcpBulk(net, peers, tls);
                progress.line("tcp bulk: " + TcpBulk.label(tcpBulk));
                results.addAll(median(plainTargets, t -> bulk.run(tcpBulk, t, timing, progress)));
            }
            if (tcpConnect > 0) {
                List<Target> secure = new ArrayList<>();
                secure.add(Target.direct(true));
                for (Target[] pair : perRemote) {
                    // Another server's link is measured as it is, TLS or not.
                    secure.add(pair[1] != null ? pair[1] : pair[0]);
                }
                if (compare != null) {
                    secure.add(compare[1] != null ? compare[1] : compare[0]);
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
            ManagedServer.ReferenceLauncher first = firstLauncher;
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
                        try (ManagedServer s = ManagedServer.reference("reference-peers-" + mode, first, user, tls,
                                raised, logs)) {
                            Target t = Target.vless("reference v1", s.link(), VlessVersion.V1, s.pid());
                            peerRows.add(workload.run(s, mux ? t.withMux("reference v1 mux") : t, peersSpec));
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
                jvm.addAll(first.jvmOptions());
                ManagedServer.ReferenceLauncher pinned = new ManagedServer.ReferenceLauncher(first.jar(), jvm,
                        first.serverOptions());
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
        options.put("security", security);
        options.put("scaling", scaling);
        options.put("scalingShape", scalingShape);
        options.put("serverTransport", serverTransport);
        options.put("manyPeers", manyPeers);
        options.put("server", targetLink != null ? targetLink : launcher.describe() + " " + serverJvmOptions);
        options.put("serverOptions", launcher.serverOptions());
        options.put("compare", compareLink != null ? compareLink : v2ray != null ? v2ray + " (" + v2rayName + ")"
                : null);
        String md = Report.write(out, machine, options, names, results, memoryRows, peerRows);
        stdout.println();
        stdout.print(md);
        stdout.println("\nwritten: " + out.resolve("results.json") + ", " + out.resolve("results.md"));
        return 0;
    }

    /** The --scaling workloads: one per flow count, each of --scaling-shape. */
    private List<UdpEcho.Spec> scalingSpecs() {
        List<UdpEcho.Spec> out = new ArrayList<>();
        if (scaling.isEmpty()) {
            return out;
        }
        String[] f = scalingShape.trim().toLowerCase(Locale.ROOT).split("x");
        try {
            if (f.length != 2) {
                throw new IllegalArgumentException("expected PAYLOADxINFLIGHT, such as 1200x8");
            }
            for (int flows : new LinkedHashSet<>(scaling)) {
                out.add(new UdpEcho.Spec(flows, Integer.parseInt(f[0]), Integer.parseInt(f[1])));
            }
        } catch (IllegalArgumentException e) {
            throw usage("--scaling " + scaling + " --scaling-shape " + scalingShape + ": " + e.getMessage());
        }
        return out;
    }

    /** The reference server's options for {@code transport}: its --transport when it has one, else the old flags. */
    private List<String> transportOptions(String transport, boolean hasTransportFlag) {
        if (hasTransportFlag) {
            return List.of("--transport", transport);
        }
        return switch (transport) {
            case "nio" -> List.of("--no-native");
            case "epoll", "auto" -> List.of(); // its default: epoll where available, checked against its banner
            default -> throw usage("--server-transport " + transport + ": this reference server has no --transport "
                    + "option (its --help does not list it), so only epoll and nio can be chosen; rebuild it from a "
                    + "tree that has --transport");
        };
    }

    /** Whether the reference server's --help lists --transport (the option is newer than --no-native). */
    private static boolean hasTransportOption(ManagedServer.ReferenceLauncher launcher)
            throws IOException, InterruptedException {
        List<String> cmd = launcher.command();
        cmd.add("--help");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String help = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return help.contains("--transport");
    }

    /**
     * The name a transport goes by in reports, checked against what the server's banner says it runs: a server that
     * fell back to another transport must not be reported under the one asked for. {@code auto} names its choice.
     */
    private static String transportLabel(String asked, ManagedServer... servers) throws IOException {
        String ran = null;
        for (ManagedServer s : servers) {
            if (s == null) {
                continue;
            }
            ran = s.transport();
            if (ran == null) {
                throw new IOException(s.name() + ": its banner names no transport (see " + s.log() + ")");
            }
            if (!asked.equals("auto") && !normalize(ran).equals(normalize(asked))) {
                throw new IOException(s.name() + ": asked for transport " + asked + ", but the server runs " + ran
                        + " (see " + s.log() + "); is " + asked + " available on this machine?");
            }
        }
        return asked.equals("auto") && ran != null ? "auto: " + ran : asked;
    }

    private static String normalize(String transport) {
        return transport.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(new CommandLine(this), message);
    }

    /** A workload run on one target. */
    private interface Workload {
        Result run(Target target) throws Exception;
    }

    /**
     * Runs every target {@code repeat} times, interleaved, and keeps each target's median-rate run. Each round starts
     * one target later ({@link #roundOrder}): in a fixed order the target measured right after the direct path was
     * 10 % ahead of the one after it, whichever server that was.
     */
    private List<Result> median(List<Target> targets, Workload workload) throws Exception {
        List<List<Result>> runs = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
            runs.add(new ArrayList<>());
        }
        for (int round = 0; round < repeat; round++) {
            for (int i : roundOrder(round, targets.size())) {
                runs.get(i).add(workload.run(targets.get(i)));
            }
        }
        List<Result> out = new ArrayList<>();
        for (List<Result> r : runs) {
            r.sort(Comparator.comparingDouble(Result::rate));
            Result m = r.get(r.size() / 2);
            out.add(m);
            stdout.printf(Locale.ROOT, "  = %s: %s %s%s%s%s%n", m.target(), Progress.human(m.rate()), m.rateUnit(),
                    m.serverCpuUsPerOp() == null ? "" : String.format(Locale.ROOT, ", server %.2f µs CPU/op",
                            m.serverCpuUsPerOp()),
                    m.serverCores() == null ? "" : String.format(Locale.ROOT, ", %.2f cores", m.serverCores()),
                    m.loss() == null || m.clientDrops() == null ? "" : String.format(Locale.ROOT,
                            ", loss %.3f%%, drops %sgenerator %d", 100 * m.loss(), m.serverDrops() != null
                                    ? "server " + m.serverDrops() + " / " : "direct".equals(m.server()) ? ""
                                    : "server n/a / ", m.clientDrops()));
        }
        return out;
    }

    /** The order of {@code n} targets in round {@code round}: rotated by one each round. */
    static int[] roundOrder(int round, int n) {
        int[] order = new int[n];
        for (int k = 0; k < n; k++) {
            order[k] = (round + k) % n;
        }
        return order;
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
        for (String o : serverOptions.trim().split("\\s+")) {
            if (!o.isEmpty()) {
                server.add(o);
            }
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
