// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static java.util.Objects.requireNonNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * How the client reaches the VLESS server: inside TLS, verified by the system's CAs, by a CA file or by a pinned
 * certificate fingerprint, or (only when told) without verification or without TLS at all (TLS-1).
 *
 * @param mode         which of these
 * @param serverName   the TLS server name (SNI) and, for CA verification, the name the certificate must carry;
 *                     {@code null} means the server's host
 * @param caFile       the PEM file of trusted CA certificates, for {@link Mode#CA_FILE}
 * @param pinnedSha256 the accepted SHA-256 fingerprints of the server certificate as 64 hex digits each, for
 *                     {@link Mode#PINNED}
 */
public record UpstreamTls(Mode mode, String serverName, Path caFile, List<String> pinnedSha256) {

    private static final Pattern SHA256_HEX = Pattern.compile("[0-9A-F]{64}");

    /** The ways of securing the connection to the server. */
    public enum Mode {
        /** TLS, the certificate verified against the JVM's default CAs and the server name. */
        SYSTEM_TRUST,
        /** TLS, the certificate verified against the CAs of a PEM file and the server name. */
        CA_FILE,
        /** TLS, the leaf certificate accepted only if its SHA-256 fingerprint is one of the pinned ones. */
        PINNED,
        /** TLS without any verification: for tests; an active attacker can read everything. */
        INSECURE,
        /** No TLS: for tests, or a server behind a TLS terminator reached over a trusted network. */
        PLAINTEXT
    }

    /** Checks that the fields fit the mode; fingerprints are normalised to upper-case hex without colons. */
    public UpstreamTls {
        requireNonNull(mode, "mode");
        pinnedSha256 = pinnedSha256 == null ? List.of()
                : pinnedSha256.stream().map(p -> p.replace(":", "").toUpperCase(Locale.ROOT)).toList();
        if (serverName != null && serverName.isBlank()) {
            throw new IllegalArgumentException("serverName: blank (expected: a host name, or null for the host)");
        }
        if (mode == Mode.CA_FILE) {
            requireNonNull(caFile, "caFile");
            if (!Files.isReadable(caFile)) {
                throw new IllegalArgumentException("caFile: " + caFile + " is not a readable file (expected: PEM CA "
                        + "certificates)");
            }
        }
        if (mode == Mode.PINNED) {
            if (pinnedSha256.isEmpty()) {
                throw new IllegalArgumentException("pinnedSha256: none (expected: at least one SHA-256 fingerprint)");
            }
            for (String p : pinnedSha256) {
                if (!SHA256_HEX.matcher(p).matches()) {
                    throw new IllegalArgumentException("pinnedSha256: " + p + " (expected: 64 hex digits)");
                }
            }
        }
    }

    /** TLS verified by the JVM's default CAs. */
    public static UpstreamTls systemTrust(String serverName) {
        return new UpstreamTls(Mode.SYSTEM_TRUST, serverName, null, List.of());
    }

    /** TLS verified by the CA certificates in {@code caFile}. */
    public static UpstreamTls caFile(Path caFile, String serverName) {
        return new UpstreamTls(Mode.CA_FILE, serverName, caFile, List.of());
    }

    /** TLS accepting only a certificate with one of these SHA-256 fingerprints (hex, colons allowed). */
    public static UpstreamTls pinned(String serverName, List<String> sha256) {
        return new UpstreamTls(Mode.PINNED, serverName, null, sha256);
    }

    /** TLS accepting any certificate. */
    public static UpstreamTls insecure(String serverName) {
        return new UpstreamTls(Mode.INSECURE, serverName, null, List.of());
    }

    /** No TLS. */
    public static UpstreamTls plaintext() {
        return new UpstreamTls(Mode.PLAINTEXT, null, null, List.of());
    }

    /** One phrase for logs, such as "TLS, pinned certificate SHA-256 09E288D5…". */
    public String describe() {
        String sni = serverName != null ? ", server name " + serverName : "";
        switch (mode) {
            case SYSTEM_TRUST:
                return "TLS, certificate checked against the system CAs" + sni;
            case CA_FILE:
                return "TLS, certificate checked against " + caFile + sni;
            case PINNED:
                return "TLS, pinned certificate SHA-256 " + pinnedSha256.get(0).substring(0, 16) + "…"
                        + (pinnedSha256.size() > 1 ? " (+" + (pinnedSha256.size() - 1) + ")" : "") + sni;
            case INSECURE:
                return "TLS WITHOUT certificate verification" + sni;
            case PLAINTEXT:
                return "plaintext (no TLS)";
            default:
                throw new AssertionError(mode);
        }
    }
}
