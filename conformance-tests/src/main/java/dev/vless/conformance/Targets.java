package dev.vless.conformance;

import dev.vless.link.ShareLink;
import dev.vless.server.DestinationFilter;
import dev.vless.server.TlsConfig;
import dev.vless.server.VlessServer;
import java.time.Duration;
import java.util.UUID;

/**
 * The target of the current run: the one configured, or else the reference server started in-process through its
 * public API — and then treated like any other address, through its share link.
 */
public final class Targets {

    /** The embedded server's handshake deadline: shorter than the default so bad-input cases finish sooner. */
    static final Duration EMBEDDED_HANDSHAKE_TIMEOUT = Duration.ofSeconds(2);

    private static TargetOptions options;
    private static VlessTarget current;
    private static VlessServer embedded;
    private static RunEvents events = new RunEvents();
    private static Liveness liveness;

    private Targets() {
    }

    /** Sets the options of the next run; an embedded server of an earlier run is stopped. */
    public static synchronized void configure(TargetOptions o) {
        close();
        options = o;
        events = new RunEvents();
    }

    /** What happened to the current run itself. */
    public static synchronized RunEvents events() {
        return events;
    }

    /** The watch on whether the current target still serves. */
    static synchronized Liveness liveness() {
        if (liveness == null) {
            liveness = new Liveness(current(), options().restartCommand(), events);
        }
        return liveness;
    }

    /** The options in force: configured, else from system properties. */
    public static synchronized TargetOptions options() {
        if (options == null) {
            options = TargetOptions.fromSystemProperties();
        }
        return options;
    }

    /** The target, started or parsed on first use. */
    public static synchronized VlessTarget current() {
        if (current == null) {
            TargetOptions o = options();
            if (o.link() == null) {
                current = startEmbedded(o);
            } else {
                current = VlessTarget.of(ShareLink.parse(o.link()), o, o.link(), false);
            }
        }
        return current;
    }

    /** Stops the embedded server, if any, and forgets the target. */
    public static synchronized void close() {
        if (embedded != null) {
            embedded.close();
            embedded = null;
        }
        current = null;
        liveness = null;
    }

    private static VlessTarget startEmbedded(TargetOptions o) {
        UUID user = UUID.randomUUID();
        UUID user2 = UUID.randomUUID();
        try {
            embedded = VlessServer.builder()
                    .listen("127.0.0.1", 0)
                    .user(user)
                    .user(user2)
                    .tls(TlsConfig.selfSigned("localhost"))
                    .handshakeTimeout(EMBEDDED_HANDSHAKE_TIMEOUT)
                    .destinations(DestinationFilter.allowingLoopback())
                    .build()
                    .start()
                    .get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the embedded reference server: " + e.getMessage(), e);
        }
        String link = embedded.shareLink(user, "127.0.0.1", "embedded reference server");
        TargetOptions embeddedOptions = new TargetOptions(link, user2, o.profile(), false, null, o.peerAddresses(),
                EMBEDDED_HANDSHAKE_TIMEOUT, o.lifetimeProbe(), o.ioTimeout(), o.policy(), o.reportDir(), null, false,
                o.showSecrets());
        return VlessTarget.of(ShareLink.parse(link), embeddedOptions,
                "embedded reference server (" + link + ")", true);
    }
}
