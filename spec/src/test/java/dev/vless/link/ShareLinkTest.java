// SPDX-License-Identifier: Apache-2.0
package dev.vless.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.strings;

import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Parsing share links: what is accepted, what each mistake is told, and that a written link reads back the same. */
class ShareLinkTest {

    private static final String ID = "b831381d-6324-4d53-ad4f-8cda48b30811";
    private static final String PIN = "09E288D5A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293ACC83";

    @Test
    void parsesAV2rayNStyleLink() {
        ShareLink link = ShareLink.parse("vless://" + ID + "@example.com:443/?encryption=none&security=tls"
                + "&sni=cdn.example.com&fp=chrome&alpn=h2%2Chttp%2F1.1&type=tcp&headerType=none#%E6%97%A5%E6%9C%AC+1");
        assertThat(link.user()).isEqualTo(UUID.fromString(ID));
        assertThat(link.serverName()).isEqualTo("cdn.example.com");
        assertThat(link.pinnedSha256()).isEmpty();
        assertThat(link.allowInsecure()).isFalse();
        assertThat(link.name()).isEqualTo("日本+1");
    }

    @Test
    void parsesIpv6HostPinsAndInsecureFlag() {
        ShareLink link = ShareLink.parse("vless://" + ID + "@[2001:db8::1]:8443?security=tls&allowInsecure=1&pcs="
                + PIN.toLowerCase() + "," + PIN.replaceAll("(..)(?!$)", "$1:"));
        assertThat(link.host()).isEqualTo("2001:db8::1");
        assertThat(link.serverName()).isEqualTo("2001:db8::1");
        assertThat(link.pinnedSha256()).containsExactly(PIN, PIN);
        assertThat(link.allowInsecure()).isTrue();
    }

    @Test
    void treatsMissingSecurityAsPlaintext() {
        assertThat(ShareLink.parse("vless://" + ID + "@127.0.0.1:8443").security()).isEqualTo(ShareLink.Security.NONE);
    }

    @Test
    void tlsAndAddress() {
        ShareLink link = ShareLink.parse("vless://" + ID + "@127.0.0.1:8443?security=tls");
        assertThat(link.tls()).isTrue();
        assertThat(link.address().getPort()).isEqualTo(8443);
        assertThat(link.address().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(ShareLink.parse("vless://" + ID + "@127.0.0.1:8443").tls()).isFalse();
    }

    @Test
    void writesALinkThatReadsBackTheSame() {
        ShareLink full = new ShareLink(UUID.fromString(ID), "2001:db8::1", 443, ShareLink.Security.TLS,
                "cdn.example.com", List.of(PIN, PIN), true, "日本 #1 100%");
        assertThat(ShareLink.parse(full.toString())).isEqualTo(full);
        ShareLink bare = new ShareLink(UUID.fromString(ID), "127.0.0.1", 1, ShareLink.Security.NONE, null, List.of(),
                false, null);
        assertThat(ShareLink.parse(bare.toString())).isEqualTo(bare);
        // Names: any text without surrogates (UTF-8 round trip); server names: printable ASCII, as parse() demands.
        qt().forAll(strings().betweenCodePoints(0x20, 0xD7FF).ofLengthBetween(1, 40),
                        strings().betweenCodePoints(0x21, 0x7E).ofLengthBetween(1, 20), integers().between(1, 65535))
                .checkAssert((name, sni, port) -> {
                    ShareLink link = new ShareLink(UUID.fromString(ID), "vpn.example.com", port,
                            ShareLink.Security.TLS, sni, List.of(), false, name);
                    assertThat(ShareLink.parse(link.toString())).isEqualTo(link);
                });
    }

    @Test
    void explainsWhatIsWrong() {
        assertError("", "it is empty");
        assertError("vmess://abc", "its scheme is 'vmess' (expected: vless://");
        assertError("dmxlc3M6Ly9iODMxMzgxZC02MzI0LTRkNTMtYWQ0Zi04Y2RhNDhiMzA4MTFAZXhhbXBsZS5jb206NDQz",
                "perhaps a whole subscription");
        assertError("vless://example.com:443", "it has no user ID (no '@')");
        assertError("vless://not-a-uuid@example.com:443", "the user ID 'not-a-uuid' is not a UUID");
        assertError("vless://" + ID + "@example.com", "there is no port after the host 'example.com'");
        assertError("vless://" + ID + "@example.com:0", "the port '0' is not a port number (expected: 1-65535");
        assertError("vless://" + ID + "@example.com:https", "the port 'https' is not a port number");
        assertError("vless://" + ID + "@2001:db8::1:443", "the IPv6 address '2001:db8::1' is not in brackets");
        assertError("vless://" + ID + "@[2001:db8::1:443", "has no closing ']'");
        assertError("vless://" + ID + "@[nope]:443", "'nope' in brackets is not an IPv6 address");
        assertError("vless://" + ID + "@:443", "the host is empty");
        assertError("vless://" + ID + "@example.com:443/path", "it has a path after the port ('/path')");
        assertError("vless://" + ID + "@example.com:443?security=reality", "REALITY and XTLS are not part of");
        assertError("vless://" + ID + "@example.com:443?type=ws", "type=ws is a transport the reference tools do not speak");
        assertError("vless://" + ID + "@example.com:443?headerType=http", "headerType=http disguises TCP");
        assertError("vless://" + ID + "@example.com:443?encryption=aes", "encryption=aes is not supported");
        assertError("vless://" + ID + "@example.com:443?flow=xtls-rprx-vision", "flow=xtls-rprx-vision (XTLS)");
        assertError("vless://" + ID + "@example.com:443?pcs=abcd", "pcs=abcd is not a SHA-256 certificate fingerprint");
        assertError("vless://" + ID + "@example.com:443?allowInsecure=yes", "allowInsecure=yes is not a flag");
        assertError("vless://" + ID + "@example.com:443#bad%zzname", "the name after # has a broken %-escape at '%zz'");
    }

    private static void assertError(String link, String message) {
        assertThatThrownBy(() -> ShareLink.parse(link))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("share link: ")
                .hasMessageContaining(message)
                .hasMessageContaining("(expected: ");
    }
}
