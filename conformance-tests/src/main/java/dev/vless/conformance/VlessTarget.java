// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import static java.util.Objects.requireNonNull;

import dev.vless.link.ShareLink;
import dev.vless.spec.Profile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * The server under test, as the cases see it: where it is, how to talk to it, and what the harness knows about it.
 *
 * @param address          the server's address
 * @param user             the UUID the cases use
 * @param user2            a second UUID, or {@code null}
 * @param tls              whether to speak TLS
 * @param serverName       the TLS server name (SNI)
 * @param insecure         accept any certificate
 * @param caFile           CA certificates to trust, or {@code null}
 * @param pinnedSha256     pinned certificate fingerprints (SHA-256, upper-case hex); empty to pin none
 * @param profile          the profile the target claims
 * @param peers            addresses the harness's peers bind to (the first is the default)
 * @param handshakeTimeout the target's handshake deadline
 * @param lifetimeProbe    how long lifetime cases stay idle
 * @param ioTimeout        how long to wait for an expected byte or datagram
 * @param policy           which failures fail the run
 * @param description      how the report names the target
 * @param embedded         whether this is the in-process reference server
 * @param fallback         whether the target hands bad input to a fallback server (ERR-2's other branch)
 * @param udpLifetime      the UDP lifetime the target is configured with, or {@code null} when not known
 * @param muxRequired      whether the target must offer UDP-MUX (command 5): then no 0x15 fails MUX-3
 */
public record VlessTarget(
        InetSocketAddress address,
        UUID user,
        UUID user2,
        boolean tls,
        String serverName,
        boolean insecure,
        Path caFile,
        List<String> pinnedSha256,
        Profile profile,
        List<InetAddress> peers,
        Duration handshakeTimeout,
        Duration lifetimeProbe,
        Duration ioTimeout,
        Policy policy,
        String description,
        boolean embedded,
        boolean fallback,
        Duration udpLifetime,
        boolean muxRequired) {

    /** Checks and copies. */
    public VlessTarget {
        requireNonNull(address, "address");
        requireNonNull(user, "user");
        requireNonNull(profile, "profile");
        peers = List.copyOf(peers);
        pinnedSha256 = List.copyOf(pinnedSha256);
    }

    /** The target a share link and the options describe. */
    static VlessTarget of(ShareLink link, TargetOptions o, String description, boolean embedded) {
        return new VlessTarget(new InetSocketAddress(link.host(), link.port()), link.user(), o.user2(), link.tls(),
                link.serverName(), o.insecure() || link.allowInsecure(), o.caFile(), link.pinnedSha256(), o.profile(),
                o.peerAddresses(),
                o.handshakeTimeout(), o.lifetimeProbe(), o.ioTimeout(), o.policy(), description, embedded,
                o.fallback(), o.udpLifetime(), o.muxRequired());
    }

    /** Whether the target offers {@code capability}. */
    public boolean has(Capability capability) {
        switch (capability) {
            case SECOND_USER:
                return user2 != null;
            case THREE_PEER_ADDRESSES:
                return peers.stream().distinct().count() >= 3;
            case PLAINTEXT_HALF_CLOSE:
                return !tls;
            case KNOWN_SETTINGS:
                return embedded;
            case LOOPBACK_TARGET:
                // IPv4 only: 127.0.0.0/8 offers other client addresses, ::1 does not.
                return address.getAddress() instanceof java.net.Inet4Address
                        && address.getAddress().isLoopbackAddress();
            case FORGED_SOURCES:
                return has(Capability.LOOPBACK_TARGET) && RawDatagrams.unavailableReason() == null;
            default:
                throw new AssertionError(capability);
        }
    }

    /** The i-th peer address, wrapping around when fewer were given. */
    public InetAddress peer(int i) {
        return peers.get(i % peers.size());
    }

    /** How long a bad-input case waits for the target to close: the deadline plus a second (D13). */
    public Duration closeAllowance() {
        return handshakeTimeout.plusSeconds(1);
    }
}
