// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import io.netty.handler.ssl.SslContext;

/**
 * What the listener needs for TLS.
 *
 * @param context           the server context, or {@code null} for plaintext
 * @param fingerprintSha256 the certificate's SHA-256 fingerprint as colon-separated hex, or {@code null}
 * @param description       one phrase for the start-up log, such as "TLS 1.3 (OpenSSL), self-signed"
 * @param engine            the TLS engine in use, such as "OpenSSL BoringSSL" or "JDK", or "none" for plaintext
 */
public record TlsMaterial(SslContext context, String fingerprintSha256, String description, String engine) {
}
