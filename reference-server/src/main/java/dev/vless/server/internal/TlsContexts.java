// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import dev.vless.server.TlsConfig;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Builds the server's TLS context: TLS 1.3 (TLS-2) with 1.2 allowed for older clients, on the engine the configuration
 * names. OpenSSL (BoringSSL, the default) costs far less CPU per handshake than the JDK's engine; it keeps TLS 1.3
 * half-close (TCP-3, D21) only with {@link OpenSslHalfClose} in the pipeline, so when that cannot work here, or the
 * native library does not load, the JDK's engine serves instead.
 */
public final class TlsContexts {

    private TlsContexts() {
    }

    /** The TLS material for {@code config}; plaintext gives a {@code null} context. */
    public static TlsMaterial create(TlsConfig config) throws GeneralSecurityException, IOException {
        switch (config.mode()) {
            case PLAINTEXT:
                return new TlsMaterial(null, null, "off (plaintext)", "none");
            case PEM: {
                X509Certificate cert;
                try (InputStream in = Files.newInputStream(config.certificate())) {
                    cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
                } catch (CertificateException e) {
                    throw new IllegalArgumentException(config.certificate()
                            + ": not a PEM certificate (expected: -----BEGIN CERTIFICATE-----)", e);
                }
                SslContext ctx;
                try {
                    ctx = builder(SslContextBuilder.forServer(config.certificate().toFile(),
                            config.privateKey().toFile()), config.provider()).build();
                } catch (IllegalArgumentException | javax.net.ssl.SSLException e) {
                    throw new IllegalArgumentException(config.privateKey()
                            + ": cannot use this key with the certificate (expected: an unencrypted PKCS#8 PEM key"
                            + " matching " + config.certificate() + "): " + e.getMessage(), e);
                }
                try {
                    if (!PemKeys.matches(cert, PemKeys.read(config.privateKey()))) {
                        throw new IllegalArgumentException(config.privateKey() + " does not belong to "
                                + config.certificate() + " (expected: the private key the certificate was issued for)");
                    }
                } catch (PemKeys.KeyException e) {
                    throw new IllegalArgumentException(e.getMessage() + " (expected: an unencrypted PEM private key)");
                }
                return new TlsMaterial(ctx, fingerprint(cert), describe(config.provider()) + ", certificate "
                        + config.certificate(), engine(config.provider()));
            }
            case SELF_SIGNED: {
                SelfSigned made = selfSigned(config.serverName());
                KeyPair pair = made.keys();
                X509Certificate cert = made.certificate();
                SslContext ctx = builder(SslContextBuilder.forServer(pair.getPrivate(), cert), config.provider()).build();
                return new TlsMaterial(ctx, fingerprint(cert),
                        describe(config.provider()) + ", self-signed for " + config.serverName(),
                        engine(config.provider()));
            }
            default:
                throw new AssertionError(config.mode());
        }
    }

    /**
     * A fresh EC key pair and a certificate for {@code serverName} signed by it: what {@link TlsConfig#selfSigned} serves,
     * for tools that need the key and certificate themselves (the client conformance harness's scripted server).
     */
    public static SelfSigned selfSigned(String serverName) throws GeneralSecurityException {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        KeyPair pair = gen.generateKeyPair();
        return new SelfSigned(pair, selfSign(pair, serverName));
    }

    /** A key pair and its self-signed certificate. */
    public record SelfSigned(KeyPair keys, X509Certificate certificate) {
    }

    /** The SHA-256 fingerprint of {@code cert} as colon-separated upper-case hex, as browsers show it. */
    public static String fingerprint(X509Certificate cert) throws GeneralSecurityException {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
        return HexFormat.ofDelimiter(":").withUpperCase().formatHex(digest);
    }

    private static SslContextBuilder builder(SslContextBuilder b, TlsConfig.Provider provider) {
        return b.sslProvider(useOpenSsl(provider) ? SslProvider.OPENSSL : SslProvider.JDK)
                .protocols("TLSv1.3", "TLSv1.2");
    }

    /** Whether {@code provider} gets the OpenSSL engine here; see {@link OpenSslHalfClose#supported()}. */
    private static boolean useOpenSsl(TlsConfig.Provider provider) {
        return provider == TlsConfig.Provider.OPENSSL && OpenSslHalfClose.supported();
    }

    private static String describe(TlsConfig.Provider provider) {
        return "TLS 1.3 (" + engine(provider) + ")";
    }

    /** The engine that serves {@code provider}, and why it is not the one asked for. */
    private static String engine(TlsConfig.Provider provider) {
        if (useOpenSsl(provider)) {
            return "OpenSSL " + OpenSsl.versionString();
        }
        if (provider == TlsConfig.Provider.JDK) {
            return "JDK";
        }
        return OpenSsl.isAvailable() ? "JDK: this Netty's OpenSSL engine cannot keep TLS half-close"
                : "JDK: OpenSSL unavailable here (" + OpenSsl.unavailabilityCause() + ")";
    }

    private static X509Certificate selfSign(KeyPair pair, String serverName) throws GeneralSecurityException {
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=" + serverName.replaceAll("[,=+<>#;\"\\\\]", "_"));
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject,
                new BigInteger(64, new SecureRandom()), Date.from(now.minus(Duration.ofDays(1))),
                Date.from(now.plus(Duration.ofDays(3650))), subject, pair.getPublic());
        try {
            boolean ip = io.netty.util.NetUtil.isValidIpV4Address(serverName)
                    || io.netty.util.NetUtil.isValidIpV6Address(serverName);
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, serverName)));
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
        } catch (OperatorCreationException | IOException e) {
            throw new GeneralSecurityException("cannot sign the self-signed certificate", e);
        }
    }
}
