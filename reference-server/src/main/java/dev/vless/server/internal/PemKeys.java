// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Reads a PEM private key and checks that it belongs to a certificate. The TLS engines accept a key that does not
 * match and then fail every handshake; the server refuses to start instead.
 */
public final class PemKeys {

    /** Why a key file could not be used. */
    public enum Problem {
        /** The key is encrypted. */
        ENCRYPTED,
        /** The file holds no PEM private key. */
        MISSING,
        /** The key's algorithm is not supported. */
        UNSUPPORTED
    }

    /** A key file that cannot be used, and why. */
    public static final class KeyException extends Exception {
        private static final long serialVersionUID = 1L;
        private final Problem problem;

        KeyException(Problem problem, String message) {
            super(message);
            this.problem = problem;
        }

        /** What is wrong with the file. */
        public Problem problem() {
            return problem;
        }
    }

    private PemKeys() {
    }

    /** The unencrypted private key in a PEM file (PKCS#8 or a traditional RSA/EC key pair). */
    public static PrivateKey read(Path file) throws KeyException {
        PrivateKeyInfo info = null;
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser pem = new PEMParser(r)) {
            for (Object o = pem.readObject(); o != null && info == null; o = pem.readObject()) {
                if (o instanceof PKCS8EncryptedPrivateKeyInfo || o instanceof PEMEncryptedKeyPair) {
                    throw new KeyException(Problem.ENCRYPTED, file + " is encrypted");
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
            throw new KeyException(Problem.MISSING, file + " holds no PEM private key");
        }
        try {
            return new JcaPEMKeyConverter().getPrivateKey(info);
        } catch (IOException e) {
            throw new KeyException(Problem.UNSUPPORTED, file + ": unsupported private key (" + e.getMessage() + ")");
        }
    }

    /** Whether {@code key} is the private half of {@code certificate}'s public key: sign a challenge, verify it. */
    public static boolean matches(X509Certificate certificate, PrivateKey key) {
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
