package dev.vless.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

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
        PrivateKeyInfo info = null;
        try (Reader r = Files.newBufferedReader(key, StandardCharsets.US_ASCII); PEMParser pem = new PEMParser(r)) {
            for (Object o = pem.readObject(); o != null && info == null; o = pem.readObject()) {
                if (o instanceof PKCS8EncryptedPrivateKeyInfo || o instanceof PEMEncryptedKeyPair) {
                    throw new UsageException("--key " + key + " is encrypted (expected: an unencrypted key; decrypt "
                            + "it with: openssl pkcs8 -topk8 -nocrypt -in " + key + " -out key.pem)");
                }
                if (o instanceof PrivateKeyInfo p) {
                    info = p;
                } else if (o instanceof PEMKeyPair pair) {
                    info = pair.getPrivateKeyInfo();
                }
            }
        } catch (IOException | RuntimeException e) {
            info = null; // reported below, like a file without a key
        }
        if (info == null) {
            throw new UsageException("--key " + key + " holds no PEM private key (expected: a file starting with "
                    + "-----BEGIN PRIVATE KEY-----)");
        }
        try {
            return new JcaPEMKeyConverter().getPrivateKey(info);
        } catch (IOException e) {
            throw new UsageException("--key " + key + ": unsupported private key (" + e.getMessage()
                    + "); give an RSA, EC or Ed25519 key");
        }
    }

    /** Signs a random challenge with the key and verifies it with the certificate. */
    private static boolean matches(X509Certificate certificate, PrivateKey key) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            case "Ed448" -> "Ed448";
            default -> null;
        };
        if (algorithm == null) {
            return true; // an unusual key type: leave the judgement to the TLS engine
        }
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false; // for example an RSA key with an EC certificate: the verifier refuses the key outright
        }
    }
}
