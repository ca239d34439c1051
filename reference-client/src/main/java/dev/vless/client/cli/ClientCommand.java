// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.cli;

import dev.vless.cli.CommandLines;
import dev.vless.cli.Durations;
import dev.vless.cli.UsageException;
import dev.vless.client.UdpMode;
import dev.vless.client.UpstreamTls;
import dev.vless.client.VlessClient;
import dev.vless.client.VlessClientBuilder;
import dev.vless.client.VlessClientConfig;
import dev.vless.client.internal.ClientTls;
import dev.vless.codec.VlessVersion;
import dev.vless.link.ShareLink;
import io.netty.util.NetUtil;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The {@code vless-client} command: a local SOCKS5 server that sends its traffic through the VLESS server a share
 * link names. Prints where it listens, runs until SIGTERM or SIGINT, then stops and prints the final counters.
 */
@Command(name = "vless-client",
        mixinStandardHelpOptions = true,
        versionProvider = ClientCommand.Version.class,
        sortOptions = false,
        usageHelpWidth = 110,
        headerHeading = "%n",
        header = "The VLESS v1 reference client: a SOCKS5 front with full-cone UDP (CRUMFURS).",
        descriptionHeading = "%n",
        description = {
            "Listens for SOCKS5 (CONNECT and UDP ASSOCIATE) and sends everything through the VLESS server of the "
                    + "share link, one TLS connection per TCP stream and per remote UDP address (or, with --udp-mode "
                    + "mux, one for all UDP).",
            "Example: vless-client --server 'vless://UUID@vpn.example.com:443?security=tls&type=tcp#vpn'",
            "    then: curl --socks5-hostname 127.0.0.1:1080 https://example.com/",
            Durations.SYNTAX},
        optionListHeading = "%nOptions:%n",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:stopped by SIGTERM or SIGINT, or --help/--version",
            "1:the client could not start (for example the SOCKS5 port is in use)",
            "2:bad command line or share link (the message says what to change)"})
public final class ClientCommand {

    /** picocli's usage error code, for every mistake on the command line. */
    static final int EXIT_USAGE = CommandLine.ExitCode.USAGE;
    /** The client failed while starting or stopping. */
    static final int EXIT_FAILURE = CommandLine.ExitCode.SOFTWARE;
    private static final String NAME = "vless-client";

    @Option(names = "--server", paramLabel = "LINK", required = true,
            description = "The VLESS server as a share link: " + ShareLink.EXAMPLE + " (the reference server "
                    + "prints one at start; quote it for the shell).")
    String server;

    @Option(names = "--socks", paramLabel = "HOST:PORT",
            description = "Where the SOCKS5 front listens; IPv6 in brackets, port 0 for any free port "
                    + "(default: ${DEFAULT-VALUE}).")
    String socks = "127.0.0.1:1080";

    @Option(names = "--socks-user", paramLabel = "USER",
            description = "Require SOCKS5 user name/password login (RFC 1929) with this user name; needs --socks-pass.")
    String socksUser;

    @Option(names = "--socks-pass", paramLabel = "PASS",
            description = "The SOCKS5 password; needs --socks-user. Other local users can see it in the process "
                    + "list.")
    String socksPass;

    @Option(names = "--insecure",
            description = "Accept any server certificate: for tests only, an active attacker can read everything.")
    boolean insecure;

    @Option(names = "--ca", paramLabel = "FILE",
            description = "Verify the server certificate against the CA certificates in this PEM file (and the "
                    + "link's sni or host) instead of the system CAs or the link's pcs pin.")
    Path ca;

    @Option(names = "--v0",
            description = "Speak VLESS v0, for servers that only know v0: no CRUMFURS, so UDP is per destination "
                    + "and datagrams from other remotes cannot come back.")
    boolean v0;

    @Option(names = "--udp-idle", paramLabel = "DURATION",
            description = "Close a connection for a remote UDP address after this long without a datagram "
                    + "(default: ${DEFAULT-VALUE}).")
    String udpIdle = "60s";

    @Option(names = "--udp-mode", paramLabel = "MODE",
            description = "per-remote: one connection per remote UDP address plus CRUMFURS; mux: one UDP-MUX "
                    + "connection (command 5) for all UDP of this client, falling back to per-remote when the server "
                    + "does not support it (default: ${DEFAULT-VALUE}).")
    String udpMode = "per-remote";

    @Option(names = "--mux-answer-timeout", paramLabel = "DURATION",
            description = "With --udp-mode mux: how long to wait for the server's answer byte before falling back to "
                    + "per-remote (default: ${DEFAULT-VALUE}).")
    String muxAnswerTimeout = "5s";

    @Option(names = "--log-level", paramLabel = "LEVEL",
            description = "error, warn, info or debug (default: ${DEFAULT-VALUE}).")
    String logLevel = "info";

    /** Only picocli and {@link #parse} make one. */
    ClientCommand() {
    }

    /**
     * Runs the client until SIGTERM or SIGINT.
     *
     * @param args the command line; {@code --help} lists every option
     */
    public static void main(String[] args) {
        CommandLines.configureLogging(args); // before any logger exists: slf4j-simple reads its level once
        CommandLines.leakDetectionOffUnlessAsked();
        System.exit(run(args, System.out, System.err, ClientCommand::runUntilSignalled));
    }

    /**
     * Parses {@code args}, starts the client and hands it to {@code whileRunning}; when that returns, the run is over.
     * Help, version and every error are printed here.
     *
     * @return the exit code: 0, {@link #EXIT_USAGE} for a bad command line, {@link #EXIT_FAILURE} when the client
     *         could not start
     */
    static int run(String[] args, PrintStream out, PrintStream err, Consumer<VlessClient> whileRunning) {
        CommandLine cl = new CommandLine(new ClientCommand());
        ClientCommand command;
        try {
            cl.parseArgs(args);
            command = cl.getCommand();
        } catch (ParameterException e) {
            err.println(NAME + ": " + oneLine(e.getMessage()) + " (see " + NAME + " --help)");
            return EXIT_USAGE;
        }
        if (cl.isUsageHelpRequested()) {
            cl.usage(out);
            return CommandLine.ExitCode.OK;
        }
        if (cl.isVersionHelpRequested()) {
            cl.printVersionHelp(out);
            return CommandLine.ExitCode.OK;
        }
        VlessClient client;
        try {
            client = command.start(out, err);
        } catch (UsageException e) {
            err.println(NAME + ": " + oneLine(e.getMessage()));
            return EXIT_USAGE;
        } catch (StartFailure e) {
            err.println(NAME + ": " + oneLine(e.getMessage()));
            return EXIT_FAILURE;
        }
        whileRunning.accept(client);
        return CommandLine.ExitCode.OK;
    }

    /** Parses {@code args} into a command without running it; throws picocli's exception for bad options. */
    static ClientCommand parse(String... args) {
        CommandLine cl = new CommandLine(new ClientCommand());
        cl.parseArgs(args);
        return cl.getCommand();
    }

    /**
     * The client builder these options describe, every value checked; nothing is resolved or bound.
     *
     * @throws UsageException for any value or combination the client cannot run with
     */
    VlessClientBuilder toBuilder() throws UsageException {
        VlessClientBuilder b = VlessClient.builder();
        ShareLink link;
        try {
            link = ShareLink.parse(server);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--server: " + e.getMessage());
        }
        b.shareLink(link);
        if (insecure && ca != null) {
            throw new UsageException("--insecure turns certificate checks off and --ca sets how to check them; "
                    + "give one or the other");
        }
        if (link.security() == ShareLink.Security.NONE && (insecure || ca != null)) {
            throw new UsageException((insecure ? "--insecure" : "--ca") + " applies to TLS, but the share link says "
                    + "security=none; drop the option or use a link with security=tls");
        }
        if (insecure) {
            b.tls(UpstreamTls.insecure(link.sni()));
        } else if (ca != null) {
            if (!Files.isRegularFile(ca) || !Files.isReadable(ca)) {
                throw new UsageException("--ca " + ca + ": " + (Files.exists(ca) ? "cannot read it" : "no such file")
                        + " (expected: a readable PEM file of CA certificates)");
            }
            UpstreamTls tls = UpstreamTls.caFile(ca, link.sni());
            try {
                ClientTls.create(tls); // load it now, so that a file that is not PEM fails here
            } catch (IllegalArgumentException e) {
                throw new UsageException("--ca " + oneLine(e.getMessage()));
            }
            b.tls(tls);
        }
        if (v0) {
            b.version(VlessVersion.V0);
        }
        HostPort hp = hostPort("--socks", socks);
        InetAddress socksIp;
        try {
            socksIp = InetAddress.getByName(hp.host());
        } catch (UnknownHostException e) {
            throw new UsageException("--socks: cannot resolve host '" + hp.host() + "' (give an IP address of this "
                    + "host, such as 127.0.0.1)");
        }
        b.socks(new InetSocketAddress(socksIp, hp.port()));
        if ((socksUser == null) != (socksPass == null)) {
            throw new UsageException((socksUser == null ? "--socks-pass needs --socks-user"
                    : "--socks-user needs --socks-pass") + " (a SOCKS5 login takes both)");
        }
        if (socksUser != null) {
            set("--socks-user/--socks-pass", () -> b.socksAuth(socksUser, socksPass));
        }
        Duration idle = duration("--udp-idle", udpIdle);
        if (idle.isZero()) {
            throw new UsageException("--udp-idle must be longer than zero (expected: such as 60s)");
        }
        b.udpIdle(idle);
        UdpMode mode;
        try {
            mode = UdpMode.parse(udpMode);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--udp-mode '" + udpMode + "' (expected: per-remote or mux)");
        }
        if (mode == UdpMode.MUX && v0) {
            throw new UsageException("--udp-mode mux needs VLESS v1, but --v0 is given (command 5 does not exist in "
                    + "v0); drop one of them");
        }
        b.udpMode(mode);
        Duration answer = duration("--mux-answer-timeout", muxAnswerTimeout);
        if (answer.isZero()) {
            throw new UsageException("--mux-answer-timeout must be longer than zero (expected: such as 5s)");
        }
        b.muxAnswerTimeout(answer);
        CommandLines.logLevel(logLevel);
        return b;
    }

    /** The configuration these options describe; see {@link #toBuilder()}. */
    VlessClientConfig toConfig() throws UsageException {
        try {
            return toBuilder().buildConfig();
        } catch (IllegalArgumentException e) {
            throw new UsageException(oneLine(e.getMessage()));
        }
    }

    /**
     * Builds and starts the client, then prints where it listens and what it talks to.
     *
     * @throws UsageException when the options are unusable
     * @throws StartFailure   when the client could not start, for example because the port is in use
     */
    VlessClient start(PrintStream out, PrintStream err) throws UsageException, StartFailure {
        VlessClient client;
        try {
            client = toBuilder().build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(oneLine(e.getMessage()));
        }
        VlessClientConfig config = client.config();
        UpstreamTls.Mode mode = config.tls().mode();
        if (mode == UpstreamTls.Mode.PLAINTEXT) {
            err.println(NAME + ": WARNING: the share link says security=none: user ID and traffic go to the server "
                    + "in clear text. Only for tests, or a server behind a TLS terminator on a trusted network.");
        } else if (mode == UpstreamTls.Mode.INSECURE) {
            err.println(NAME + ": WARNING: the server certificate is not checked (" + (insecure ? "--insecure"
                    : "allowInsecure=1 in the link") + "): anyone on the path can impersonate the server.");
        }
        if (!config.socksAddress().getAddress().isLoopbackAddress() && !config.socksAuthRequired()) {
            err.println(NAME + ": WARNING: SOCKS5 on " + NetUtil.toSocketAddressString(config.socksAddress())
                    + " without --socks-user/--socks-pass: everyone who can reach that address can use your server.");
        }
        try {
            client.start().get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IllegalArgumentException) {
                throw new UsageException(oneLine(cause.getMessage()));
            }
            throw new StartFailure(cause.getMessage() != null ? cause.getMessage() : cause.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            client.stop();
            throw new StartFailure("interrupted while starting");
        }
        printBanner(client, out);
        return client;
    }

    private void printBanner(VlessClient client, PrintStream out) {
        VlessClientConfig c = client.config();
        String socksText = NetUtil.toSocketAddressString(client.socksAddress());
        out.println(NAME + " " + Version.projectVersion() + ": SOCKS5 on " + socksText
                + (c.socksAuthRequired() ? " (login required)" : " (no login)") + " -> VLESS "
                + (c.version() == VlessVersion.V0 ? "v0" : "v1") + " server " + c.serverText()
                + " (resolved " + NetUtil.toSocketAddressString(client.serverAddress()) + ", transport "
                + client.transportName() + ")");
        out.println("upstream: " + c.tls().describe()
                + (c.tls().mode() == UpstreamTls.Mode.PLAINTEXT ? "" : ", via " + ClientTls.engine()));
        String udp;
        if (c.version() == VlessVersion.V0) {
            udp = "v0, one connection per destination, no CRUMFURS (only the destination's own replies come back)";
        } else if (c.udpMode() == UdpMode.MUX) {
            udp = "full cone over one UDP-MUX connection for all associations, opened on first use (per remote "
                    + "address with CRUMFURS if the server gives no answer within "
                    + c.muxAnswerTimeout().toMillis() / 1000.0 + " s)";
        } else {
            udp = "full cone: one connection per remote address, CRUMFURS opened on first use";
        }
        out.println("UDP: " + udp + "; connections closed after " + c.udpIdle().toMillis() / 1000.0 + " s idle");
        out.println("try: curl --socks5-hostname " + socksText + " https://example.com/");
        out.println("running; stop with Ctrl-C or SIGTERM");
        out.flush();
    }

    /**
     * Stops {@code client}, waiting at most five seconds, and prints the final counters.
     *
     * @return the exit code: 0, or {@link #EXIT_FAILURE} when it did not stop in time
     */
    static int stop(VlessClient client, PrintStream out, PrintStream err) {
        return CommandLines.stop(NAME, client::stop, () -> client.stats().format(), out, err, EXIT_FAILURE);
    }

    private static void runUntilSignalled(VlessClient client) {
        CommandLines.runUntilSignalled("vless-client-shutdown", () -> stop(client, System.out, System.err));
    }

    /** A host and port as written, the host without brackets. */
    record HostPort(String host, int port) {
    }

    /** {@code HOST:PORT}, with an IPv6 host in brackets ({@code [::1]:1080}); port 0 picks a free port. */
    static HostPort hostPort(String option, String text) throws UsageException {
        String s = text.trim();
        String host;
        String port;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw new UsageException(option + " '" + text + "' is not HOST:PORT (expected: such as [::1]:1080)");
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
            if (!NetUtil.isValidIpV6Address(host)) {
                throw new UsageException(option + " '" + text + "': '" + host + "' in brackets is not an IPv6 "
                        + "address (expected: such as [::1]:1080)");
            }
        } else {
            int colon = s.lastIndexOf(':');
            if (colon < 0) {
                throw new UsageException(option + " '" + text + "' has no port (expected: HOST:PORT such as "
                        + "127.0.0.1:1080)");
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
            if (host.indexOf(':') >= 0) {
                throw new UsageException(option + " '" + text + "': put an IPv6 address in brackets (expected: "
                        + "such as [::1]:1080)");
            }
            if (host.isEmpty()) {
                throw new UsageException(option + " '" + text + "' has no host (expected: HOST:PORT such as "
                        + "127.0.0.1:1080)");
            }
        }
        int p;
        try {
            p = port.length() > 5 ? -1 : Integer.parseInt(port);
        } catch (NumberFormatException e) {
            p = -1;
        }
        if (p < 0 || p > 65535) {
            throw new UsageException(option + " '" + text + "': '" + port + "' is not a port (expected: 0-65535, 0 "
                    + "for any free port)");
        }
        return new HostPort(host, p);
    }

    /** A duration in the syntax every tool shares ({@link Durations}), such as {@code 60s} or {@code 500ms}. */
    static Duration duration(String option, String text) throws UsageException {
        return Durations.parse(option, text);
    }

    /** Runs a builder setter, turning its complaint into one naming the option. */
    private static void set(String option, Runnable setter) throws UsageException {
        try {
            setter.run();
        } catch (IllegalArgumentException e) {
            throw new UsageException(option + ": " + e.getMessage());
        }
    }

    private static String oneLine(String message) {
        return message == null ? "" : message.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    /** The client could not start although the options were fine. */
    static final class StartFailure extends Exception {
        private static final long serialVersionUID = 1L;

        StartFailure(String message) {
            super(message);
        }
    }

    /** {@code --version}: this build's version, Netty's and Java's. */
    static final class Version implements IVersionProvider {

        @Override
        public String[] getVersion() {
            String netty = io.netty.util.Version.identify().values().stream()
                    .filter(v -> v.artifactId().equals("netty-common"))
                    .map(io.netty.util.Version::artifactVersion)
                    .findFirst().orElse("unknown");
            return new String[] {
                NAME + " " + projectVersion() + " (VLESS v1 with full-cone UDP, and v0)",
                "Netty " + netty + ", Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }

        /** The version in the executable jar's manifest; a build from the IDE or classes has none. */
        static String projectVersion() {
            String v = ClientCommand.class.getPackage().getImplementationVersion();
            return v != null ? v : "(development build)";
        }
    }
}
