// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import dev.vless.conformance.RunEvents;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketException;
import java.nio.file.Files;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One client conformance run: its options, the scripted server (one for the run, so that the share link stays the
 * same), the users, what happened to the run, and whether the client still runs. Found by the cases' extension
 * through the launch's configuration parameter, as {@code ConformanceRun} is for server runs.
 */
public final class ClientRun implements AutoCloseable {

    /** The launch's configuration parameter that names the run. */
    public static final String RUN_PARAMETER = "vless.conformance.clientRun";

    private static final Map<String, ClientRun> REGISTERED = new ConcurrentHashMap<>();
    /** Starts of one client, each on a fresh port, before a port taken by another process fails the start. */
    private static final int PORT_ATTEMPTS = 3;
    /** Ports asked of the kernel before giving up on one that is free for TCP and UDP alike. */
    private static final int PORT_TRIES = 50;

    private final ClientOptions options;
    private final RunEvents events = new RunEvents();
    private final String id = UUID.randomUUID().toString();
    private final UUID user = UUID.randomUUID();
    private final UUID user2 = UUID.randomUUID();
    private ScriptedServer server;
    /** The one client of a launcher that cannot start another ({@code --socks}). */
    private RunningClient shared;
    private volatile String down;

    ClientRun(ClientOptions options) {
        this.options = options;
    }

    static ClientRun of(ExtensionContext context) {
        Optional<String> id = context.getConfigurationParameter(RUN_PARAMETER);
        ClientRun run = id.map(REGISTERED::get).orElse(null);
        if (run == null) {
            throw new IllegalStateException("client conformance cases run only through ClientConformance (the"
                    + " launch names no client run)");
        }
        return run;
    }

    ClientRun register() {
        REGISTERED.put(id, this);
        return this;
    }

    String id() {
        return id;
    }

    public ClientOptions options() {
        return options;
    }

    public RunEvents events() {
        return events;
    }

    /** The user ID of the client under test. */
    public UUID user() {
        return user;
    }

    /** A second user, for a second client (hole punching between two clients). */
    public UUID user2() {
        return user2;
    }

    /** The scripted server, started on first use. */
    public synchronized ScriptedServer server() throws IOException {
        if (server == null) {
            server = ScriptedServer.start(options.listen().getAddress(), options.listen().getPort(), options.tls());
            if (options.caOut() != null) {
                Files.writeString(options.caOut(), server.certificatePem());
            }
        }
        return server;
    }

    /**
     * Starts a client of {@code forUser} (a fresh one when the launcher can start one, else the user's own client, the
     * same every time). The caller closes what it gets unless {@link #isShared}.
     */
    synchronized RunningClient startClient(UUID forUser) throws IOException {
        if (!options.launcher().restartable()) {
            if (shared == null) {
                shared = options.launcher().start(server().link(user), null);
            }
            return shared;
        }
        for (int attempt = 1; ; attempt++) {
            InetSocketAddress socks = freeSocksAddress();
            try {
                return options.launcher().start(server().link(forUser), socks);
            } catch (IOException e) {
                // The port was free for both protocols a moment ago; another process can still take it before the
                // client binds. That says nothing about the client, so it gets another port, twice at most.
                if (attempt == PORT_ATTEMPTS || !portTaken(e)) {
                    throw e;
                }
                events.add("the client could not bind its SOCKS5 port " + socks.getPort() + ", which another"
                        + " process took after the harness found it free; started it again on another port");
            }
        }
    }

    private static boolean portTaken(IOException e) {
        return String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("address already in use");
    }

    boolean isShared(RunningClient c) {
        return c == shared;
    }

    /** Why the client can no longer be checked (it exited and cannot be restarted), or {@code null}. */
    String down() {
        return down;
    }

    void markDown(String why) {
        if (down == null) {
            down = why;
            events.add("the client stopped: " + why + "; later cases are TARGET_DOWN");
        }
    }

    /**
     * A loopback address for a client's SOCKS5 front whose port is free for TCP and for UDP: a front with UDP
     * ASSOCIATE binds both (v2ray's socks inbound exits when the UDP port is taken), and a port the kernel hands out
     * for TCP may be held by a UDP socket, such as a NAT port an in-process server keeps cooling.
     */
    public static InetSocketAddress freeSocksAddress() throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        for (int i = 0; i < PORT_TRIES; i++) {
            try (ServerSocket tcp = new ServerSocket(0, 1, loopback)) {
                try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(loopback, tcp.getLocalPort()))) {
                    return new InetSocketAddress(loopback, udp.getLocalPort());
                } catch (SocketException taken) {
                    // UDP holds this one: ask the kernel for another.
                }
            }
        }
        throw new IOException("found no loopback port free for both TCP and UDP in " + PORT_TRIES + " tries (are the"
                + " ephemeral ports used up? see net.ipv4.ip_local_port_range)");
    }

    @Override
    public synchronized void close() {
        REGISTERED.remove(id);
        if (shared != null) {
            shared = null; // not ours to stop: the user started it
        }
        if (server != null) {
            server.close();
        }
    }
}
