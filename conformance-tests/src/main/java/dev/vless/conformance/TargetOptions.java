// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import static java.util.Objects.requireNonNull;

import dev.vless.spec.Profile;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * What the user says about the server under test. The same options come from the command line and from
 * {@code -Dvless.target...} system properties under {@code mvn verify}.
 *
 * @param link              the target's share link, or {@code null} for the embedded reference server
 * @param user2             a second user's UUID (for isolation cases), or {@code null}
 * @param profile           the profile the target claims
 * @param insecure          accept any TLS certificate
 * @param caFile            a PEM file of CA certificates to trust, or {@code null}
 * @param peerAddresses     the harness's UDP and TCP peers bind here, and the server must reach them here; several
 *                          distinct addresses let the suite tell address- from port-dependent behaviour
 * @param handshakeTimeout  the target's handshake deadline; bad-input cases allow it plus 1 s
 * @param lifetimeProbe     how long mapping-lifetime cases stay idle (short for CI; 120 s for a full run)
 * @param ioTimeout         how long to wait for an expected byte or datagram
 * @param policy            which failed rules fail the run
 * @param reportDir         where reports are written
 * @param restartCommand    a shell command that brings the target back after it died, or {@code null}
 * @param fallback          the target hands bad input to a fallback server: bad-input cases check that no VLESS
 *                          byte comes back and that the server keeps serving, not the close
 * @param showSecrets       keep user IDs in the reports (they are redacted by default: reports get attached to
 *                          public bug reports, and a VLESS user ID is a password)
 * @param udpLifetime       the UDP lifetime the target is configured with (§13), or {@code null} when not known: the
 *                          lifetime cases run only when it is given, since a lifetime can be checked only against the
 *                          one the server claims
 * @param muxRequired       the target must offer UDP-MUX (command 5, §23): without its 0x15 answer MUX-3 fails, where
 *                          by default (auto) the mode's rules are then not applicable
 */
public record TargetOptions(
        String link,
        UUID user2,
        Profile profile,
        boolean insecure,
        Path caFile,
        List<InetAddress> peerAddresses,
        Duration handshakeTimeout,
        Duration lifetimeProbe,
        Duration ioTimeout,
        Policy policy,
        Path reportDir,
        String restartCommand,
        boolean fallback,
        boolean showSecrets,
        Duration udpLifetime,
        boolean muxRequired) {

    /** The system property prefix. */
    public static final String PREFIX = "vless.";

    /** Checks and copies. */
    public TargetOptions {
        requireNonNull(profile, "profile");
        peerAddresses = List.copyOf(peerAddresses);
        if (peerAddresses.isEmpty()) {
            throw new IllegalArgumentException("peer addresses: none (expected: at least one IP the server can reach)");
        }
        requireNonNull(handshakeTimeout, "handshakeTimeout");
        requireNonNull(lifetimeProbe, "lifetimeProbe");
        requireNonNull(ioTimeout, "ioTimeout");
        requireNonNull(policy, "policy");
        requireNonNull(reportDir, "reportDir");
        if (udpLifetime != null && (udpLifetime.isNegative() || udpLifetime.isZero())) {
            throw new IllegalArgumentException("UDP lifetime: " + udpLifetime + " (expected: the positive lifetime the"
                    + " target is configured with, such as 300s)");
        }
    }

    /** Options that leave UDP-MUX optional (auto). */
    public TargetOptions(String link, UUID user2, Profile profile, boolean insecure, Path caFile,
            List<InetAddress> peerAddresses, Duration handshakeTimeout, Duration lifetimeProbe, Duration ioTimeout,
            Policy policy, Path reportDir, String restartCommand, boolean fallback, boolean showSecrets,
            Duration udpLifetime) {
        this(link, user2, profile, insecure, caFile, peerAddresses, handshakeTimeout, lifetimeProbe, ioTimeout, policy,
                reportDir, restartCommand, fallback, showSecrets, udpLifetime, false);
    }

    /** Options whose target's UDP lifetime is not known. */
    public TargetOptions(String link, UUID user2, Profile profile, boolean insecure, Path caFile,
            List<InetAddress> peerAddresses, Duration handshakeTimeout, Duration lifetimeProbe, Duration ioTimeout,
            Policy policy, Path reportDir, String restartCommand, boolean fallback, boolean showSecrets) {
        this(link, user2, profile, insecure, caFile, peerAddresses, handshakeTimeout, lifetimeProbe, ioTimeout, policy,
                reportDir, restartCommand, fallback, showSecrets, null);
    }

    /** These options with the target's UDP lifetime set to {@code lifetime} ({@code null}: not known). */
    public TargetOptions withUdpLifetime(Duration lifetime) {
        return new TargetOptions(link, user2, profile, insecure, caFile, peerAddresses, handshakeTimeout, lifetimeProbe,
                ioTimeout, policy, reportDir, restartCommand, fallback, showSecrets, lifetime, muxRequired);
    }

    /** These options with UDP-MUX required ({@code --mux required}) or optional ({@code --mux auto}). */
    public TargetOptions withMuxRequired(boolean required) {
        return new TargetOptions(link, user2, profile, insecure, caFile, peerAddresses, handshakeTimeout, lifetimeProbe,
                ioTimeout, policy, reportDir, restartCommand, fallback, showSecrets, udpLifetime, required);
    }

    /** Options without a restart command, for a target without fallback, with user IDs redacted. */
    public TargetOptions(String link, UUID user2, Profile profile, boolean insecure, Path caFile,
            List<InetAddress> peerAddresses, Duration handshakeTimeout, Duration lifetimeProbe, Duration ioTimeout,
            Policy policy, Path reportDir) {
        this(link, user2, profile, insecure, caFile, peerAddresses, handshakeTimeout, lifetimeProbe, ioTimeout, policy,
                reportDir, null, false, false);
    }

    /** The defaults: the embedded reference server, peers on 127.0.0.1-3, short probes. */
    public static TargetOptions defaults() {
        return new TargetOptions(null, null, Profile.V1, false, null, loopbackPeers(), Duration.ofSeconds(4),
                Duration.ofSeconds(3), Duration.ofSeconds(3), Policy.MUST, Path.of("target", "vless-conformance"));
    }

    /**
     * Options from system properties: {@code vless.target} (share link), {@code vless.user2}, {@code vless.profile}
     * (v1|v0), {@code vless.insecure}, {@code vless.ca}, {@code vless.peers} (comma-separated IPs),
     * {@code vless.handshakeTimeout}, {@code vless.lifetimeProbe}, {@code vless.ioTimeout} (e.g. 4s, 500ms, 2m),
     * {@code vless.policy} (must|must+should), {@code vless.reportDir}, {@code vless.restartCmd}, {@code vless.fallback},
     * {@code vless.showSecrets}, {@code vless.udpLifetime}, {@code vless.mux} (auto|required).
     */
    public static TargetOptions fromSystemProperties() {
        TargetOptions d = defaults();
        String link = prop("target");
        String user2 = prop("user2");
        String peers = prop("peers");
        String ca = prop("ca");
        String report = prop("reportDir");
        return new TargetOptions(
                link,
                user2 == null ? null : parseUuid(user2, "vless.user2"),
                prop("profile") == null ? d.profile() : parseProfile(prop("profile")),
                Boolean.parseBoolean(prop("insecure")),
                ca == null ? null : Path.of(ca),
                peers == null ? d.peerAddresses() : parsePeers(peers),
                prop("handshakeTimeout") == null ? d.handshakeTimeout()
                        : parseDuration(prop("handshakeTimeout"), "vless.handshakeTimeout"),
                prop("lifetimeProbe") == null ? d.lifetimeProbe()
                        : parseDuration(prop("lifetimeProbe"), "vless.lifetimeProbe"),
                prop("ioTimeout") == null ? d.ioTimeout() : parseDuration(prop("ioTimeout"), "vless.ioTimeout"),
                prop("policy") == null ? d.policy() : parsePolicy(prop("policy")),
                report == null ? d.reportDir() : Path.of(report),
                prop("restartCmd"),
                Boolean.parseBoolean(prop("fallback")),
                Boolean.parseBoolean(prop("showSecrets")),
                prop("udpLifetime") == null ? null : parseDuration(prop("udpLifetime"), "vless.udpLifetime"),
                prop("mux") != null && parseMuxRequired(prop("mux"), "vless.mux"));
    }

    /**
     * Parses {@code auto} (UDP-MUX is optional: without it its rules are not applicable) or {@code required} (a target
     * without it fails MUX-3); {@code true} for required.
     */
    public static boolean parseMuxRequired(String text, String what) {
        switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "auto":
                return false;
            case "required":
                return true;
            default:
                throw new IllegalArgumentException(what + " '" + text + "' is unknown (expected: auto or required)");
        }
    }

    private static String prop(String name) {
        String v = System.getProperty(PREFIX + name);
        return v == null || v.isBlank() ? null : v.trim();
    }

    /** 127.0.0.1, 127.0.0.2, 127.0.0.3: three distinct hosts on one machine. */
    public static List<InetAddress> loopbackPeers() {
        return parsePeers("127.0.0.1,127.0.0.2,127.0.0.3");
    }

    /** Parses comma-separated IP literals. */
    public static List<InetAddress> parsePeers(String text) {
        List<InetAddress> out = new ArrayList<>();
        for (String s : text.split(",")) {
            String ip = s.trim();
            if (ip.isEmpty()) {
                continue;
            }
            if (!io.netty.util.NetUtil.isValidIpV4Address(ip) && !io.netty.util.NetUtil.isValidIpV6Address(ip)) {
                throw new IllegalArgumentException("peer address '" + ip + "' is not an IP literal (expected: e.g. "
                        + "127.0.0.1,127.0.0.2 — addresses of this machine the server can send to)");
            }
            try {
                out.add(InetAddress.getByName(ip));
            } catch (UnknownHostException e) {
                throw new AssertionError(e);
            }
        }
        return out;
    }

    /**
     * Parses a duration in the syntax every tool shares ({@link dev.vless.cli.Durations}): {@code 500ms}, {@code 4s},
     * {@code 1.5s}, {@code 2m}, {@code 1h30m}, a bare number of seconds, or ISO-8601.
     *
     * @param what the option or property, named in the complaint
     * @throws IllegalArgumentException with the shared complaint, such as
     *         {@code vless.ioTimeout 'soon' is not a duration (expected: a number with a unit, such as ...)}
     */
    public static Duration parseDuration(String text, String what) {
        return dev.vless.cli.Durations.parseOrThrow(what, text);
    }

    static UUID parseUuid(String text, String what) {
        try {
            return UUID.fromString(text.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": '" + text + "' is not a UUID (expected: 8-4-4-4-12 hex digits)");
        }
    }

    /** Parses {@code v1} or {@code v0}. */
    public static Profile parseProfile(String text) {
        switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "v1":
                return Profile.V1;
            case "v0":
                return Profile.V0;
            default:
                throw new IllegalArgumentException("profile '" + text + "' is unknown (expected: v1 or v0)");
        }
    }

    /** Parses {@code must} or {@code must+should}. */
    public static Policy parsePolicy(String text) {
        switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "must":
                return Policy.MUST;
            case "must+should":
            case "must_and_should":
                return Policy.MUST_AND_SHOULD;
            default:
                throw new IllegalArgumentException("policy '" + text + "' is unknown (expected: must or must+should)");
        }
    }
}
