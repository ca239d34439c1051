// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.Collections;
import java.util.List;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** DST-1 without a network: which addresses each filter refuses (tables in one test each, to keep the run short). */
class DestinationFilterTest {

    static String refusal(DestinationFilter f, String ip) throws Exception {
        return f.refusal(InetAddress.getByName(ip));
    }

    @Test
    @DisplayName("DST-1 · the secure default refuses internal and special addresses")
    void secureDefaultRefusesInternalAddresses() throws Exception {
        DestinationFilter f = DestinationFilter.secureDefault();
        SoftAssertions soft = new SoftAssertions();
        for (String ip : List.of("127.0.0.1", "127.1.2.3", "::1", "0.0.0.0", "0.1.2.3", "::", "10.0.0.1",
                "172.16.0.1", "172.31.255.254", "192.168.0.1", "100.64.0.1", "169.254.169.254", "fe80::1", "fc00::1",
                "fd12:3456::1", "224.0.0.1", "239.255.255.250", "ff02::1", "255.255.255.255", "240.0.0.1")) {
            soft.assertThat(refusal(f, ip)).as(ip).isNotNull();
        }
        soft.assertAll();
    }

    @Test
    @DisplayName("DST-1 · the secure default lets public addresses through")
    void secureDefaultAllowsPublicAddresses() throws Exception {
        DestinationFilter f = DestinationFilter.secureDefault();
        SoftAssertions soft = new SoftAssertions();
        for (String ip : List.of("192.0.2.1", "198.51.100.7", "203.0.113.200", "8.8.8.8", "2001:db8::1",
                "172.32.0.1", "11.0.0.1", "2606:4700::1111")) {
            // Unless it happens to be this host's own address (192.0.2.0/24 in some sandboxes): refused as such.
            boolean own = NetworkInterface.getByInetAddress(InetAddress.getByName(ip)) != null;
            soft.assertThat(refusal(f, ip) == null).as(ip).isEqualTo(!own);
        }
        soft.assertAll();
    }

    @Test
    @DisplayName("ADR-4, DST-1 · an IPv4-mapped IPv6 address is judged as the IPv4 address it is")
    void mappedAddressesAreJudgedAsIpv4() throws Exception {
        InetAddress mapped = InetAddress.getByAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff,
            (byte) 0xff, 127, 0, 0, 1});
        assertThat(DestinationFilter.secureDefault().refusal(mapped)).contains("loopback");
        assertThat(DestinationFilter.allowingLoopback().refusal(mapped)).isNull();
    }

    @Test
    @DisplayName("DST-1 · the refusal names the reason")
    void refusalNamesTheRange() throws Exception {
        assertThat(refusal(DestinationFilter.secureDefault(), "127.0.0.1")).isEqualTo("loopback address (127.0.0.0/8)");
        assertThat(refusal(DestinationFilter.secureDefault(), "10.9.9.9")).isEqualTo("private address (10.0.0.0/8)");
    }

    @Test
    @DisplayName("DST-1 · the refusal in parts: the kind of address and its range")
    void refusalOfGivesTheKindAndRange() throws Exception {
        DestinationFilter f = DestinationFilter.secureDefault();
        SoftAssertions soft = new SoftAssertions();
        String[][] cases = {
            {"0.1.2.3", "UNSPECIFIED", "0.0.0.0/8"}, {"::", "UNSPECIFIED", "::/128"},
            {"10.9.9.9", "PRIVATE", "10.0.0.0/8"}, {"172.31.0.1", "PRIVATE", "172.16.0.0/12"},
            {"192.168.0.1", "PRIVATE", "192.168.0.0/16"}, {"100.64.0.1", "SHARED_ADDRESS_SPACE", "100.64.0.0/10"},
            {"127.0.0.1", "LOOPBACK", "127.0.0.0/8"}, {"::1", "LOOPBACK", "::1/128"},
            {"169.254.1.1", "LINK_LOCAL", "169.254.0.0/16"}, {"fe80::1", "LINK_LOCAL", "fe80::/10"},
            {"224.0.0.1", "MULTICAST", "224.0.0.0/4"}, {"ff02::1", "MULTICAST", "ff00::/8"},
            {"255.255.255.255", "RESERVED", "240.0.0.0/4"}, {"fd00::1", "UNIQUE_LOCAL", "fc00::/7"}};
        for (String[] c : cases) {
            DestinationFilter.Refusal r = f.refusalOf(InetAddress.getByName(c[0]));
            soft.assertThat(r).as(c[0]).isEqualTo(new DestinationFilter.Refusal(DestinationFilter.Kind.valueOf(c[1]),
                    Cidr.parse(c[2])));
            soft.assertThat(f.refusal(InetAddress.getByName(c[0]))).as(c[0]).isEqualTo(String.valueOf(r));
        }
        InetAddress own = Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                .flatMap(n -> Collections.list(n.getInetAddresses()).stream())
                .filter(a -> f.refusalOf(a) != null && f.refusalOf(a).kind() == DestinationFilter.Kind.OWN_ADDRESS)
                .findFirst().orElse(null);
        if (own != null) { // an interface address outside every range above, where the host has one
            soft.assertThat(f.refusalOf(own).range()).isNull();
            soft.assertThat(f.refusal(own)).isEqualTo("an address of this server");
        }
        soft.assertThat(f.refusalOf(InetAddress.getByName("192.0.2.1"))).as("public")
                .isIn(null, new DestinationFilter.Refusal(DestinationFilter.Kind.OWN_ADDRESS, null));
        soft.assertAll();
    }

    @Test
    @DisplayName("DST-1 · the server's own interface addresses are refused")
    void ownAddressesAreRefused() throws Exception {
        DestinationFilter f = DestinationFilter.secureDefault();
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                assertThat(f.refusal(a)).as("%s of %s", a, nic.getName()).isNotNull();
            }
        }
    }

    @Test
    @DisplayName("allowingLoopback lets 127.0.0.0/8 and ::1 through and nothing else")
    void allowingLoopbackIsNarrow() throws Exception {
        DestinationFilter f = DestinationFilter.allowingLoopback();
        assertThat(refusal(f, "127.0.0.1")).isNull();
        assertThat(refusal(f, "127.0.0.3")).isNull();
        assertThat(refusal(f, "::1")).isNull();
        assertThat(refusal(f, "10.0.0.1")).isNotNull();
        assertThat(refusal(f, "0.0.0.0")).isNotNull();
        assertThat(refusal(f, "169.254.169.254")).isNotNull();
    }

    @Test
    @DisplayName("an allowed range wins over the refused ranges it overlaps, and only it")
    void allowedRangeWins() throws Exception {
        DestinationFilter f = DestinationFilter.allowing(List.of(Cidr.parse("10.1.0.0/16")));
        assertThat(refusal(f, "10.1.2.3")).isNull();
        assertThat(refusal(f, "10.2.0.1")).isNotNull();
        assertThat(f.allowed()).containsExactly(Cidr.parse("10.1.0.0/16"));
    }

    @Test
    @DisplayName("allowingEverything refuses nothing")
    void allowingEverythingRefusesNothing() throws Exception {
        DestinationFilter f = DestinationFilter.allowingEverything();
        for (String ip : List.of("127.0.0.1", "::1", "10.0.0.1", "224.0.0.1", "fe80::1")) {
            assertThat(refusal(f, ip)).as(ip).isNull();
        }
    }
}
