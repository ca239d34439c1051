// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.PreconditionFailed;
import dev.vless.conformance.TcpPeer;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.spec.Profile;
import dev.vless.spec.SpecRule;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.opentest4j.TestAbortedException;

/**
 * What a client case works with: the scripted server (reset for the case), the client under test (started fresh for
 * the case, on first use, after the case set the script), applications that use its SOCKS5 front, peers, and the
 * wire log. Everything is closed when the case ends.
 */
public final class ClientHarness implements AutoCloseable {

    private final ClientRun run;
    private final WireLog log = new WireLog();
    private final ScriptedServer server;
    private final ServerScript script;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<RunningClient> clients = new ArrayList<>();
    private final Map<String, String> facts = new LinkedHashMap<>();
    private RunningClient client;
    private int peers;

    ClientHarness(ClientRun run) throws IOException {
        this.run = run;
        this.server = run.server();
        this.script = server.reset(log, !run.options().launcher().restartable());
    }

    /** The evidence of this case. */
    public WireLog log() {
        return log;
    }

    /** The scripted server. */
    public ScriptedServer server() {
        return server;
    }

    /** How the server answers: set it before the client acts. */
    public ServerScript script() {
        return script;
    }

    /** The profile the client is held to. */
    public Profile profile() {
        return run.options().profile();
    }

    /** Whether the scripted server speaks TLS. */
    public boolean tls() {
        return server.tls();
    }

    public Duration ioTimeout() {
        return run.options().ioTimeout();
    }

    /** The client's declared idle time for command-2 connections (CLI-3), or {@code null}. */
    public Duration udpIdle() {
        return run.options().udpIdle();
    }

    /** The user ID of the client under test. */
    public UUID user() {
        return run.user();
    }

    /** The user ID of {@link #secondClient}: its NAT context at the server is this user's. */
    public UUID secondUser() {
        return run.user2();
    }

    /** Records a finding for the report. */
    public synchronized void fact(String key, String value) {
        facts.put(key, value);
        log.note("fact " + key + " = " + value);
    }

    synchronized Map<String, String> facts() {
        return new LinkedHashMap<>(facts);
    }

    /** The client under test, started for this case on first use. */
    public synchronized RunningClient client() throws IOException {
        if (client == null) {
            client = start(run.user());
        }
        return client;
    }

    /**
     * A second client of the harness, of another user (another NAT context at the server), for cases between two
     * clients; not applicable when the launcher cannot start more than one.
     */
    public synchronized RunningClient secondClient() throws IOException {
        if (!run.options().launcher().restartable()) {
            throw new TestAbortedException(dev.vless.conformance.ConformanceExtension.NOT_APPLICABLE
                    + "needs two clients at once, and the harness cannot start them (give --client-cmd)");
        }
        return start(run.user2());
    }

    /** Whether each case gets a client fresh from start (else one client, the user's, runs through every case). */
    public boolean freshClients() {
        return run.options().launcher().restartable();
    }

    /** Requires a client started fresh for this case (its first UDP use, its first CRUMFURS, ...). */
    public void requireFreshClient(String why) {
        if (!run.options().launcher().restartable()) {
            throw new TestAbortedException(dev.vless.conformance.ConformanceExtension.NOT_APPLICABLE + why
                    + ": needs a client fresh from start, and the harness cannot start one (give --client-cmd)");
        }
    }

    private RunningClient start(UUID user) throws IOException {
        RunningClient c;
        try {
            c = run.startClient(user);
        } catch (IOException e) {
            throw new PreconditionFailed(null, "the client under test did not start: " + e.getMessage());
        }
        clients.add(c);
        log.note("client started" + (user.equals(run.user()) ? "" : " (second user)") + ", SOCKS5 front at "
                + c.socks());
        return c;
    }

    /** An application of the client under test. */
    public SocksApplication app() throws IOException {
        return new SocksApplication(client().socks(), log);
    }

    /** An application of {@code c}. */
    public SocksApplication app(RunningClient c) {
        return new SocksApplication(c.socks(), log);
    }

    /** A UDP association of a new application of the client under test. */
    public SocksApplication.Udp udp() throws IOException {
        return track(app().associate());
    }

    /** A UDP peer on the {@code i}-th peer address (0-based). */
    public UdpPeer udpPeer(int i) throws IOException {
        return track(new UdpPeer(peerAddress(i), log, "peer" + (++peers)));
    }

    /** A TCP peer on the first peer address; {@code echo} answers every byte. */
    public TcpPeer tcpPeer(boolean echo) throws IOException {
        return track(new TcpPeer(peerAddress(0), log, echo));
    }

    private InetAddress peerAddress(int i) {
        List<InetAddress> p = run.options().peers();
        return p.get(Math.min(i, p.size() - 1));
    }

    /** Closes {@code r} with the case. */
    public synchronized <T extends AutoCloseable> T track(T r) {
        resources.add(r);
        return r;
    }

    /** The first connection of {@code command} within the I/O timeout, or {@code null}. */
    public ServerConnection awaitConnection(VlessCommand command) throws InterruptedException {
        return server.await(c -> c.is(command), ioTimeout());
    }

    /**
     * Which UDP path the client took for its first datagram: the first CRUMFURS or UDP-MUX request. Fails the setup
     * (BLOCKED by {@code rule}) when it took neither within the I/O timeout.
     */
    public ServerConnection firstUdpRequest(SpecRule rule) throws InterruptedException {
        ServerConnection c = server.await(x -> x.is(VlessCommand.CRUMFURS) || x.is(VlessCommand.UDP_MUX)
                || x.is(VlessCommand.UDP), ioTimeout());
        if (c == null) {
            throw new PreconditionFailed(rule, "the client sent no CRUMFURS, UDP-MUX or command-2 request within "
                    + ioTimeout().toMillis() + " ms of the application's datagram (connections seen: "
                    + server.connections() + ")");
        }
        return c;
    }

    /** Whether the client under test has exited; with its account. */
    String exited() {
        for (RunningClient c : clients) {
            String e = c.exited();
            if (e != null) {
                return e;
            }
        }
        return null;
    }

    /** The client's output, for the evidence. */
    String output() {
        StringBuilder b = new StringBuilder();
        for (RunningClient c : clients) {
            String o = c.output();
            if (o != null && !o.isBlank()) {
                b.append(o);
            }
        }
        return b.toString();
    }

    @Override
    public synchronized void close() {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                // closing anyway
            }
        }
        resources.clear();
        for (RunningClient c : clients) {
            if (!run.isShared(c)) {
                c.close();
            }
        }
        clients.clear();
        client = null;
    }
}
