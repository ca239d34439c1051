// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

/** Tables are checked in one test each: every test pays for the leak detector's garbage collections. */
class CidrTest {

    static InetAddress ip(String literal) throws UnknownHostException {
        return InetAddress.getByName(literal);
    }

    @Test
    void parsesIpv4AndIpv6Ranges() throws Exception {
        Cidr v4 = Cidr.parse("10.0.0.0/8");
        assertThat(v4.network()).isEqualTo(ip("10.0.0.0"));
        assertThat(v4.prefix()).isEqualTo(8);
        assertThat(v4).hasToString("10.0.0.0/8");
        Cidr v6 = Cidr.parse("fe80::/10");
        assertThat(v6.network()).isEqualTo(ip("fe80::"));
        assertThat(v6.prefix()).isEqualTo(10);
        assertThat(v6).hasToString("fe80::/10");
    }

    @Test
    void singleAddressIsAFullLengthPrefix() {
        assertThat(Cidr.parse("192.0.2.7").prefix()).isEqualTo(32);
        assertThat(Cidr.parse("::1").prefix()).isEqualTo(128);
    }

    @Test
    void clearsHostBitsAndTrimsWhitespace() throws Exception {
        Cidr c = Cidr.parse(" 192.168.77.200/16 ");
        assertThat(c.network()).isEqualTo(ip("192.168.0.0"));
        assertThat(c).isEqualTo(Cidr.parse("192.168.0.0/16"));
    }

    @Test
    void containment() throws Exception {
        record Case(String range, String address, boolean contained) { }
        List<Case> cases = List.of(
                new Case("127.0.0.0/8", "127.0.0.1", true),
                new Case("127.0.0.0/8", "127.255.255.255", true),
                new Case("127.0.0.0/8", "128.0.0.0", false),
                new Case("127.0.0.0/8", "126.255.255.255", false),
                new Case("172.16.0.0/12", "172.31.255.255", true),
                new Case("172.16.0.0/12", "172.32.0.0", false),
                new Case("10.1.2.3/32", "10.1.2.3", true),
                new Case("10.1.2.3/32", "10.1.2.4", false),
                new Case("0.0.0.0/0", "203.0.113.9", true),
                new Case("fe80::/10", "febf::1", true),
                new Case("fe80::/10", "fec0::1", false),
                new Case("::1/128", "::1", true),
                new Case("::1/128", "::2", false),
                new Case("::/0", "2001:db8::1", true),
                new Case("::/0", "192.0.2.1", false),
                new Case("0.0.0.0/0", "::1", false));
        SoftAssertions soft = new SoftAssertions();
        for (Case c : cases) {
            soft.assertThat(Cidr.parse(c.range).contains(ip(c.address))).as("%s contains %s", c.range, c.address)
                    .isEqualTo(c.contained);
        }
        soft.assertAll();
    }

    @Test
    void rejectsWhatIsNotARange() {
        SoftAssertions soft = new SoftAssertions();
        for (String text : List.of("", "localhost", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/33", "::/129",
                "10.0.0.0/-1", "300.1.1.1/8", "1.2.3/24")) {
            soft.assertThatThrownBy(() -> Cidr.parse(text)).as("'%s'", text)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected");
        }
        soft.assertAll();
    }

    @Test
    void rejectsPrefixLongerThanTheFamily() throws Exception {
        InetAddress v4 = ip("10.0.0.0");
        assertThatThrownBy(() -> new Cidr(v4, 33)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("prefix: /33 (expected: 0-32)");
    }
}
