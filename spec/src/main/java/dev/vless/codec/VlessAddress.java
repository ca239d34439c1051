// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static java.util.Objects.requireNonNull;

import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A host and port as VLESS carries them: an IPv4 or IPv6 literal, or a domain name.
 *
 * <p>The record keeps what the wire said: an IPv4-mapped IPv6 address stays type {@link VlessAddressType#IPV6}
 * here, and {@link #toInetSocketAddress()} gives its canonical IPv4 form (rule ADR-4). Port 0 is representable;
 * the request rejects it (HDR-8), a UMFURS source rejects it (UMF-6).
 *
 * @param type the address type field
 * @param host the address: dotted IPv4, RFC 5952 IPv6 text, or the domain name's ASCII bytes
 * @param port the port field, 0..65535
 * @see "spec/VLESS.md §5"
 */
public record VlessAddress(VlessAddressType type, String host, int port) {

    /** The longest domain name the one-byte length allows. */
    public static final int MAX_DOMAIN_LENGTH = 255;

    /** Checks every field; normalises IP text (IPv6 to RFC 5952) so that equal addresses compare equal. */
    public VlessAddress {
        requireNonNull(type, "type");
        requireNonNull(host, "host");
        if (port < 0 || port > 0xffff) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0-65535)");
        }
        switch (type) {
            case IPV4:
                if (!NetUtil.isValidIpV4Address(host)) {
                    throw new IllegalArgumentException("host: " + host + " (expected: an IPv4 literal)");
                }
                // NetUtil accepts leading zeros ("010.0.0.1" is 10.0.0.1); one spelling keeps equals meaningful.
                host = NetUtil.bytesToIpAddress(NetUtil.createByteArrayFromIpAddressString(host));
                break;
            case IPV6:
                byte[] bytes = NetUtil.createByteArrayFromIpAddressString(stripBrackets(host));
                if (bytes == null || bytes.length != 16) {
                    throw new IllegalArgumentException("host: " + host + " (expected: an IPv6 literal)");
                }
                host = NetUtil.bytesToIpAddress(bytes);
                break;
            case DOMAIN:
                checkDomain(host);
                break;
            default:
                throw new AssertionError(type);
        }
    }

    /** An address of the type its host calls for: an IP literal becomes IPv4 or IPv6, anything else a domain. */
    public static VlessAddress of(String host, int port) {
        requireNonNull(host, "host");
        String h = stripBrackets(host);
        if (NetUtil.isValidIpV4Address(h)) {
            return new VlessAddress(VlessAddressType.IPV4, h, port);
        }
        if (NetUtil.isValidIpV6Address(h)) {
            return new VlessAddress(VlessAddressType.IPV6, h, port);
        }
        return new VlessAddress(VlessAddressType.DOMAIN, host, port);
    }

    /**
     * The address of a socket address: an unresolved one by its host name, a resolved one by its IP, canonicalised
     * so that an IPv4-mapped IPv6 address becomes IPv4 (ADR-4).
     */
    public static VlessAddress of(InetSocketAddress address) {
        requireNonNull(address, "address");
        InetAddress ip = address.getAddress();
        if (ip == null) {
            return of(address.getHostString(), address.getPort());
        }
        InetAddress canonical = canonical(ip);
        VlessAddressType type = canonical instanceof Inet4Address ? VlessAddressType.IPV4 : VlessAddressType.IPV6;
        return new VlessAddress(type, NetUtil.bytesToIpAddress(canonical.getAddress()), address.getPort());
    }

    /** The IP address without DNS, canonicalised per ADR-4; {@code null} for a domain. */
    public InetAddress inetAddress() {
        if (type == VlessAddressType.DOMAIN) {
            return null;
        }
        try {
            return canonical(InetAddress.getByAddress(NetUtil.createByteArrayFromIpAddressString(host)));
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // the constructor checked the literal
        }
    }

    /** A socket address: resolved (without DNS) for IP literals, unresolved for domain names. */
    public InetSocketAddress toInetSocketAddress() {
        if (type == VlessAddressType.DOMAIN) {
            return InetSocketAddress.createUnresolved(host, port);
        }
        return new InetSocketAddress(inetAddress(), port);
    }

    /** Whether this is an IPv6 address of the form ::ffff:a.b.c.d. */
    public boolean isIpv4Mapped() {
        return type == VlessAddressType.IPV6 && inetAddress() instanceof Inet4Address;
    }

    /** {@code host:port}, with brackets around IPv6. */
    @Override
    public String toString() {
        return (type == VlessAddressType.IPV6 ? "[" + host + "]" : host) + ":" + port;
    }

    /** Maps an IPv4-mapped IPv6 address to IPv4 (ADR-4); other addresses are returned as they are. */
    public static InetAddress canonical(InetAddress ip) {
        if (ip instanceof Inet6Address) {
            byte[] b = ip.getAddress();
            if (isMapped(b)) {
                try {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                } catch (UnknownHostException e) {
                    throw new AssertionError(e);
                }
            }
        }
        return ip;
    }

    /** Canonicalises the IP of a socket address per ADR-4. */
    public static InetSocketAddress canonical(InetSocketAddress address) {
        InetAddress ip = address.getAddress();
        if (ip instanceof Inet6Address && isMapped(ip.getAddress())) {
            return new InetSocketAddress(canonical(ip), address.getPort());
        }
        return address;
    }

    /**
     * Whether a datagram from {@code source} may be relayed and labelled (DLV-6): a port in 1-65535 and a unicast IP,
     * neither unspecified, multicast nor 255.255.255.255. Any remote chooses its datagrams' source, so the server
     * checks it like any other input; pass the {@link #canonical(InetSocketAddress) canonical} address, so that an
     * IPv4-mapped broadcast source is seen as IPv4. Allocates nothing: it runs for every datagram.
     */
    public static boolean isUnicastSource(InetSocketAddress source) {
        InetAddress ip = source.getAddress();
        int port = source.getPort();
        if (ip == null || port < 1 || port > 65535 || ip.isAnyLocalAddress() || ip.isMulticastAddress()) {
            return false;
        }
        return !(ip instanceof Inet4Address v4) || ipv4Bits(v4) != -1;
    }

    /**
     * The 32 bits of an IPv4 address, most significant first, without the array {@link InetAddress#getAddress()}
     * copies on every call (it showed up as the one allocation of every UMFURS). OpenJDK's {@code hashCode} of an
     * {@code Inet4Address} is exactly these bits; that is checked once, and where it does not hold the copy is made.
     */
    public static int ipv4Bits(Inet4Address ip) {
        if (IPV4_HASH_IS_ADDRESS) {
            return ip.hashCode();
        }
        byte[] b = ip.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | b[3] & 0xff;
    }

    private static final boolean IPV4_HASH_IS_ADDRESS = ipv4HashIsAddress();

    private static boolean ipv4HashIsAddress() {
        try {
            for (byte[] b : new byte[][] {{1, 2, 3, 4}, {(byte) 255, (byte) 254, (byte) 128, 0}, {127, 0, 0, 1}}) {
                int bits = (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | b[3] & 0xff;
                if (InetAddress.getByAddress(b).hashCode() != bits) {
                    return false;
                }
            }
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    static boolean isMapped(byte[] b) {
        if (b.length != 16) {
            return false;
        }
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }

    private static String stripBrackets(String host) {
        if (host.length() > 1 && host.charAt(0) == '[' && host.charAt(host.length() - 1) == ']') {
            return host.substring(1, host.length() - 1);
        }
        return host;
    }

    private static void checkDomain(String host) {
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host: empty domain name (expected: 1-255 bytes)");
        }
        if (host.length() > MAX_DOMAIN_LENGTH) {
            throw new IllegalArgumentException(
                    "host: domain name of " + host.length() + " bytes (expected: 1-" + MAX_DOMAIN_LENGTH + ")");
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (!VlessAddressCodec.isDomainByte(c)) {
                throw new IllegalArgumentException(String.format(
                        "host: domain name has character U+%04X at %d (expected: printable ASCII, A-labels for IDNs)",
                        (int) c, i));
            }
        }
    }
}
