// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.server.DestinationFilter;
import dev.vless.server.internal.FdLimit;
import dev.vless.server.internal.LogLimiter;
import dev.vless.server.internal.UserRegistry;
import dev.vless.server.internal.V0UdpBudget;
import io.netty.channel.Channel;
import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lines an operator acts on: why a client could not be served, and which setting would change that. They are
 * written at INFO, the command line's default level, through SLF4J's logger {@code dev.vless.server.relay.OperatorLog},
 * so that a program using {@code VlessServer.builder()} gets the same lines as the command line and can route them on
 * their own. Not WARN: every one of them is caused by a client, and what a client sends must not raise the server's
 * warnings (the live fuzzer holds the server to that).
 *
 * <p>Each is one line. Each kind is written at most once per {@link #INTERVAL} per server; the next line of the kind
 * says how many were held back, so a flood of bad connections costs a line every ten seconds, not one each. No line
 * holds a secret: of a user ID only its first 8 hex digits ({@link UserRegistry#shortId}), and no byte a client sent
 * except a first byte that is a VLESS version.
 */
final class OperatorLog {

    /** At most one line per kind per this interval. */
    static final Duration INTERVAL = Duration.ofSeconds(10);

    private static final Logger log = LoggerFactory.getLogger(OperatorLog.class);
    private static final Pattern BLANKS = Pattern.compile("[\\s\\p{Cntrl}]+");
    private static final Pattern UNTRUSTED = Pattern.compile(
            "certificate_unknown|unknown_ca|bad_certificate|unsupported_certificate|CERTIFICATE_UNKNOWN|UNKNOWN_CA"
                    + "|BAD_CERTIFICATE|UNSUPPORTED_CERTIFICATE");
    private static final Pattern VERSION = Pattern.compile(
            "protocol_version|not enabled or supported|No appropriate protocol|UNSUPPORTED_PROTOCOL|WRONG_VERSION"
                    + "|SSLv2Hello", Pattern.CASE_INSENSITIVE);
    private static final Pattern NO_CIPHER = Pattern.compile("no cipher suites in common|NO_SHARED_CIPHER",
            Pattern.CASE_INSENSITIVE);

    /** The kinds of line; each has its own limit. */
    enum Kind {
        REFUSED_DESTINATION, UNKNOWN_USER, TLS_FAILED, PLAINTEXT_ON_TLS, TLS_ON_PLAINTEXT, UNSENT_CAP, V0_UDP_BUDGET,
        NO_SOCKET
    }

    private final Map<Kind, LogLimiter> limiters = new EnumMap<>(Kind.class);

    /** A log limited by the clock. */
    OperatorLog() {
        this(INTERVAL, System::nanoTime);
    }

    /** A log limited by {@code nanoClock}, for tests. */
    OperatorLog(Duration interval, LongSupplier nanoClock) {
        for (Kind k : Kind.values()) {
            limiters.put(k, new LogLimiter(interval, nanoClock));
        }
    }

    /** A request for a destination the filter refuses (DST-1). */
    void refusedDestination(Channel client, VlessAddress requested, InetAddress resolved,
            DestinationFilter.Refusal refusal) {
        write(Kind.REFUSED_DESTINATION, () -> refusedDestinationLine(clientIp(client), requested, resolved, refusal));
    }

    /** A request header with a user ID the server does not serve (HDR-3). */
    void unknownUser(Channel client, UUID user) {
        write(Kind.UNKNOWN_USER, () -> unknownUserLine(clientIp(client), user));
    }

    /** A TLS handshake that failed after the client sent a TLS record. */
    void tlsFailed(Channel client, Throwable cause) {
        write(Kind.TLS_FAILED, () -> tlsFailedLine(clientIp(client), cause));
    }

    /** A client whose first byte on the TLS port is not the start of a TLS record. */
    void plaintextOnTls(Channel client, int firstByte) {
        write(Kind.PLAINTEXT_ON_TLS, () -> plaintextOnTlsLine(clientIp(client), firstByte));
    }

    /** A client that starts a TLS handshake on a plaintext port. */
    void tlsOnPlaintext(Channel client) {
        write(Kind.TLS_ON_PLAINTEXT, () -> tlsOnPlaintextLine(clientIp(client)));
    }

    /**
     * A datagram toward a client was dropped because a memory cap above the connection's own was reached. Called
     * once per such datagram, so it allocates nothing unless a line is written.
     */
    void unsentCap(Channel client, dev.vless.server.DropReason reason, long bytes, long cap) {
        if (!log.isInfoEnabled()) {
            return;
        }
        long heldBack = limiters.get(Kind.UNSENT_CAP).tryAcquire();
        if (heldBack < 0) {
            return;
        }
        String text = unsentCapLine(clientIp(client), reason, bytes, cap);
        log.info(LogLimiter.withHeldBack(text, heldBack));
    }

    /** A v0 UDP request refused because its user or client IP holds its budget of v0 sockets. */
    void v0UdpBudget(Channel client, UUID user, V0UdpBudget.Refusal why, int limit) {
        write(Kind.V0_UDP_BUDGET, () -> v0UdpBudgetLine(clientIp(client), user, why, limit));
    }

    /** A request refused because its socket could not be created or bound. */
    void noSocket(Channel client, String what, Throwable cause) {
        write(Kind.NO_SOCKET, () -> noSocketLine(clientIp(client), what, cause));
    }

    private void write(Kind kind, Supplier<String> line) {
        if (!log.isInfoEnabled()) {
            return;
        }
        long heldBack = limiters.get(kind).tryAcquire();
        if (heldBack < 0) {
            return;
        }
        String text = line.get();
        log.info(LogLimiter.withHeldBack(text, heldBack));
    }

    // ---- the lines, as functions of what they report, for the tests --------------------------------------------

    static String refusedDestinationLine(String client, VlessAddress requested, InetAddress resolved,
            DestinationFilter.Refusal refusal) {
        String ip = NetUtil.toAddressString(VlessAddress.canonical(resolved));
        String where = requested.type() == VlessAddressType.DOMAIN
                ? requested + " (" + ip + ")" : requested.toString();
        String single = ip + (VlessAddress.canonical(resolved) instanceof Inet4Address ? "/32" : "/128");
        String allow = switch (refusal.kind()) {
            case LOOPBACK -> "--allow-loopback";
            case PRIVATE, SHARED_ADDRESS_SPACE, LINK_LOCAL, UNIQUE_LOCAL ->
                    "--allow-private, or --allow-destination " + single + " for this address alone,";
            default -> "--allow-destination " + single;
        };
        return "refused destination " + where + " for client " + client + ": " + refusal.kind().label()
                + " (DST-1); start the server with " + allow + " to allow it";
    }

    static String unsentCapLine(String client, dev.vless.server.DropReason reason, long bytes, long cap) {
        String what = switch (reason) {
            case CONTEXT_BACKLOG -> "the NAT context of client " + client + " has " + bytes
                    + " bytes waiting to be sent to its connections, over --max-unsent-bytes-per-context " + cap;
            case SERVER_BACKLOG -> "clients have " + bytes + " bytes waiting to be sent, over "
                    + "--max-unsent-bytes-total " + cap;
            default -> "the JVM has " + bytes + " bytes of direct memory in use, over --max-direct-memory " + cap;
        };
        String advice = switch (reason) {
            case CONTEXT_BACKLOG -> "raise --max-unsent-bytes-per-context if this client may read this slowly";
            case SERVER_BACKLOG -> "raise --max-unsent-bytes-total (and -XX:MaxDirectMemorySize) if clients may read"
                    + " this slowly";
            default -> "raise -XX:MaxDirectMemorySize, or --max-direct-memory within it";
        };
        return "dropping UDP datagrams for client " + client + ": " + what + " (" + reason.name()
                .toLowerCase(Locale.ROOT) + "); " + advice;
    }

    static String v0UdpBudgetLine(String client, UUID user, V0UdpBudget.Refusal why, int limit) {
        String held = why == V0UdpBudget.Refusal.PER_CLIENT_IP
                ? "user " + UserRegistry.shortId(user) + "… already holds " + limit + " v0 UDP sockets from this IP "
                        + "(--max-sockets-per-context)"
                : "user " + UserRegistry.shortId(user) + "… already holds " + limit + " v0 UDP sockets "
                        + "(--max-sockets-per-context × --max-contexts-per-user)";
        return "v0 UDP request from client " + client + " refused: " + held + "; raise that option if one user "
                + "needs more";
    }

    static String noSocketLine(String client, String what, Throwable cause) {
        String reason = reason(cause);
        if (FdLimit.isExhaustion(cause)) {
            return "cannot open " + what + " for client " + client + ": " + reason + "; the process is out of file "
                    + "descriptors: raise its limit (ulimit -n), or lower --max-connections or --max-cooling-sockets";
        }
        return "cannot open " + what + " for client " + client + ": " + reason + "; check --outbound-ipv4/"
                + "--outbound-ipv6 and the file descriptor limit (ulimit -n, --max-connections)";
    }

    static String unknownUserLine(String client, UUID user) {
        return "bad input from " + client + ": unknown user ID (first 8 hex: " + UserRegistry.shortId(user)
                + "); check the link's UUID against --user/--users-file";
    }

    static String tlsFailedLine(String client, Throwable cause) {
        String reason = reason(cause);
        String advice;
        if (cause instanceof ClosedChannelException) {
            advice = "a client that does not trust the certificate may just close: check that its link has the "
                    + "pcs= fingerprint the server printed, or that its CAs trust --cert";
        } else if (UNTRUSTED.matcher(reason).find()) {
            advice = "the client does not trust the server certificate: give it the share link the server printed "
                    + "(pcs= pins a self-signed certificate), or use --cert/--key with a certificate its CAs trust";
        } else if (VERSION.matcher(reason).find()) {
            advice = "the client speaks a TLS version the server does not: the server accepts TLS 1.3 and 1.2 (TLS-2)";
        } else if (NO_CIPHER.matcher(reason).find()) {
            advice = "the client offers no cipher suite the server accepts for TLS 1.3 or 1.2";
        } else {
            advice = null;
        }
        return "TLS handshake with client " + client + " failed: " + reason + (advice == null ? "" : "; " + advice);
    }

    static String plaintextOnTlsLine(String client, int firstByte) {
        if (firstByte == 0 || firstByte == 1) {
            return "a plaintext client (VLESS version byte 0x0" + firstByte + ") from " + client + " connected to the "
                    + "TLS port: the client's link needs security=tls, or run the server with --plaintext-for-testing";
        }
        // Not VLESS either: the byte is the client's data and stays out of the log.
        return "a client from " + client + " that does not speak TLS connected to the TLS port (its first byte is "
                + "neither a TLS record nor a VLESS version); if it is a VLESS client, its link needs security=tls "
                + "and type=tcp";
    }

    static String tlsOnPlaintextLine(String client) {
        return "a TLS client from " + client + " connected to the plaintext port: the client's link needs"
                + " security=none, or run the server with TLS (without --plaintext-for-testing)";
    }

    /** The message of the innermost TLS exception, on one line, or what else failed. */
    private static String reason(Throwable cause) {
        if (cause instanceof ClosedChannelException) {
            return "the client closed the connection during the handshake";
        }
        String message = null;
        Throwable t = cause;
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) { // bounded: causes may form a loop
            if (t instanceof SSLException && t.getMessage() != null) {
                message = t.getMessage();
            }
        }
        if (message == null) {
            message = cause.getMessage() != null ? cause.getClass().getSimpleName() + ": " + cause.getMessage()
                    : cause.getClass().getSimpleName();
        }
        String line = BLANKS.matcher(message).replaceAll(" ").strip();
        return line.length() > 200 ? line.substring(0, 200) + "…" : line;
    }

    private static String clientIp(Channel channel) {
        if (channel.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null) {
            return NetUtil.toAddressString(VlessAddress.canonical(a.getAddress()));
        }
        return String.valueOf(channel.remoteAddress()).toLowerCase(Locale.ROOT);
    }
}
