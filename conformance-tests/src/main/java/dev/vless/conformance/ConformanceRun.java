// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.link.ShareLink;
import dev.vless.server.DestinationFilter;
import dev.vless.server.TlsConfig;
import dev.vless.server.VlessServer;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One run of the suite: its options, its target (the one configured, or else the reference server started in-process
 * through its public API and then treated like any other address, through its share link), what happened to the run
 * and the watch on whether the target still serves. Runs share nothing: two can go on at once in one JVM.
 *
 * <p>JUnit builds the cases' extension itself, so the runner cannot hand it this object; it registers the run under
 * an ID passed as a configuration parameter of the launch, and the extension looks it up. Cases started by a plain
 * JUnit launch (an IDE, Maven running the cases package) get a run of their own, made from system properties and
 * closed when the launch ends.
 */
final class ConformanceRun implements ExtensionContext.Store.CloseableResource, AutoCloseable {

    /** The launch's configuration parameter that names the run. */
    static final String RUN_PARAMETER = "vless.conformance.run";

    /** The embedded server's handshake deadline: shorter than the default so bad-input cases finish sooner. */
    static final Duration EMBEDDED_HANDSHAKE_TIMEOUT = Duration.ofSeconds(2);
    /**
     * The embedded server's UDP lifetime unless the options give one: short (allowed for testing only), so that the
     * lifetime cases, which take about one and a half lifetimes, fit in an ordinary build; long enough that no other
     * case leaves a connection idle that long.
     */
    static final Duration EMBEDDED_UDP_LIFETIME = Duration.ofSeconds(10);

    /** Runs in progress by ID: only so that the extension JUnit builds can find its run. */
    private static final Map<String, ConformanceRun> REGISTERED = new ConcurrentHashMap<>();
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ConformanceRun.class);

    private final TargetOptions options;
    private final RunEvents events = new RunEvents();
    private final String id = UUID.randomUUID().toString();
    private VlessTarget target;
    private VlessServer embedded;
    private Liveness liveness;
    /** Measured once, on first use by a bad-input case; its own lock, so the seconds it takes block nothing else. */
    private final Object calibrationLock = new Object();
    private DeadlineCalibration calibration;

    ConformanceRun(TargetOptions options) {
        this.options = options;
    }

    /** The run the case of {@code context} belongs to. */
    static ConformanceRun of(ExtensionContext context) {
        Optional<String> id = context.getConfigurationParameter(RUN_PARAMETER);
        if (id.isPresent()) {
            ConformanceRun run = REGISTERED.get(id.get());
            if (run != null) {
                return run;
            }
        }
        return context.getRoot().getStore(NS).getOrComputeIfAbsent(ConformanceRun.class,
                k -> new ConformanceRun(TargetOptions.fromSystemProperties()), ConformanceRun.class);
    }

    /** Makes this run findable by the cases' extension for the launch that names {@link #id()}. */
    ConformanceRun register() {
        REGISTERED.put(id, this);
        return this;
    }

    /** The value of {@link #RUN_PARAMETER} for this run's launch. */
    String id() {
        return id;
    }

    TargetOptions options() {
        return options;
    }

    /** What happened to this run itself. */
    RunEvents events() {
        return events;
    }

    /** The target, started or parsed on first use. */
    synchronized VlessTarget target() {
        if (target == null) {
            if (options.link() == null) {
                target = startEmbedded(options);
            } else {
                target = VlessTarget.of(ShareLink.parse(options.link()), options, options.link(), false);
            }
        }
        return target;
    }

    /** The watch on whether the target still serves. */
    synchronized Liveness liveness() {
        if (liveness == null) {
            liveness = new Liveness(target(), options.restartCommand(), events);
        }
        return liveness;
    }

    /** When the target really closes a stalled header: the reference of every bad-input case in this run. */
    DeadlineCalibration deadlineCalibration() {
        synchronized (calibrationLock) {
            if (calibration == null) {
                calibration = DeadlineCalibration.measure(target(), events);
            }
            return calibration;
        }
    }

    private final Object muxLock = new Object();
    private MuxSupport mux;

    private java.net.InetAddress muxClient;
    private boolean muxClientChosen;

    /** Whether the target offers UDP-MUX: asked once, by the first case that needs to know. */
    MuxSupport muxSupport() {
        synchronized (muxLock) {
            if (mux == null) {
                mux = MuxSupport.probe(target(), events, muxClient());
            }
            return mux;
        }
    }

    /**
     * The client IP of the run's MUX context: one fresh loopback address for the whole run where the target is on
     * loopback ({@code null} elsewhere, the default address). One, not one per case: a server may cap the contexts of a
     * user (LIM-1, 8 by default), and a context lives on for a lifetime after its last use.
     */
    java.net.InetAddress muxClient() {
        synchronized (muxLock) {
            if (!muxClientChosen) {
                muxClientChosen = true;
                try {
                    muxClient = target().has(Capability.LOOPBACK_TARGET) ? Harness.freshLoopbackClient() : null;
                } catch (java.net.UnknownHostException e) {
                    muxClient = null;
                }
            }
            return muxClient;
        }
    }

    /** Stops the embedded server, if any, and forgets the run. */
    @Override
    public synchronized void close() {
        REGISTERED.remove(id);
        if (embedded != null) {
            embedded.close();
            embedded = null;
        }
    }

    private VlessTarget startEmbedded(TargetOptions o) {
        UUID user = UUID.randomUUID();
        UUID user2 = UUID.randomUUID();
        Duration lifetime = o.udpLifetime() != null ? o.udpLifetime() : EMBEDDED_UDP_LIFETIME;
        try {
            embedded = VlessServer.builder()
                    .listen("127.0.0.1", 0)
                    .user(user)
                    .user(user2)
                    .tls(TlsConfig.selfSigned("localhost"))
                    .handshakeTimeout(EMBEDDED_HANDSHAKE_TIMEOUT)
                    .udpLifetime(lifetime)
                    .allowShortLifetimeForTesting()
                    .destinations(DestinationFilter.allowingLoopback())
                    // The cases spread over many contexts of the two users (fresh client IPs for the NAT
                    // classification, the MUX group, the lifetime and limit cases side by side), each kept for a
                    // lifetime after its last use: the default cap of 8 a user was met at times under load, and
                    // refused a lifetime case its context (BLOCKED). No case is about this cap.
                    .maxContextsPerUser(64)
                    .build()
                    .start()
                    .get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the embedded reference server: " + e.getMessage(), e);
        }
        String link = embedded.shareLink(user, "127.0.0.1", "embedded reference server");
        TargetOptions embeddedOptions = new TargetOptions(link, user2, o.profile(), false, null, o.peerAddresses(),
                EMBEDDED_HANDSHAKE_TIMEOUT, o.lifetimeProbe(), o.ioTimeout(), o.policy(), o.reportDir(), null, false,
                o.showSecrets(), lifetime, o.muxRequired());
        return VlessTarget.of(ShareLink.parse(link), embeddedOptions,
                "embedded reference server (" + link + ")", true);
    }
}
