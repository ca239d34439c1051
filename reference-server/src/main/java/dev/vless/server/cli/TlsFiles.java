// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.cli;

import dev.vless.cli.UsageException;
import dev.vless.server.internal.PemKeys;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;

/**
 * Checks {@code --cert} and {@code --key} before the server starts. The TLS engine accepts a key that does not belong
 * to the certificate and then fails every handshake; an operator should hear that at start, in one line.
 */
final class TlsFiles {

    private TlsFiles() {
    }

    /** Fails unless {@code key} holds an unencrypted private key whose public half is {@code cert}'s first one. */
    static void checkPair(Path cert, Path key) throws UsageException {
        X509Certificate certificate = certificate(cert);
        PrivateKey privateKey = privateKey(key);
        if (!matches(certificate, privateKey)) {
            throw new UsageException("--key " + key + " does not belong to --cert " + cert + " (its "
                    + privateKey.getAlgorithm() + " key does not match the certificate's "
                    + certificate.getPublicKey().getAlgorithm() + " public key); give the key the certificate was "
                    + "issued for");
        }
    }

    private static X509Certificate certificate(Path cert) throws UsageException {
        try (InputStream in = Files.newInputStream(cert)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (CertificateException | IOException | ClassCastException e) {
            throw new UsageException("--cert " + cert + " is not a PEM certificate (expected: a file starting with "
                    + "-----BEGIN CERTIFICATE-----, the server's certificate first, then its chain)");
        }
    }

    private static PrivateKey privateKey(Path key) throws UsageException {
        try {
            return PemKeys.read(key);
        } catch (PemKeys.KeyException e) {
            switch (e.problem()) {
                case ENCRYPTED:
                    throw new UsageException("--key " + key + " is encrypted (expected: an unencrypted key; decrypt "
                            + "it with: openssl pkcs8 -topk8 -nocrypt -in " + key + " -out key.pem)");
                case MISSING:
                    throw new UsageException("--key " + key + " holds no PEM private key (expected: a file starting "
                            + "with -----BEGIN PRIVATE KEY-----)");
                default:
                    throw new UsageException("--key " + key + ": " + e.getMessage().substring(key.toString().length()
                            + 2) + "; give an RSA, EC or Ed25519 key");
            }
        }
    }

    private static boolean matches(X509Certificate certificate, PrivateKey key) {
        return PemKeys.matches(certificate, key);
    }
}
