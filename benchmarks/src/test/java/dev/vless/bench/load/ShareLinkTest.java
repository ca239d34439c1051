package dev.vless.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.UUID;
import org.junit.jupiter.api.Test;

class ShareLinkTest {

    private static final UUID USER = UUID.fromString("b831381d-6324-4d53-ad4f-8cda48b30811");

    @Test
    void readsTheReferenceServersLink() {
        ShareLink link = ShareLink.parse("vless://" + USER + "@127.0.0.1:8443?encryption=none&type=tcp&security=tls"
                + "&sni=localhost&pcs=AB12CD#my%20server");
        assertThat(link.user()).isEqualTo(USER);
        assertThat(link.host()).isEqualTo("127.0.0.1");
        assertThat(link.port()).isEqualTo(8443);
        assertThat(link.tls()).isTrue();
        assertThat(link.sni()).isEqualTo("localhost");
        assertThat(link.fingerprint()).isEqualTo("AB12CD");
        assertThat(link.name()).isEqualTo("my server");
    }

    @Test
    void treatsAMissingSecurityAsPlaintext() {
        ShareLink link = ShareLink.parse("vless://" + USER + "@[::1]:443");
        assertThat(link.tls()).isFalse();
        assertThat(link.host()).isEqualTo("::1");
    }

    @Test
    void rejectsOtherSchemesAndTransports() {
        assertThatThrownBy(() -> ShareLink.parse("vmess://" + USER + "@127.0.0.1:1"))
                .hasMessageContaining("vless://");
        assertThatThrownBy(() -> ShareLink.parse("vless://" + USER + "@127.0.0.1:1?type=ws"))
                .hasMessageContaining("type=ws");
        assertThatThrownBy(() -> ShareLink.parse("vless://nobody@127.0.0.1:1")).hasMessageContaining("UUID");
    }
}
