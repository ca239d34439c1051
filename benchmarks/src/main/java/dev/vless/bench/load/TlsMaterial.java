// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.link.ShareLink;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.FingerprintTrustManagerFactory;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * One self-signed ECDSA P-256 certificate, written as PEM files, that every TLS endpoint of a run serves (the
 * reference server, v2ray and the direct-path TLS echo), so that they all do the same handshake work; and the client
 * contexts. Clients do full handshakes: no session resumption, so a connection rate measures the whole set-up.
 */
final class TlsMaterial implements AutoCloseable {

    private final SelfSignedCertificate certificate;
    private final SslContext server;
    private final SslContext insecureClient;

    TlsMaterial() throws CertificateException, SSLException {
        certificate = new SelfSignedCertificate("localhost", "EC", 256);
        server = SslContextBuilder.forServer(certificate.certificate(), certificate.privateKey())
                .sslProvider(provider()).protocols("TLSv1.3", "TLSv1.2").build();
        insecureClient = client(List.of());
    }

    Path certificateFile() {
        return certificate.certificate().toPath();
    }

    Path keyFile() {
        return certificate.privateKey().toPath();
    }

    SslContext serverContext() {
        return server;
    }

    /** A client context for {@code link}: pinned to its fingerprints if it has any, else trusting any certificate. */
    SslContext clientFor(ShareLink link) throws SSLException {
        return link.pinnedSha256().isEmpty() ? insecureClient : client(link.pinnedSha256());
    }

    /** A client context that trusts any certificate (the direct path and managed servers use our own certificate). */
    SslContext insecureClient() {
        return insecureClient;
    }

    static String engine() {
        return OpenSsl.isAvailable() ? "OpenSSL " + OpenSsl.versionString() : "JDK";
    }

    private static SslContext client(List<String> fingerprints) throws SSLException {
        SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider()).protocols("TLSv1.3", "TLSv1.2");
        if (fingerprints.isEmpty()) {
            b.trustManager(InsecureTrustManagerFactory.INSTANCE);
        } else {
            b.trustManager(FingerprintTrustManagerFactory.builder("SHA-256").fingerprints(fingerprints).build());
        }
        return b.build();
    }

    private static SslProvider provider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    @Override
    public void close() {
        certificate.delete();
    }
}
