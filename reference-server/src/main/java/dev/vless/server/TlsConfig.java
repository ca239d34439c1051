// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static java.util.Objects.requireNonNull;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How the listener does TLS: a PEM certificate chain and key, a certificate generated at start-up, or none (only for
 * tests or behind a TLS terminator, rule TLS-1).
 *
 * @param mode        which of the three
 * @param certificate the PEM certificate chain file, for {@link Mode#PEM}
 * @param privateKey  the PEM PKCS#8 private key file, for {@link Mode#PEM}
 * @param serverName  the host name a self-signed certificate is issued for
 * @param provider    which TLS engine serves the connections
 */
public record TlsConfig(Mode mode, Path certificate, Path privateKey, String serverName, Provider provider) {

    /** The TLS modes. */
    public enum Mode {
        /** Certificate chain and key from PEM files. */
        PEM,
        /** A fresh self-signed certificate, its SHA-256 fingerprint printed at start-up. */
        SELF_SIGNED,
        /** No TLS: for tests, or a listener behind a TLS terminator. */
        PLAINTEXT
    }

    /**
     * The TLS engine. Both pass a TLS 1.3 close_notify on as the end of one direction (TCP-3); OpenSSL (BoringSSL) is
     * the default because a handshake costs it a fraction of the JDK engine's CPU.
     */
    public enum Provider {
        /** The JDK's TLS. */
        JDK,
        /**
         * Netty's OpenSSL (BoringSSL) when its native library loads and its engine can keep TLS 1.3 half-close, else
         * the JDK's (the start-up log says which and why). The default.
         */
        OPENSSL
    }

    /** Checks that the fields fit the mode. */
    public TlsConfig {
        requireNonNull(mode, "mode");
        requireNonNull(provider, "provider");
        if (mode == Mode.PEM) {
            requireNonNull(certificate, "certificate");
            requireNonNull(privateKey, "privateKey");
        }
        if (mode == Mode.SELF_SIGNED) {
            requireNonNull(serverName, "serverName");
        }
    }

    /** TLS with the certificate chain and key in these PEM files; both must be readable. */
    public static TlsConfig pem(Path certificate, Path privateKey) {
        for (Path p : new Path[] {certificate, privateKey}) {
            if (!Files.isReadable(p)) {
                throw new IllegalArgumentException(p + ": not a readable file (expected: a PEM file)");
            }
        }
        return new TlsConfig(Mode.PEM, certificate, privateKey, null, Provider.OPENSSL);
    }

    /** TLS with a certificate generated at start-up for {@code serverName}. */
    public static TlsConfig selfSigned(String serverName) {
        return new TlsConfig(Mode.SELF_SIGNED, null, null, serverName, Provider.OPENSSL);
    }

    /** No TLS. */
    public static TlsConfig plaintext() {
        return new TlsConfig(Mode.PLAINTEXT, null, null, null, Provider.OPENSSL);
    }

    /** The same TLS with another engine. */
    public TlsConfig withProvider(Provider engine) {
        return new TlsConfig(mode, certificate, privateKey, serverName, engine);
    }
}
