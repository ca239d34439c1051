// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import dev.vless.client.UpstreamTls;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.FingerprintTrustManagerFactory;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import javax.net.ssl.SSLException;

/**
 * Builds the client's TLS context from an {@link UpstreamTls}: TLS 1.3 preferred, 1.2 allowed (TLS-2). With a CA
 * (system or file) the certificate must also name the server (HTTPS rules); a pinned fingerprint is the server's
 * identity by itself.
 *
 * <p>The JDK's TLS engine, not OpenSSL: Netty's OpenSSL engine closes its sending side as soon as it receives
 * close_notify, so when a server ends its direction of a TCP tunnel first, whatever the application still sends would
 * be lost. The JDK engine keeps TLS 1.3's two directions apart (D21).
 */
public final class ClientTls {

    private ClientTls() {
    }

    /**
     * The context for {@code tls}, or {@code null} for plaintext.
     *
     * @throws IllegalArgumentException when the CA file cannot be used
     */
    public static SslContext create(UpstreamTls tls) {
        if (tls.mode() == UpstreamTls.Mode.PLAINTEXT) {
            return null;
        }
        try {
            SslContextBuilder b = SslContextBuilder.forClient()
                    .sslProvider(SslProvider.JDK)
                    .protocols("TLSv1.3", "TLSv1.2");
            switch (tls.mode()) {
                case SYSTEM_TRUST:
                    b.endpointIdentificationAlgorithm("HTTPS");
                    break;
                case CA_FILE:
                    b.trustManager(tls.caFile().toFile()).endpointIdentificationAlgorithm("HTTPS");
                    break;
                case PINNED:
                    b.trustManager(FingerprintTrustManagerFactory.builder("SHA-256")
                            .fingerprints(tls.pinnedSha256()).build()).endpointIdentificationAlgorithm(null);
                    break;
                case INSECURE:
                    b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
                    break;
                default:
                    throw new AssertionError(tls.mode());
            }
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException(tls.mode() == UpstreamTls.Mode.CA_FILE
                    ? tls.caFile() + ": cannot use it as CA certificates (expected: PEM, -----BEGIN CERTIFICATE-----): "
                            + e.getMessage()
                    : "cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** The TLS engine in use, for the start-up line. */
    public static String engine() {
        return "the JDK (" + Runtime.version().feature() + ")";
    }
}
