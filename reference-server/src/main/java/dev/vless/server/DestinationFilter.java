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

    private static final List<Named> REFUSED = List.of(
            new Named("unspecified", "0.0.0.0/8"),
            new Named("private", "10.0.0.0/8"),
            new Named("shared address space", "100.64.0.0/10"),
            new Named("loopback", "127.0.0.0/8"),
            new Named("link-local", "169.254.0.0/16"),
            new Named("private", "172.16.0.0/12"),
            new Named("private", "192.168.0.0/16"),
            new Named("multicast", "224.0.0.0/4"),
            new Named("reserved or broadcast", "240.0.0.0/4"),
            new Named("unspecified", "::/128"),
            new Named("loopback", "::1/128"),
            new Named("unique local", "fc00::/7"),
            new Named("link-local", "fe80::/10"),
            new Named("multicast", "ff00::/8"));

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
        InetAddress ip = VlessAddress.canonical(address);
        for (Cidr range : allowed) {
            if (range.contains(ip)) {
                return null;
            }
        }
        for (Named named : REFUSED) {
            if (named.range.contains(ip)) {
                return named.name + " address (" + named.range + ")";
            }
        }
        if (ownAddresses.contains(ip)) {
            return "an address of this server";
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

    private record Named(String name, Cidr range) {
        Named(String name, String cidr) {
            this(name, Cidr.parse(cidr));
        }
    }
}
