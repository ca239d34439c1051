// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.cli;

import dev.vless.cli.CommandLines;
import dev.vless.cli.Durations;
import dev.vless.cli.UsageException;
import dev.vless.server.Cidr;
import dev.vless.server.DestinationFilter;
import dev.vless.server.MappingPolicy;
import dev.vless.server.TlsConfig;
import dev.vless.server.TransportChoice;
import dev.vless.server.VlessServer;
import dev.vless.server.VlessServerBuilder;
import dev.vless.server.VlessServerConfig;
import dev.vless.server.internal.FdLimit;
import dev.vless.server.internal.TlsContexts;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * The {@code vless-server} command: parses flags into a {@link VlessServerConfig}, starts a {@link VlessServer},
 * prints where it listens and a share link per user, and stops it gracefully on SIGTERM or SIGINT.
 */
@Command(name = "vless-server",
        mixinStandardHelpOptions = true,
        versionProvider = ServerCommand.Version.class,
        sortOptions = false,
        usageHelpWidth = 110,
        headerHeading = "%n",
        header = "The VLESS v0 + v1 reference server, with full-cone UDP (CRUMFURS).",
        descriptionHeading = "%n",
        description = {
            "Serves VLESS v0 and v1 on one TLS listener. Prints a share link per user at start and runs until "
                    + "SIGTERM or SIGINT, then closes every connection and prints the final counters.",
            Durations.SYNTAX},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:stopped by SIGTERM or SIGINT, or --help/--version",
            "1:the server could not start (for example the port is in use)",
            "2:bad command line (the message says what to change)"})
public final class ServerCommand {

    /** picocli's usage error code, for every mistake on the command line. */
    static final int EXIT_USAGE = CommandLine.ExitCode.USAGE;
    /** The server failed while starting or stopping. */
    static final int EXIT_FAILURE = CommandLine.ExitCode.SOFTWARE;
    private static final String NAME = "vless-server";
    private static final List<String> PRIVATE_RANGES = List.of("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
            "100.64.0.0/10", "169.254.0.0/16", "fc00::/7", "fe80::/10");
    private static final List<String> LOOPBACK_RANGES = List.of("127.0.0.0/8", "::1/128");

    static final class Network {
        @Option(names = "--listen", paramLabel = "HOST:PORT",
                description = "Address to accept connections on; IPv6 in brackets ([::]:8443), port 0 for any free "
                        + "port (default: ${DEFAULT-VALUE}).")
        String listen = "0.0.0.0:8443";

        @Option(names = "--public-host", paramLabel = "HOST",
                description = "Host name or address clients connect to, used in the share links (default: the "
                        + "listen host, or this machine's host name when listening on a wildcard).")
        String publicHost;

        @Option(names = "--outbound-ipv4", paramLabel = "ADDR",
                description = "Local IPv4 address the UDP sockets bind, so every datagram leaves from one address "
                        + "(default: the wildcard; pin one on a multi-homed host to keep mapping "
                        + "endpoint-independent).")
        String outboundIpv4;

        @Option(names = "--outbound-ipv6", paramLabel = "ADDR",
                description = "Local IPv6 address the UDP sockets bind (default: the wildcard).")
        String outboundIpv6;
    }

    static final class Users {
        @Option(names = "--user", paramLabel = "UUID",
                description = "A user ID to serve; repeat for more users.")
        List<String> users = new ArrayList<>();

        @Option(names = "--users-file", paramLabel = "PATH",
                description = "A file with one user UUID per line; blank lines and text after # are ignored. "
                        + "Combines with --user.")
        Path usersFile;
    }

    static final class Tls {
        @Option(names = "--cert", paramLabel = "PEM",
                description = "Certificate chain (PEM) to serve; needs --key. Without --cert the server makes a "
                        + "self-signed certificate at start and prints its SHA-256 fingerprint.")
        Path cert;

        @Option(names = "--key", paramLabel = "PEM",
                description = "Private key (unencrypted PKCS#8 PEM) matching --cert.")
        Path key;

        @Option(names = "--self-signed-name", paramLabel = "NAME",
                description = "Host name or IP the self-signed certificate is issued for, and the SNI in the "
                        + "share links (default: ${DEFAULT-VALUE}).")
        String selfSignedName = "localhost";

        @Option(names = "--tls-provider", paramLabel = "jdk|openssl",
                description = "TLS engine: openssl (BoringSSL; falls back to jdk where it does not load) costs far "
                        + "less CPU per handshake; both keep TLS 1.3 half-close (default: ${DEFAULT-VALUE}).")
        String provider = "openssl";

        @Option(names = "--plaintext-for-testing",
                description = "No TLS at all: only for tests, or behind a TLS terminator on the same host. "
                        + "User IDs and traffic then cross the network in clear text.")
        boolean plaintext;
    }

    static final class Udp {
        @Option(names = "--mapping", paramLabel = "eim|per-destination",
                description = "Which socket a new UDP destination gets: eim = the context's one socket per address "
                        + "family (endpoint-independent, full cone, hole punching works); per-destination = a new "
                        + "socket each (default: ${DEFAULT-VALUE}).")
        String mapping = "eim";

        @Option(names = "--udp-lifetime", paramLabel = "DURATION",
                description = "How long an unused UDP socket, a mapping entry or an idle UDP connection lives; at "
                        + "least 120s (RFC 4787 REQ-5) (default: ${DEFAULT-VALUE}).")
        String udpLifetime = "300s";

        @Option(names = "--allow-short-udp-lifetime-for-testing",
                description = "Accept --udp-lifetime below 120s, so tests of expiry need not wait minutes.")
        boolean allowShortLifetime;

        @Option(names = "--cool-down", paramLabel = "DURATION",
                description = "How long a released UDP port stays bound, discarding late datagrams, before the "
                        + "OS may hand it to someone else; 0 closes at once (default: ${DEFAULT-VALUE}).")
        String coolDown = "30s";

        @Option(names = "--udp-mux", paramLabel = "on|off",
                description = "Serve command 5, UDP-MUX: all datagrams of a client in one connection, each frame "
                        + "labelled with its address; off, command 5 is treated like any unknown command "
                        + "(default: ${DEFAULT-VALUE}).")
        String udpMux = "on";

        @Option(names = "--udp-receive-buffer", paramLabel = "BYTES",
                description = "SO_RCVBUF of each NAT context's UDP socket, where all of a client's remotes answer; "
                        + "the kernel caps it at net.core.rmem_max and the server warns when it does; at least "
                        + "4096 (default: ${DEFAULT-VALUE} = 4 MiB).")
        int udpReceiveBuffer = VlessServerBuilder.DEFAULT_UDP_RECEIVE_BUFFER;

        @Option(names = "--max-datagram-size", paramLabel = "BYTES",
                description = "Largest UDP payload relayed; larger ones are dropped and counted "
                        + "(default: ${DEFAULT-VALUE}).")
        int maxDatagramSize = 65535;
    }

    static final class Limits {
        @Option(names = "--handshake-timeout", paramLabel = "DURATION",
                description = "Time from TCP accept for TLS and the whole request header; one fixed deadline, "
                        + "never extended by arriving bytes (default: ${DEFAULT-VALUE}).")
        String handshakeTimeout = "4s";

        @Option(names = "--max-connections", paramLabel = "N",
                description = "Open client connections at most; more are closed at accept (default: half of what "
                        + "the file descriptor limit, ulimit -n, leaves after 256 and the cooling ports, at most "
                        + "65536; the banner prints it).")
        Integer maxConnections;

        @Option(names = "--max-cooling-sockets", paramLabel = "N",
                description = "Released UDP ports cooling down at once, server-wide; beyond it the oldest is closed "
                        + "early, as it is beyond a user's share (--max-sockets-per-context x "
                        + "--max-contexts-per-user) (default: a quarter of the file descriptor limit after 256, at "
                        + "most 16384).")
        Integer maxCoolingSockets;

        @Option(names = "--max-table-entries", paramLabel = "N",
                description = "Dialed plus heard entries per NAT context; the least recently used is evicted "
                        + "(default: ${DEFAULT-VALUE}).")
        int maxTableEntries = 4096;

        @Option(names = "--max-sockets-per-context", paramLabel = "N",
                description = "UDP sockets per NAT context; beyond it per-destination mapping reuses the family's "
                        + "first socket (default: ${DEFAULT-VALUE}).")
        int maxSocketsPerContext = 64;

        @Option(names = "--max-udp-connections-per-context", paramLabel = "N",
                description = "Open UDP connections per NAT context; beyond it the least recently active is "
                        + "closed (default: ${DEFAULT-VALUE}).")
        int maxUdpConnectionsPerContext = 256;

        @Option(names = "--max-unsent-bytes", paramLabel = "BYTES",
                description = "Bytes waiting to reach a client, per connection or CRUMFURS, before datagrams for it "
                        + "are dropped and counted; at least 65536 (default: ${DEFAULT-VALUE} = 1 MiB).")
        int maxUnsentBytes = 1 << 20;

        @Option(names = "--max-unsent-bytes-per-context", paramLabel = "BYTES",
                description = "Bytes waiting to reach the clients of one NAT context, all its connections and its "
                        + "CRUMFURS together, before datagrams for them are dropped and counted (context_backlog); "
                        + "a user holds at most this times --max-contexts-per-user "
                        + "(default: ${DEFAULT-VALUE} = 16 MiB).")
        long maxUnsentBytesPerContext = 16L << 20;

        @Option(names = "--max-unsent-bytes-total", paramLabel = "BYTES",
                description = "Bytes waiting to reach all clients of the server before datagrams are dropped and "
                        + "counted (server_backlog) (default: a quarter of the JVM's direct memory, at least 64 MiB).")
        Long maxUnsentBytesTotal;

        @Option(names = "--max-direct-memory", paramLabel = "BYTES",
                description = "Direct memory in use above which datagrams toward clients are dropped and counted "
                        + "(direct_memory) instead of allocated; 0 disables the check (default: three quarters of "
                        + "the JVM's direct memory, -XX:MaxDirectMemorySize).")
        Long maxDirectMemory;

        @Option(names = "--max-contexts-per-user", paramLabel = "N",
                description = "NAT contexts (client IPs) per user ID; UDP requests beyond it are closed "
                        + "(default: ${DEFAULT-VALUE}).")
        int maxContextsPerUser = 8;

        @Option(names = "--max-mux-per-context", paramLabel = "N",
                description = "Open UDP-MUX connections per NAT context; beyond it the least recently active is "
                        + "closed; they do not count toward --max-udp-connections-per-context "
                        + "(default: ${DEFAULT-VALUE}).")
        int maxMuxPerContext = 8;

        @Option(names = "--mux-new-destinations-per-second", paramLabel = "N",
                description = "New UDP destinations the UDP-MUX connections of one NAT context may add per second "
                        + "(a burst of one second's worth passes at once); frames to further new destinations are "
                        + "dropped and counted (new_destination_rate); 0 for no limit (default: ${DEFAULT-VALUE}).")
        int muxNewDestinationsPerSecond = VlessServerBuilder.DEFAULT_MUX_NEW_DESTINATIONS_PER_SECOND;
    }

    static final class Security {
        @Option(names = "--allow-destination", paramLabel = "CIDR",
                description = "Let clients reach this range although the default policy refuses it (loopback, "
                        + "private, link-local, multicast, this host's addresses); repeatable, such as "
                        + "10.1.0.0/16 or ::1/128.")
        List<String> allowDestinations = new ArrayList<>();

        @Option(names = "--allow-loopback",
                description = "Let clients reach 127.0.0.0/8 and ::1, that is services on this host.")
        boolean allowLoopback;

        @Option(names = "--allow-private",
                description = "Let clients reach private networks: 10/8, 172.16/12, 192.168/16, 100.64/10, "
                        + "169.254/16, fc00::/7, fe80::/10.")
        boolean allowPrivate;

        @Option(names = "--fallback", paramLabel = "HOST:PORT",
                description = "Hand connections with bad input, with every byte received, to this server (such as "
                        + "a web server) instead of discarding until the handshake deadline.")
        String fallback;
    }

    static final class Operations {
        @Option(names = "--stats-interval", paramLabel = "DURATION",
                description = "Log the counters at this interval (info level); 0 = never "
                        + "(default: ${DEFAULT-VALUE}).")
        String statsInterval = "0";

        @Option(names = "--io-threads", paramLabel = "N",
                description = "Event loop threads; 0 = Netty's default, two per CPU core (default: ${DEFAULT-VALUE}).")
        int ioThreads;

        @Option(names = "--transport", paramLabel = "auto|epoll|io_uring|nio",
                description = "Netty transport: auto (the fastest here: epoll), epoll, io_uring or nio; a native one "
                        + "that does not load falls back, with a warning (default: ${DEFAULT-VALUE}).")
        String transport = "auto";

        @Option(names = "--no-native",
                description = "Use Java NIO even where a native transport is available (the same as --transport nio).")
        boolean noNative;

        @Option(names = "--log-level", paramLabel = "LEVEL",
                description = "error, warn, info or debug (default: ${DEFAULT-VALUE}).")
        String logLevel = "info";
    }

    @ArgGroup(validate = false, heading = "%nNetwork%n", order = 1)
    Network network = new Network();

    @ArgGroup(validate = false, heading = "%nUsers%n", order = 2)
    Users users = new Users();

    @ArgGroup(validate = false, heading = "%nTLS%n", order = 3)
    Tls tls = new Tls();

    @ArgGroup(validate = false, heading = "%nNAT and UDP%n", order = 4)
    Udp udp = new Udp();

    @ArgGroup(validate = false, heading = "%nLimits%n", order = 5)
    Limits limits = new Limits();

    @ArgGroup(validate = false, heading = "%nSecurity%n", order = 6)
    Security security = new Security();

    @ArgGroup(validate = false, heading = "%nOperations%n", order = 7)
    Operations operations = new Operations();

    /** Set by {@link #parse}: which options were given, to tell a default from an explicit value. */
    private ParseResult parseResult;

    /** Only picocli and {@link #parse} make one. */
    ServerCommand() {
    }

    /**
     * Runs the server until SIGTERM or SIGINT.
     *
     * @param args the command line; {@code --help} lists every option
     */
    public static void main(String[] args) {
        // Before anything can create a logger: slf4j-simple reads its level once, at its first logger.
        CommandLines.configureLogging(args); // before any logger exists: slf4j-simple reads its level once
        CommandLines.leakDetectionOffUnlessAsked();
        System.exit(run(args, System.out, System.err, ServerCommand::runUntilSignalled));
    }

    /**
     * Parses {@code args}, starts the server and hands it to {@code whileRunning}; when that returns, the run is over.
     * Help, version and every error are printed here.
     *
     * @return the exit code: 0, {@link #EXIT_USAGE} for a bad command line, {@link #EXIT_FAILURE} when the server
     *         could not start
     */
    static int run(String[] args, PrintStream out, PrintStream err, Consumer<VlessServer> whileRunning) {
        CommandLine cl = commandLine(new ServerCommand());
        ServerCommand command;
        try {
            command = parse(cl, args);
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
        VlessServer server;
        try {
            server = command.start(out, err);
        } catch (UsageException e) {
            err.println(NAME + ": " + oneLine(e.getMessage()));
            return EXIT_USAGE;
        } catch (StartFailure e) {
            err.println(NAME + ": " + oneLine(e.getMessage()));
            return EXIT_FAILURE;
        }
        whileRunning.accept(server);
        return CommandLine.ExitCode.OK;
    }

    /** A command line set up for {@code command}. */
    static CommandLine commandLine(ServerCommand command) {
        return new CommandLine(command).setCaseInsensitiveEnumValuesAllowed(true);
    }

    /** Parses {@code args} into a new command; throws picocli's exception for unknown or malformed options. */
    static ServerCommand parse(String... args) {
        return parse(commandLine(new ServerCommand()), args);
    }

    private static ServerCommand parse(CommandLine cl, String... args) {
        ParseResult result = cl.parseArgs(args);
        ServerCommand command = cl.getCommand();
        command.parseResult = result;
        return command;
    }

    /**
     * The server builder these options describe, every value checked; no server is started and nothing is bound.
     *
     * @throws UsageException for any value or combination the server cannot run with
     */
    VlessServerBuilder toBuilder() throws UsageException {
        VlessServerBuilder b = VlessServer.builder();
        OptionValues.HostPort listen = OptionValues.hostPort("--listen", network.listen, 0);
        b.listen(OptionValues.resolve("--listen", listen));
        b.users(users());
        b.tls(tlsConfig());
        b.mappingPolicy(mappingPolicy());

        Duration lifetime = OptionValues.duration("--udp-lifetime", udp.udpLifetime);
        if (lifetime.isZero()) {
            throw new UsageException("--udp-lifetime must be longer than zero (expected: such as 300s or 5m)");
        }
        if (lifetime.compareTo(VlessServerBuilder.MIN_UDP_LIFETIME) < 0 && !udp.allowShortLifetime) {
            throw new UsageException("--udp-lifetime " + udp.udpLifetime + " is below the 120 s that RFC 4787 "
                    + "REQ-5 requires (spec LIF-2); give at least 120s, or add "
                    + "--allow-short-udp-lifetime-for-testing in tests");
        }
        set("--udp-lifetime", () -> b.udpLifetime(lifetime));
        if (udp.allowShortLifetime) {
            b.allowShortLifetimeForTesting();
        }
        Duration handshake = OptionValues.duration("--handshake-timeout", limits.handshakeTimeout);
        if (handshake.isZero()) {
            throw new UsageException("--handshake-timeout must be longer than zero (expected: such as 4s; clients "
                    + "need time for TLS and the request header)");
        }
        set("--handshake-timeout", () -> b.handshakeTimeout(handshake));
        Duration coolDown = OptionValues.duration("--cool-down", udp.coolDown);
        set("--cool-down", () -> b.coolDown(coolDown));
        Duration stats = OptionValues.duration("--stats-interval", operations.statsInterval);
        set("--stats-interval", () -> b.statsInterval(stats));

        if (limits.maxConnections != null) {
            set("--max-connections", () -> b.maxConnections(limits.maxConnections));
        }
        if (limits.maxCoolingSockets != null) {
            set("--max-cooling-sockets", () -> b.maxCoolingSockets(limits.maxCoolingSockets));
        }
        set("--max-table-entries", () -> b.maxTableEntries(limits.maxTableEntries));
        set("--max-sockets-per-context", () -> b.maxSocketsPerContext(limits.maxSocketsPerContext));
        set("--max-udp-connections-per-context",
                () -> b.maxUdpConnectionsPerContext(limits.maxUdpConnectionsPerContext));
        set("--max-unsent-bytes", () -> b.maxUnsentBytes(limits.maxUnsentBytes));
        set("--max-unsent-bytes-per-context", () -> b.maxUnsentBytesPerContext(limits.maxUnsentBytesPerContext));
        if (limits.maxUnsentBytesTotal != null) {
            set("--max-unsent-bytes-total", () -> b.maxUnsentBytesTotal(limits.maxUnsentBytesTotal));
        }
        if (limits.maxDirectMemory != null) {
            set("--max-direct-memory", () -> b.maxDirectMemory(limits.maxDirectMemory));
        }
        set("--max-contexts-per-user", () -> b.maxContextsPerUser(limits.maxContextsPerUser));
        set("--max-datagram-size", () -> b.maxDatagramSize(udp.maxDatagramSize));
        b.udpMux(onOff("--udp-mux", udp.udpMux));
        set("--max-mux-per-context", () -> b.maxMuxPerContext(limits.maxMuxPerContext));
        set("--mux-new-destinations-per-second",
                () -> b.muxNewDestinationsPerSecond(limits.muxNewDestinationsPerSecond));
        set("--io-threads", () -> b.ioThreads(operations.ioThreads));
        try {
            b.transport(operations.noNative ? TransportChoice.NIO : TransportChoice.parse(operations.transport));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--transport: " + e.getMessage());
        }
        set("--udp-receive-buffer", () -> b.udpReceiveBuffer(udp.udpReceiveBuffer));
        CommandLines.logLevel(operations.logLevel); // checked here too, so that a bad level is an error and not ignored

        if (security.fallback != null) {
            OptionValues.HostPort fb = OptionValues.hostPort("--fallback", security.fallback, 1);
            b.fallback(OptionValues.resolve("--fallback", fb));
        }
        b.destinations(destinations());
        if (network.outboundIpv4 != null) {
            b.outboundAddress(OptionValues.outboundAddress("--outbound-ipv4", network.outboundIpv4,
                    Inet4Address.class));
        }
        if (network.outboundIpv6 != null) {
            b.outboundAddress(OptionValues.outboundAddress("--outbound-ipv6", network.outboundIpv6,
                    Inet6Address.class));
        }
        return b;
    }

    /** The configuration these options describe; see {@link #toBuilder()}. */
    VlessServerConfig toConfig() throws UsageException {
        VlessServerBuilder b = toBuilder();
        try {
            return b.buildConfig();
        } catch (IllegalArgumentException e) {
            throw new UsageException(oneLine(e.getMessage()));
        }
    }

    /** Every user from {@code --user} and {@code --users-file}, in the order given, without duplicates. */
    List<UUID> users() throws UsageException {
        Set<UUID> all = new LinkedHashSet<>();
        for (String u : users.users) {
            all.add(OptionValues.uuid("--user", u));
        }
        if (users.usersFile != null) {
            List<UUID> fromFile = OptionValues.usersFile(users.usersFile);
            if (fromFile.isEmpty() && all.isEmpty()) {
                throw new UsageException("--users-file " + users.usersFile + " holds no UUID (expected: one UUID per "
                        + "line; " + OptionValues.UUID_HINT + ")");
            }
            all.addAll(fromFile);
        }
        if (all.isEmpty()) {
            throw new UsageException("no users: give --user UUID (repeatable) or --users-file PATH ("
                    + OptionValues.UUID_HINT + ")");
        }
        return List.copyOf(all);
    }

    private TlsConfig tlsConfig() throws UsageException {
        TlsConfig config = tlsMaterialConfig();
        switch (tls.provider.trim().toLowerCase(Locale.ROOT)) {
            case "jdk":
                return config.withProvider(TlsConfig.Provider.JDK);
            case "openssl":
                return config.withProvider(TlsConfig.Provider.OPENSSL);
            default:
                throw new UsageException("--tls-provider " + tls.provider + " is unknown (expected: jdk or openssl)");
        }
    }

    private TlsConfig tlsMaterialConfig() throws UsageException {
        Tls t = tls;
        boolean nameGiven = given("--self-signed-name");
        if (t.plaintext) {
            if (t.cert != null || t.key != null) {
                throw new UsageException("--plaintext-for-testing turns TLS off, so --cert and --key cannot be used "
                        + "with it; drop one or the other");
            }
            if (nameGiven) {
                throw new UsageException("--plaintext-for-testing turns TLS off, so --self-signed-name cannot be "
                        + "used with it; drop one or the other");
            }
            return TlsConfig.plaintext();
        }
        if (t.cert == null && t.key == null) {
            if (t.selfSignedName == null || t.selfSignedName.isBlank()) {
                throw new UsageException("--self-signed-name is empty (expected: a host name or IP such as "
                        + "vpn.example.com)");
            }
            return TlsConfig.selfSigned(t.selfSignedName.trim());
        }
        if (t.key == null) {
            throw new UsageException("--cert needs --key: give the PEM private key (unencrypted PKCS#8) that matches "
                    + t.cert);
        }
        if (t.cert == null) {
            throw new UsageException("--key needs --cert: give the PEM certificate chain that matches " + t.key);
        }
        if (nameGiven) {
            throw new UsageException("--self-signed-name applies only without --cert; drop it (the certificate "
                    + "names the host)");
        }
        checkReadable("--cert", t.cert, "a PEM certificate chain");
        checkReadable("--key", t.key, "a PEM private key");
        TlsFiles.checkPair(t.cert, t.key);
        TlsConfig config = TlsConfig.pem(t.cert, t.key);
        try {
            // Load them as the server will, so that what the TLS engine refuses is a command-line error too.
            TlsContexts.create(config);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--cert/--key: " + oneLine(e.getMessage()));
        } catch (GeneralSecurityException | IOException e) {
            throw new UsageException("--cert " + t.cert + " / --key " + t.key + ": cannot load them ("
                    + oneLine(String.valueOf(e.getMessage())) + "); give a PEM certificate chain and its "
                    + "unencrypted PKCS#8 key");
        }
        return config;
    }

    private static boolean onOff(String option, String value) throws UsageException {
        switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "on":
            case "true":
            case "yes":
                return true;
            case "off":
            case "false":
            case "no":
                return false;
            default:
                throw new UsageException(option + " '" + value + "' is neither on nor off (expected: on or off)");
        }
    }

    private MappingPolicy mappingPolicy() throws UsageException {
        switch (udp.mapping.trim().toLowerCase(Locale.ROOT)) {
            case "eim":
            case "endpoint-independent":
                return MappingPolicy.ENDPOINT_INDEPENDENT;
            case "per-destination":
                return MappingPolicy.PER_DESTINATION;
            default:
                throw new UsageException("--mapping '" + udp.mapping + "' is not a mapping policy (expected: eim or "
                        + "per-destination)");
        }
    }

    private DestinationFilter destinations() throws UsageException {
        List<Cidr> allowed = new ArrayList<>();
        if (security.allowLoopback) {
            for (String r : LOOPBACK_RANGES) {
                allowed.add(Cidr.parse(r));
            }
        }
        if (security.allowPrivate) {
            for (String r : PRIVATE_RANGES) {
                allowed.add(Cidr.parse(r));
            }
        }
        for (String r : security.allowDestinations) {
            allowed.add(OptionValues.cidr("--allow-destination", r));
        }
        return allowed.isEmpty() ? DestinationFilter.secureDefault() : DestinationFilter.allowing(allowed);
    }

    /**
     * The host the share links name: {@code --public-host}, else the listen host, else (on a wildcard) this
     * machine's host name.
     */
    String publicHost() throws UsageException {
        if (network.publicHost != null && !network.publicHost.isBlank()) {
            String h = network.publicHost.trim();
            return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
        }
        OptionValues.HostPort listen = OptionValues.hostPort("--listen", network.listen, 0);
        if (!listen.isWildcard()) {
            return listen.host();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return listen.host();
        }
    }

    /** Whether the share links name this machine's host name because nothing better was given. */
    private boolean publicHostIsGuessed() {
        try {
            return (network.publicHost == null || network.publicHost.isBlank())
                    && OptionValues.hostPort("--listen", network.listen, 0).isWildcard();
        } catch (UsageException e) {
            return false;
        }
    }

    /**
     * Builds and starts the server, then prints what it listens on, its transport, TLS and the share links.
     *
     * @throws UsageException when the options are unusable
     * @throws StartFailure   when the server could not start, for example because the port is in use
     */
    VlessServer start(PrintStream out, PrintStream err) throws UsageException, StartFailure {
        VlessServerBuilder builder = toBuilder();
        List<UUID> userList = users();
        String publicHost = publicHost();
        VlessServer server;
        try {
            server = builder.build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(oneLine(e.getMessage()));
        }
        VlessServerConfig config = server.config();
        if (config.tls().mode() == TlsConfig.Mode.PLAINTEXT) {
            err.println("**********************************************************************************");
            err.println("WARNING: --plaintext-for-testing: TLS is OFF. VLESS has no encryption of its own:");
            err.println("user IDs and all traffic cross the network in clear text. Use this only for tests");
            err.println("or behind a TLS terminator on the same host.");
            err.println("**********************************************************************************");
        }
        try {
            server.start().get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IllegalArgumentException) {
                throw new UsageException(oneLine(cause.getMessage()));
            }
            if (cause instanceof IllegalStateException && cause.getCause() != null) {
                // The bind failed: name the address as it was given, and what to do.
                throw new StartFailure("cannot listen on " + NetUtil.toSocketAddressString(config.listenAddress())
                        + ": " + cause.getCause().getMessage() + " (choose another --listen port or address, or "
                        + "stop the program that holds it)");
            }
            throw new StartFailure(cause.getMessage() != null ? cause.getMessage() : cause.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.stop();
            throw new StartFailure("interrupted while starting");
        }
        printBanner(server, userList, publicHost, out);
        return server;
    }

    private void printBanner(VlessServer server, List<UUID> userList, String publicHost, PrintStream out) {
        VlessServerConfig c = server.config();
        InetSocketAddress local = server.localAddress();
        out.println(NAME + " " + Version.projectVersion() + " listening on " + NetUtil.toSocketAddressString(local)
                + " (transport " + server.transportName() + ", " + (c.ioThreads() == 0 ? "two I/O threads per core"
                : c.ioThreads() + " I/O threads") + ")");
        switch (c.tls().mode()) {
            case PLAINTEXT:
                out.println("TLS: off (--plaintext-for-testing)");
                break;
            case SELF_SIGNED:
                out.println("TLS: " + tlsEngine(server) + ", self-signed certificate for " + c.tls().serverName()
                        + " (clients pin the fingerprint below; use --cert/--key for a CA-issued one)");
                break;
            default:
                out.println("TLS: " + tlsEngine(server) + ", certificate " + c.tls().certificate());
        }
        if (server.certificateFingerprint() != null) {
            out.println("certificate SHA-256 fingerprint: " + server.certificateFingerprint());
        }
        out.println("UDP: " + (c.mappingPolicy() == MappingPolicy.ENDPOINT_INDEPENDENT
                ? "endpoint-independent mapping (full cone)" : "per-destination mapping")
                + ", lifetime " + seconds(c.udpLifetime()) + ", cool-down " + seconds(c.coolDown())
                + (c.udpMux() ? ", UDP-MUX on (--udp-mux)" : ", UDP-MUX off"));
        long fds = FdLimit.processLimit();
        out.println("limits: " + c.maxConnections() + " connections (--max-connections), " + c.maxCoolingSockets()
                + " cooling UDP ports (--max-cooling-sockets), " + c.maxV0UdpSocketsPerClientIp()
                + " v0 UDP sockets per user and client IP, " + c.maxV0UdpSocketsPerUser() + " per user; "
                + (fds > 0 ? "file descriptor limit " + fds : "file descriptor limit unknown"));
        out.println("destinations: private, loopback, link-local, multicast and own addresses refused"
                + (c.destinations().allowed().isEmpty() ? "" : "; allowed: " + c.destinations().allowed()));
        if (c.fallback() != null) {
            out.println("fallback for bad input: " + NetUtil.toSocketAddressString(c.fallback()));
        }
        for (UUID user : userList) {
            out.println("share link: " + server.shareLink(user, publicHost, publicHost));
        }
        if (publicHostIsGuessed()) {
            out.println("(the links name this machine's host name; set --public-host to the name clients use)");
        }
        out.println("running; stop with Ctrl-C or SIGTERM");
        out.flush();
    }

    /**
     * Stops {@code server}, waiting at most five seconds, and prints the final counters.
     *
     * @return the exit code: 0, or {@link #EXIT_FAILURE} when it did not stop in time
     */
    static int stop(VlessServer server, PrintStream out, PrintStream err) {
        out.println("stopping: closing the listener and every connection");
        return CommandLines.stop(NAME, server::stop, () -> server.stats().format(), out, err, EXIT_FAILURE);
    }

    private static void runUntilSignalled(VlessServer server) {
        CommandLines.runUntilSignalled("vless-shutdown", () -> stop(server, System.out, System.err));
    }

    private boolean given(String option) {
        return parseResult != null && parseResult.hasMatchedOption(option);
    }

    private static void checkReadable(String option, Path file, String what) throws UsageException {
        if (!Files.exists(file)) {
            throw new UsageException(option + " " + file + ": no such file (expected: " + what + ")");
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new UsageException(option + " " + file + ": cannot read it (expected: a readable file with " + what
                    + "; check its permissions)");
        }
    }

    /** Runs a builder setter, turning its complaint into one naming the option. */
    private static void set(String option, Runnable setter) throws UsageException {
        try {
            setter.run();
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            int colon = m.indexOf(": ");
            throw new UsageException(option + " " + (colon >= 0 ? m.substring(colon + 2) : m));
        }
    }

    private static String tlsEngine(VlessServer server) {
        return "TLS 1.3 (1.2 allowed) on " + server.tlsEngine();
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    private static String oneLine(String message) {
        return message == null ? "" : message.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    /** The server could not start although the options were fine. */
    static final class StartFailure extends Exception {
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
                NAME + " " + projectVersion() + " (VLESS v0 and v1 with full-cone UDP)",
                "Netty " + netty + ", Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }

        static String projectVersion() {
            try (InputStream in = ServerCommand.class.getResourceAsStream("version.properties")) {
                if (in == null) {
                    return "(development build)";
                }
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "(development build)");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
