// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.faulty;

import dev.vless.link.ShareLink;
import dev.vless.server.DestinationFilter;
import dev.vless.server.VlessServer;
import dev.vless.server.VlessServerBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A deliberately faulty VLESS target for the suite's own tests: each factory starts one that reproduces a realistic
 * bug or misconfiguration, reachable through a plaintext share link like any target, so a test can run the suite
 * against it and check the verdicts. Everything listens on and talks to 127.0.0.1 only.
 *
 * <p>Behind every target is the reference server (plaintext, {@link #HANDSHAKE_TIMEOUT}, loopback destinations allowed
 * unless the fault is refusing them), either alone or behind a fault-injecting proxy.
 */
public final class FaultyTarget implements AutoCloseable {

    /** The servers' handshake deadline: short, so that bad-input cases end quickly. */
    public static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(1);

    /** The bytes {@link #withFallback()}'s fallback answers to anything. */
    public static final String FALLBACK_RESPONSE = BadRequestServer.RESPONSE;

    /** How often {@link #crumfursThief()} opens a new CRUMFURS. */
    public static final Duration THEFT_PERIOD = Duration.ofMillis(250);

    /** Which fault a target has. */
    public enum Fault {
        DIES_ON_FIRST_UDP_REPLY,
        DIES_ON_BAD_HEADER,
        RESETS_UDP_CONNECTIONS,
        REFUSES_LOOPBACK_PEERS,
        WRONG_USER_ID,
        WITH_FALLBACK,
        CRUMFURS_THIEF
    }

    private final Fault fault;
    private final String link;
    private final InetSocketAddress address;
    private final UUID user;
    private final UUID user2;
    private final List<UUID> servedUsers;
    private final FaultInjectingProxy proxy;
    private final VlessServer server;
    private final CrumfursThief thief;
    private final BadRequestServer fallback;
    private final boolean restartable;

    private FaultyTarget(Fault fault, InetSocketAddress address, UUID user, UUID user2, List<UUID> servedUsers,
            FaultInjectingProxy proxy, VlessServer server, CrumfursThief thief, BadRequestServer fallback,
            boolean restartable) {
        this.fault = fault;
        this.address = address;
        this.user = user;
        this.user2 = user2;
        this.servedUsers = List.copyOf(servedUsers);
        this.proxy = proxy;
        this.server = server;
        this.thief = thief;
        this.fallback = fallback;
        this.restartable = restartable;
        this.link = new ShareLink(user, "127.0.0.1", address.getPort(), ShareLink.Security.NONE, null, List.of(),
                false, "faulty: " + fault.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')).toString();
    }

    /**
     * A server that dies at the first byte it would send on a command-2 connection, as a server with a crash in its
     * UDP reply path would: the listener closes, every open connection is reset, and connections are refused until
     * {@link #restartCommand()} is run. After that it serves normally until the next first UDP reply.
     */
    public static FaultyTarget diesOnFirstUdpReply() {
        return proxied(Fault.DIES_ON_FIRST_UDP_REPLY, FaultInjectingProxy.Mode.DIE_ON_FIRST_UDP_REPLY, true);
    }

    /**
     * A server that dies on bad input (§15.1): at the client byte that makes a request header fail the codec's checks
     * (version, command, port 0, address type, domain), that ends the stream inside a header, that completes an
     * unknown user ID, or that is command 3 (Mux, which the reference server refuses like an unknown command). The
     * offending bytes are never relayed. Restarts like {@link #diesOnFirstUdpReply()}.
     */
    public static FaultyTarget diesOnBadHeader() {
        return proxied(Fault.DIES_ON_BAD_HEADER, FaultInjectingProxy.Mode.DIE_ON_BAD_HEADER, true);
    }

    /**
     * A server (or a middlebox in front of it) that resets every command-2 connection right after relaying its first
     * server frame; TCP and CRUMFURS connections are untouched, and the server keeps running.
     */
    public static FaultyTarget resetsUdpConnections() {
        return proxied(Fault.RESETS_UDP_CONNECTIONS, FaultInjectingProxy.Mode.RESET_UDP_AFTER_FIRST_FRAME, false);
    }

    /**
     * A reference server left with its secure default destination policy (DST-1), so it refuses every loopback
     * destination, the harness's peers among them: such requests are closed without a byte (DST-2).
     */
    public static FaultyTarget refusesLoopbackPeers() {
        UUID u1 = UUID.randomUUID();
        UUID u2 = UUID.randomUUID();
        VlessServer s = start(base(u1, u2)); // no destinations(): the secure default
        return new FaultyTarget(Fault.REFUSES_LOOPBACK_PEERS, s.localAddress(), u1, u2, List.of(u1, u2), null, s,
                null, null, false);
    }

    /**
     * A link with the wrong UUID: {@link #user()} is one the server does not serve, so every request is bad input
     * (HDR-3) and is discarded until the handshake deadline. {@link #user2()} is null, since a suite given a working
     * second user would be testing a different misconfiguration; the users the server does serve are
     * {@link #servedUsers()}.
     */
    public static FaultyTarget wrongUserId() {
        UUID u1 = UUID.randomUUID();
        UUID u2 = UUID.randomUUID();
        UUID wrong = UUID.randomUUID();
        VlessServer s = start(base(u1, u2).destinations(DestinationFilter.allowingLoopback()));
        return new FaultyTarget(Fault.WRONG_USER_ID, s.localAddress(), wrong, null, List.of(u1, u2), null, s, null,
                null, false);
    }

    /**
     * A reference server with a fallback (ERR-2): bad input is handed, with every byte received, to a loopback web
     * server that answers {@link #FALLBACK_RESPONSE} to anything and closes.
     */
    public static FaultyTarget withFallback() {
        UUID u1 = UUID.randomUUID();
        UUID u2 = UUID.randomUUID();
        BadRequestServer fb = new BadRequestServer();
        try {
            VlessServer s = start(base(u1, u2).destinations(DestinationFilter.allowingLoopback())
                    .fallback(fb.address()));
            return new FaultyTarget(Fault.WITH_FALLBACK, s.localAddress(), u1, u2, List.of(u1, u2), null, s, null, fb,
                    false);
        } catch (RuntimeException e) {
            fb.close();
            throw e;
        }
    }

    /**
     * A normal reference server, plus a second client on this host that every {@link #THEFT_PERIOD} opens a CRUMFURS of
     * {@link #user()} and keeps it until its next one, as two clients sharing one ID would. Each one replaces the
     * context's CRUMFURS (CRF-3), so a CRUMFURS the suite opens from 127.0.0.1 is closed within a period.
     */
    public static FaultyTarget crumfursThief() {
        UUID u1 = UUID.randomUUID();
        UUID u2 = UUID.randomUUID();
        VlessServer s = start(base(u1, u2).destinations(DestinationFilter.allowingLoopback()));
        CrumfursThief t = new CrumfursThief(s.localAddress(), u1, THEFT_PERIOD.toMillis());
        return new FaultyTarget(Fault.CRUMFURS_THIEF, s.localAddress(), u1, u2, List.of(u1, u2), null, s, t, null,
                false);
    }

    private static FaultyTarget proxied(Fault fault, FaultInjectingProxy.Mode mode, boolean restartable) {
        UUID u1 = UUID.randomUUID();
        UUID u2 = UUID.randomUUID();
        Supplier<VlessServer> starter = () -> start(base(u1, u2).destinations(DestinationFilter.allowingLoopback()));
        FaultInjectingProxy p = new FaultInjectingProxy(mode, Set.of(u1, u2), starter);
        return new FaultyTarget(fault, p.address(), u1, u2, List.of(u1, u2), p, null, null, null, restartable);
    }

    private static VlessServerBuilder base(UUID u1, UUID u2) {
        return VlessServer.builder()
                .listen("127.0.0.1", 0)
                .plaintext()
                .user(u1)
                .user(u2)
                .handshakeTimeout(HANDSHAKE_TIMEOUT)
                // Two threads are plenty on loopback, and several targets may run at once on a small machine.
                .ioThreads(2);
    }

    private static VlessServer start(VlessServerBuilder b) {
        VlessServer s = b.build();
        try {
            return s.start().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            s.close();
            throw new IllegalStateException("cannot start the reference server: " + e.getMessage(), e);
        }
    }

    /** Which fault this target has. */
    public Fault fault() {
        return fault;
    }

    /** The share link: {@code vless://USER@127.0.0.1:PORT?...&security=none#...}. */
    public String link() {
        return link;
    }

    /** Where clients connect. */
    public InetSocketAddress address() {
        return address;
    }

    /** The UUID in the link (for {@link #wrongUserId()}, one the server does not serve). */
    public UUID user() {
        return user;
    }

    /** A second user the server also serves, or {@code null}. */
    public UUID user2() {
        return user2;
    }

    /** The users the server actually serves. */
    public List<UUID> servedUsers() {
        return servedUsers;
    }

    /** The server's handshake deadline, to configure the suite with. */
    public Duration handshakeTimeout() {
        return HANDSHAKE_TIMEOUT;
    }

    /**
     * A shell command that brings a crashed target back on the same port and exits 0 once it accepts connections
     * again (non-zero if it could not); {@code null} for targets that do not crash. Harmless on a running target.
     */
    public String restartCommand() {
        return restartable ? proxy.restartCommand() : null;
    }

    /** Times the target crashed. */
    public int crashes() {
        return proxy == null ? 0 : proxy.crashes();
    }

    /** Times a restart brought a crashed target back. */
    public int restarts() {
        return proxy == null ? 0 : proxy.restarts();
    }

    /** Whether the target is crashed and not yet restarted. */
    public boolean isDown() {
        return proxy != null && proxy.isDown();
    }

    /** Why the target last crashed, or {@code null}. */
    public String lastCrashReason() {
        return proxy == null ? null : proxy.lastCrashReason();
    }

    /** Command-2 connections reset after their first frame ({@link #resetsUdpConnections()}). */
    public int udpResets() {
        return proxy == null ? 0 : proxy.udpResets();
    }

    /** CRUMFURS the thief has had acknowledged ({@link #crumfursThief()}). */
    public int thefts() {
        return thief == null ? 0 : thief.thefts();
    }

    /** Connections the fallback answered ({@link #withFallback()}). */
    public int fallbackAnswers() {
        return fallback == null ? 0 : fallback.answered();
    }

    /** Stops everything this target started. */
    @Override
    public void close() {
        // The thief first, so it does not reconnect to a server that is stopping.
        if (thief != null) {
            thief.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (server != null) {
            server.close();
        }
        if (fallback != null) {
            fallback.close();
        }
    }

    @Override
    public String toString() {
        return "FaultyTarget[" + fault + " " + link + "]";
    }
}
