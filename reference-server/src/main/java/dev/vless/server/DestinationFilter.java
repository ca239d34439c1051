// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static java.util.Objects.requireNonNull;

import dev.vless.codec.VlessAddress;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which destinations the server may connect or send to. A proxy must not become a door into its own network, so by
 * default it refuses loopback, unspecified, link-local, private, multicast, broadcast and its own addresses (DST-1);
 * ranges the operator allows are let through.
 *
 * @see "spec/VLESS.md §16"
 */
public final class DestinationFilter {

    /** The kinds of address refused by default. */
    public enum Kind {
        /** {@code 0.0.0.0/8}, {@code ::}. */
        UNSPECIFIED("unspecified"),
        /** {@code 10.0.0.0/8}, {@code 172.16.0.0/12}, {@code 192.168.0.0/16}. */
        PRIVATE("private"),
        /** {@code 100.64.0.0/10}, carrier-grade NAT. */
        SHARED_ADDRESS_SPACE("shared address space"),
        /** {@code 127.0.0.0/8}, {@code ::1}: services on the server's own host. */
        LOOPBACK("loopback"),
        /** {@code 169.254.0.0/16}, {@code fe80::/10}. */
        LINK_LOCAL("link-local"),
        /** {@code 224.0.0.0/4}, {@code ff00::/8}. */
        MULTICAST("multicast"),
        /** {@code 240.0.0.0/4}, including 255.255.255.255. */
        RESERVED("reserved or broadcast"),
        /** {@code fc00::/7}. */
        UNIQUE_LOCAL("unique local"),
        /** An address of one of the server's own interfaces. */
        OWN_ADDRESS("an address of this server");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        /** The kind in a few words, such as {@code loopback}. */
        public String label() {
            return label;
        }
    }

    /**
     * Why an address is refused.
     *
     * @param kind  the kind of address
     * @param range the default-refused range it is in, or {@code null} for {@link Kind#OWN_ADDRESS}
     */
    public record Refusal(Kind kind, Cidr range) {

        /** Checks the parts. */
        public Refusal {
            requireNonNull(kind, "kind");
        }

        /** Such as {@code loopback address (127.0.0.0/8)} or {@code an address of this server}. */
        @Override
        public String toString() {
            return range == null ? kind.label() : kind.label() + " address (" + range + ")";
        }
    }

    private static final List<Named> REFUSED = List.of(
            new Named(Kind.UNSPECIFIED, "0.0.0.0/8"),
            new Named(Kind.PRIVATE, "10.0.0.0/8"),
            new Named(Kind.SHARED_ADDRESS_SPACE, "100.64.0.0/10"),
            new Named(Kind.LOOPBACK, "127.0.0.0/8"),
            new Named(Kind.LINK_LOCAL, "169.254.0.0/16"),
            new Named(Kind.PRIVATE, "172.16.0.0/12"),
            new Named(Kind.PRIVATE, "192.168.0.0/16"),
            new Named(Kind.MULTICAST, "224.0.0.0/4"),
            new Named(Kind.RESERVED, "240.0.0.0/4"),
            new Named(Kind.UNSPECIFIED, "::/128"),
            new Named(Kind.LOOPBACK, "::1/128"),
            new Named(Kind.UNIQUE_LOCAL, "fc00::/7"),
            new Named(Kind.LINK_LOCAL, "fe80::/10"),
            new Named(Kind.MULTICAST, "ff00::/8"));

    private final List<Cidr> allowed;
    private final Set<InetAddress> ownAddresses;

    private DestinationFilter(List<Cidr> allowed, Set<InetAddress> ownAddresses) {
        this.allowed = List.copyOf(allowed);
        this.ownAddresses = Set.copyOf(ownAddresses);
    }

    /** The secure default: every range above refused, nothing extra allowed. */
    public static DestinationFilter secureDefault() {
        return new DestinationFilter(List.of(), localAddresses());
    }

    /** The default, with these ranges allowed. */
    public static DestinationFilter allowing(List<Cidr> ranges) {
        return new DestinationFilter(requireNonNull(ranges, "ranges"), localAddresses());
    }

    /** Loopback allowed, as the tests and the embedded conformance target need. */
    public static DestinationFilter allowingLoopback() {
        return allowing(List.of(Cidr.parse("127.0.0.0/8"), Cidr.parse("::1/128")));
    }

    /** Everything allowed: only for a server that is itself inside a sandbox. */
    public static DestinationFilter allowingEverything() {
        return allowing(List.of(Cidr.parse("0.0.0.0/0"), Cidr.parse("::/0")));
    }

    /** The ranges the operator allowed. */
    public List<Cidr> allowed() {
        return allowed;
    }

    /**
     * Why {@code address} is refused, or {@code null} when it is allowed. An IPv4-mapped IPv6 address is judged as the
     * IPv4 address it is (ADR-4).
     */
    public String refusal(InetAddress address) {
        Refusal r = refusalOf(address);
        return r == null ? null : r.toString();
    }

    /**
     * Why {@code address} is refused, or {@code null} when it is allowed; {@link #refusal} in parts, so that a log
     * line can say which setting would allow it.
     */
    public Refusal refusalOf(InetAddress address) {
        InetAddress ip = VlessAddress.canonical(address);
        for (Cidr range : allowed) {
            if (range.contains(ip)) {
                return null;
            }
        }
        for (Named named : REFUSED) {
            if (named.range.contains(ip)) {
                return new Refusal(named.kind, named.range);
            }
        }
        if (ownAddresses.contains(ip)) {
            return new Refusal(Kind.OWN_ADDRESS, null);
        }
        return null;
    }

    @Override
    public String toString() {
        return "DestinationFilter[allowed=" + allowed + "]";
    }

    private static Set<InetAddress> localAddresses() {
        Set<InetAddress> out = new HashSet<>();
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    out.add(VlessAddress.canonical(a));
                }
            }
        } catch (SocketException e) {
            // Without the list, the range checks above still hold; own public addresses just go unrecognised.
        }
        return out;
    }

    private record Named(Kind kind, Cidr range) {
        Named(Kind kind, String cidr) {
            this(kind, Cidr.parse(cidr));
        }
    }
}
