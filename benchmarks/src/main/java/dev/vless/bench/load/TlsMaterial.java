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
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLException;

/**
 * One self-signed ECDSA P-256 certificate, written as PEM files, that every TLS endpoint of a run serves (the
 * reference server, v2ray and the direct-path TLS echo), so that they all do the same handshake work; and the client
 * contexts. Clients do full handshakes: no session resumption, so a connection rate measures the whole set-up. The
 * servers a run starts are reached with that certificate pinned by its SHA-256 fingerprint, as a v1 client pins a
 * self-signed server's ({@code pcs=} in the link), so that the generator trusts that certificate and no other.
 */
final class TlsMaterial implements AutoCloseable {

    private final SelfSignedCertificate certificate;
    private final String fingerprint;
    private final SslContext server;
    private final SslContext insecureClient;
    /** Client contexts by the pins they accept: built once, not per connection. */
    private final Map<List<String>, SslContext> pinned = new ConcurrentHashMap<>();

    TlsMaterial() throws CertificateException, SSLException {
        certificate = new SelfSignedCertificate("localhost", "EC", 256);
        fingerprint = sha256(certificate.cert());
        server = SslContextBuilder.forServer(certificate.certificate(), certificate.privateKey())
                .sslProvider(provider()).protocols("TLSv1.3", "TLSv1.2").build();
        insecureClient = client(List.of());
    }

    /** The certificate's SHA-256 fingerprint, 64 upper-case hex digits: the pin of links to the run's servers. */
    String fingerprint() {
        return fingerprint;
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

    /**
     * A client context for {@code link}: pinned to its fingerprints if it has any (the run's own servers' links pin
     * the run's certificate), else trusting any certificate (another server's link that pins nothing).
     */
    SslContext clientFor(ShareLink link) throws SSLException {
        return link.pinnedSha256().isEmpty() ? insecureClient : pinnedClient(link.pinnedSha256());
    }

    /** A client context that trusts the run's own certificate only (the direct path's TLS echo serves it). */
    SslContext ownClient() throws SSLException {
        return pinnedClient(List.of(fingerprint));
    }

    private SslContext pinnedClient(List<String> pins) throws SSLException {
        SslContext c = pinned.get(pins);
        if (c == null) {
            c = client(pins);
            SslContext raced = pinned.putIfAbsent(pins, c);
            if (raced != null) {
                c = raced;
            }
        }
        return c;
    }

    static String engine() {
        return OpenSsl.isAvailable() ? "OpenSSL " + OpenSsl.versionString() : "JDK";
    }

    private static SslContext client(List<String> fingerprints) throws SSLException {
        SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider()).protocols("TLSv1.3", "TLSv1.2");
        if (fingerprints.isEmpty()) {
            b.trustManager(InsecureTrustManagerFactory.INSTANCE);
        } else {
            // The pin is the check, as in a v1 client: the run's certificate names localhost, not 127.0.0.1.
            b.trustManager(FingerprintTrustManagerFactory.builder("SHA-256").fingerprints(fingerprints).build())
                    .endpointIdentificationAlgorithm(null);
        }
        return b.build();
    }

    private static String sha256(X509Certificate cert) throws CertificateException {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
            return HexFormat.of().withUpperCase().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new CertificateException("no SHA-256 in this JVM", e);
        }
    }

    private static SslProvider provider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    @Override
    public void close() {
        certificate.delete();
    }
}
