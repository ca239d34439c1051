// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The address record: validation of each type, normalisation, and the IPv4-mapped canonical form (ADR-4). */
class VlessAddressTest {

    @Test
    void keepsAnIpv4Literal() {
        VlessAddress a = new VlessAddress(VlessAddressType.IPV4, "192.0.2.1", 443);
        assertThat(a.host()).isEqualTo("192.0.2.1");
        assertThat(a.port()).isEqualTo(443);
        assertThat(a.toString()).isEqualTo("192.0.2.1:443");
        assertThat(a.isIpv4Mapped()).isFalse();
    }

    @Test
    void rejectsAnIpv4TypeWithoutAnIpv4Literal() {
        assertThatIllegalArgumentException().isThrownBy(() -> new VlessAddress(VlessAddressType.IPV4, "256.0.0.1", 1))
                .withMessage("host: 256.0.0.1 (expected: an IPv4 literal)");
        assertThatIllegalArgumentException().isThrownBy(() -> new VlessAddress(VlessAddressType.IPV4, "1.2.3", 1))
                .withMessage("host: 1.2.3 (expected: an IPv4 literal)");
        assertThatIllegalArgumentException().isThrownBy(() -> new VlessAddress(VlessAddressType.IPV4, "::1", 1))
                .withMessage("host: ::1 (expected: an IPv4 literal)");
    }

    @Test
    void normalisesIpv4TextSoEqualAddressesCompareEqual() {
        // Leading zeros are decimal to NetUtil; the wire bytes are 1.2.3.4 either way.
        VlessAddress a = new VlessAddress(VlessAddressType.IPV4, "001.2.3.04", 80);
        assertThat(a).isEqualTo(new VlessAddress(VlessAddressType.IPV4, "1.2.3.4", 80));
        assertThat(a.host()).isEqualTo("1.2.3.4");
    }

    @Test
    void normalisesIpv6TextToRfc5952() {
        VlessAddress a = new VlessAddress(VlessAddressType.IPV6, "2001:DB8:0:0:0:0:0:1", 53);
        assertThat(a.host()).isEqualTo("2001:db8::1");
        assertThat(a).isEqualTo(new VlessAddress(VlessAddressType.IPV6, "[2001:db8::1]", 53));
        assertThat(a.toString()).isEqualTo("[2001:db8::1]:53");
    }

    @Test
    void rejectsAnIpv6TypeWithoutAnIpv6Literal() {
        assertThatIllegalArgumentException().isThrownBy(() -> new VlessAddress(VlessAddressType.IPV6, "1.2.3.4", 1))
                .withMessage("host: 1.2.3.4 (expected: an IPv6 literal)");
        assertThatIllegalArgumentException().isThrownBy(() -> new VlessAddress(VlessAddressType.IPV6, "example", 1))
                .withMessage("host: example (expected: an IPv6 literal)");
    }

    @Test
    void keepsAMappedAddressAsTypeIpv6ButCanonicalisesTheSocketAddress() {
        VlessAddress a = new VlessAddress(VlessAddressType.IPV6, "::ffff:192.0.2.1", 80);
        assertThat(a.type()).isEqualTo(VlessAddressType.IPV6);
        assertThat(a.isIpv4Mapped()).isTrue();
        assertThat(a.inetAddress()).isInstanceOf(Inet4Address.class);
        assertThat(a.inetAddress().getHostAddress()).isEqualTo("192.0.2.1");
        assertThat(a.toInetSocketAddress()).isEqualTo(new InetSocketAddress("192.0.2.1", 80));
    }

    @Test
    void portRangeIsZeroTo65535() {
        assertThat(new VlessAddress(VlessAddressType.IPV4, "1.1.1.1", 0).port()).isZero();
        assertThat(new VlessAddress(VlessAddressType.IPV4, "1.1.1.1", 65535).port()).isEqualTo(65535);
        assertThatIllegalArgumentException().isThrownBy(() -> new VlessAddress(VlessAddressType.IPV4, "1.1.1.1", -1))
                .withMessage("port: -1 (expected: 0-65535)");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new VlessAddress(VlessAddressType.IPV4, "1.1.1.1", 65536))
                .withMessage("port: 65536 (expected: 0-65535)");
    }

    @Test
    void namesTheMissingField() {
        assertThatNullPointerException().isThrownBy(() -> new VlessAddress(null, "a", 1)).withMessage("type");
        assertThatNullPointerException().isThrownBy(() -> new VlessAddress(VlessAddressType.DOMAIN, null, 1))
                .withMessage("host");
    }

    @Test
    void acceptsDomainsOfOneTo255PrintableBytes() {
        assertThat(new VlessAddress(VlessAddressType.DOMAIN, "a", 1).host()).isEqualTo("a");
        String longest = "x".repeat(255);
        assertThat(new VlessAddress(VlessAddressType.DOMAIN, longest, 1).host()).isEqualTo(longest);
        String allPrintable = printableAscii();
        assertThat(new VlessAddress(VlessAddressType.DOMAIN, allPrintable, 1).host()).isEqualTo(allPrintable);
    }

    @Test
    void rejectsAnEmptyDomain() {
        assertThatIllegalArgumentException().isThrownBy(() -> new VlessAddress(VlessAddressType.DOMAIN, "", 1))
                .withMessage("host: empty domain name (expected: 1-255 bytes)");
    }

    @Test
    void rejectsADomainOf256Bytes() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new VlessAddress(VlessAddressType.DOMAIN, "x".repeat(256), 1))
                .withMessage("host: domain name of 256 bytes (expected: 1-255)");
    }

    @Test
    void rejectsADomainWithSpaceControlOrNonAsciiCharacters() {
        assertThatIllegalArgumentException().isThrownBy(() -> new VlessAddress(VlessAddressType.DOMAIN, "a b", 1))
                .withMessage("host: domain name has character U+0020 at 1 "
                        + "(expected: printable ASCII, A-labels for IDNs)");
        assertThatIllegalArgumentException().isThrownBy(() -> new VlessAddress(VlessAddressType.DOMAIN, "\u007f", 1))
                .withMessageStartingWith("host: domain name has character U+007F at 0");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new VlessAddress(VlessAddressType.DOMAIN, "caf\u00e9.example", 1))
                .withMessageStartingWith("host: domain name has character U+00E9 at 3");
    }

    @Test
    void ofPicksTheTypeFromTheHostText() {
        assertThat(VlessAddress.of("192.0.2.1", 1).type()).isEqualTo(VlessAddressType.IPV4);
        assertThat(VlessAddress.of("2001:db8::1", 1).type()).isEqualTo(VlessAddressType.IPV6);
        assertThat(VlessAddress.of("[2001:db8::1]", 1)).isEqualTo(new VlessAddress(VlessAddressType.IPV6,
                "2001:db8::1", 1));
        assertThat(VlessAddress.of("example.com", 1).type()).isEqualTo(VlessAddressType.DOMAIN);
        // A dotted name that is not a valid IPv4 literal stays a domain name.
        assertThat(VlessAddress.of("1.2.3.4.5", 1).type()).isEqualTo(VlessAddressType.DOMAIN);
    }

    @Test
    void ofSocketAddressCanonicalisesMappedAddresses() throws Exception {
        InetAddress mapped = Inet6Address.getByAddress(null,
                new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, (byte) 192, 0, 2, 1}, -1);
        assertThat(mapped).isInstanceOf(Inet6Address.class);
        VlessAddress a = VlessAddress.of(new InetSocketAddress(mapped, 7));
        assertThat(a).isEqualTo(new VlessAddress(VlessAddressType.IPV4, "192.0.2.1", 7));
    }

    @Test
    void ofSocketAddressKeepsIpv6AndUnresolvedNames() {
        assertThat(VlessAddress.of(new InetSocketAddress("::1", 9)))
                .isEqualTo(new VlessAddress(VlessAddressType.IPV6, "::1", 9));
        assertThat(VlessAddress.of(InetSocketAddress.createUnresolved("example.com", 9)))
                .isEqualTo(new VlessAddress(VlessAddressType.DOMAIN, "example.com", 9));
    }

    @Test
    void aDomainHasNoInetAddressAndAnUnresolvedSocketAddress() {
        VlessAddress a = new VlessAddress(VlessAddressType.DOMAIN, "example.com", 443);
        assertThat(a.inetAddress()).isNull();
        assertThat(a.isIpv4Mapped()).isFalse();
        InetSocketAddress s = a.toInetSocketAddress();
        assertThat(s.isUnresolved()).isTrue();
        assertThat(s.getHostString()).isEqualTo("example.com");
        assertThat(s.getPort()).isEqualTo(443);
    }

    @Test
    void canonicalMapsOnlyMappedAddresses() throws Exception {
        InetAddress mapped = Inet6Address.getByAddress(null,
                new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 10, 0, 0, 1}, -1);
        assertThat(VlessAddress.canonical(mapped)).isEqualTo(InetAddress.getByName("10.0.0.1"));
        InetAddress compatible = Inet6Address.getByAddress(null,
                new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1}, -1);
        assertThat(VlessAddress.canonical(compatible)).isSameAs(compatible);
        InetAddress v6 = InetAddress.getByName("2001:db8::1");
        assertThat(VlessAddress.canonical(v6)).isSameAs(v6);
        InetSocketAddress s = new InetSocketAddress(mapped, 5);
        assertThat(VlessAddress.canonical(s)).isEqualTo(new InetSocketAddress("10.0.0.1", 5));
        InetSocketAddress plain = new InetSocketAddress("10.0.0.1", 5);
        assertThat(VlessAddress.canonical(plain)).isSameAs(plain);
    }

    @Test
    void ipv4BitsAreTheAddressMostSignificantFirst() throws Exception {
        java.util.Random random = new java.util.Random(4787);
        for (int i = 0; i < 1000; i++) {
            byte[] b = new byte[4];
            random.nextBytes(b);
            int expected = java.nio.ByteBuffer.wrap(b).getInt();
            assertThat(VlessAddress.ipv4Bits((Inet4Address) InetAddress.getByAddress(b))).isEqualTo(expected);
        }
        assertThat(VlessAddress.ipv4Bits((Inet4Address) InetAddress.getByName("255.255.255.255"))).isEqualTo(-1);
        assertThat(VlessAddress.ipv4Bits((Inet4Address) InetAddress.getByName("127.0.0.2"))).isEqualTo(0x7f000002);
    }

    private static String printableAscii() {
        StringBuilder sb = new StringBuilder();
        for (char c = 0x21; c <= 0x7e; c++) {
            sb.append(c);
        }
        return sb.toString();
    }

    @Test
    void unicastSourcesAreTheOnesARelayMayLabel() throws Exception {
        for (String ok : new String[] {"127.0.0.1", "192.0.2.1", "255.255.255.254", "::1", "2001:db8::1"}) {
            assertThat(VlessAddress.isUnicastSource(new InetSocketAddress(InetAddress.getByName(ok), 1))).as(ok).isTrue();
            assertThat(VlessAddress.isUnicastSource(new InetSocketAddress(InetAddress.getByName(ok), 65535))).as(ok)
                    .isTrue();
        }
        // DLV-6: port 0, and sources that are not unicast.
        assertThat(VlessAddress.isUnicastSource(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))).isFalse();
        assertThat(VlessAddress.isUnicastSource(new InetSocketAddress(InetAddress.getByName("::1"), 0))).isFalse();
        for (String bad : new String[] {"0.0.0.0", "::", "224.0.0.1", "239.255.255.250", "255.255.255.255",
                "ff02::1"}) {
            assertThat(VlessAddress.isUnicastSource(new InetSocketAddress(InetAddress.getByName(bad), 4000))).as(bad)
                    .isFalse();
        }
        // An IPv4-mapped broadcast is judged by its canonical IPv4 form.
        InetSocketAddress mapped = new InetSocketAddress(
                Inet6Address.getByAddress(null, new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1}, null),
                4000);
        assertThat(VlessAddress.isUnicastSource(VlessAddress.canonical(mapped))).isFalse();
    }
}
