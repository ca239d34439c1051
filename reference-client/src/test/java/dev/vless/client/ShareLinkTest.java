// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.link.ShareLink;
import dev.vless.server.VlessServer;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The client against share links: the one the reference server prints, and the TLS set-up a link implies. */
class ShareLinkTest {

    private static final String ID = "b831381d-6324-4d53-ad4f-8cda48b30811";
    private static final String PIN = "09E288D5A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293ACC83";

    @Test
    void parsesTheLinkTheReferenceServerPrints() {
        UUID user = UUID.randomUUID();
        try (VlessServer server = VlessServer.builder().user(user).build()) {
            server.start().join();
            ShareLink link = ShareLink.parse(server.shareLink(user, "vpn.example.com", "my server"));
            assertThat(link.user()).isEqualTo(user);
            assertThat(link.host()).isEqualTo("vpn.example.com");
            assertThat(link.port()).isEqualTo(server.localAddress().getPort());
            assertThat(link.security()).isEqualTo(ShareLink.Security.TLS);
            assertThat(link.sni()).isEqualTo("localhost");
            assertThat(link.pinnedSha256()).containsExactly(server.certificateFingerprint().replace(":", ""));
            assertThat(link.name()).isEqualTo("my server");
        }
    }

    @Test
    void configuresTheClientFromTheLink() {
        VlessClientConfig pinned = VlessClient.builder()
                .shareLink(ShareLink.parse("vless://" + ID + "@127.0.0.1:8443?security=tls&sni=localhost&pcs=" + PIN))
                .buildConfig();
        assertThat(pinned.tls()).isEqualTo(UpstreamTls.pinned("localhost", List.of(PIN)));
        assertThat(pinned.serverHost()).isEqualTo("127.0.0.1");
        assertThat(pinned.serverPort()).isEqualTo(8443);
        VlessClientConfig ca = VlessClient.builder()
                .shareLink(ShareLink.parse("vless://" + ID + "@vpn.example.com:443?security=tls")).buildConfig();
        assertThat(ca.tls().mode()).isEqualTo(UpstreamTls.Mode.SYSTEM_TRUST);
        VlessClientConfig plain = VlessClient.builder()
                .shareLink(ShareLink.parse("vless://" + ID + "@127.0.0.1:8443?security=none")).buildConfig();
        assertThat(plain.tls().mode()).isEqualTo(UpstreamTls.Mode.PLAINTEXT);
    }
}
