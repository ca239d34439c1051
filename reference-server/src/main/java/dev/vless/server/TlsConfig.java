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
     * The TLS engine. The JDK's is the default because it passes a TLS 1.3 close_notify on as the end of one direction
     * (TCP-3); Netty's OpenSSL (BoringSSL) engine is faster but closes its own sending side when the client's
     * close_notify arrives, cutting off the rest of a half-closed relay.
     */
    public enum Provider {
        /** The JDK's TLS: half-close inside TLS 1.3 works. The default. */
        JDK,
        /** Netty's OpenSSL (BoringSSL) when its native library loads, else the JDK's: faster, no TLS half-close. */
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
        return new TlsConfig(Mode.PEM, certificate, privateKey, null, Provider.JDK);
    }

    /** TLS with a certificate generated at start-up for {@code serverName}. */
    public static TlsConfig selfSigned(String serverName) {
        return new TlsConfig(Mode.SELF_SIGNED, null, null, serverName, Provider.JDK);
    }

    /** No TLS. */
    public static TlsConfig plaintext() {
        return new TlsConfig(Mode.PLAINTEXT, null, null, null, Provider.JDK);
    }

    /** The same TLS with another engine. */
    public TlsConfig withProvider(Provider engine) {
        return new TlsConfig(mode, certificate, privateKey, serverName, engine);
    }
}
