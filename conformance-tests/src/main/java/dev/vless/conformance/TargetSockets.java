// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/** Opens the harness's connections: plaintext, or TLS verified by CA, pinned fingerprint, or not at all. */
final class TargetSockets {

    private static volatile SSLContext cachedContext;
    private static volatile VlessTarget cachedFor;

    private TargetSockets() {
    }

    static Socket connect(VlessTarget target) throws IOException {
        return connect(target, null);
    }

    /** A connection from {@code localAddress} (any port), or from wherever the OS chooses when it is {@code null}. */
    static Socket connect(VlessTarget target, java.net.InetAddress localAddress) throws IOException {
        Socket raw = new Socket();
        try {
            raw.setTcpNoDelay(true);
            if (localAddress != null) {
                raw.bind(new InetSocketAddress(localAddress, 0));
            }
            raw.connect(target.address(), (int) target.ioTimeout().toMillis());
        } catch (IOException e) {
            raw.close();
            throw new TargetUnreachableException("cannot connect to " + target.address() + ": " + e.getMessage()
                    + " (is the server running, and the address right?)", e);
        }
        if (!target.tls()) {
            return raw;
        }
        try {
            SSLSocket tls = (SSLSocket) context(target).getSocketFactory().createSocket(raw,
                    target.address().getHostString(), target.address().getPort(), true);
            SSLParameters params = tls.getSSLParameters();
            if (target.serverName() != null && !io.netty.util.NetUtil.isValidIpV4Address(target.serverName())
                    && !io.netty.util.NetUtil.isValidIpV6Address(target.serverName())) {
                params.setServerNames(List.of(new SNIHostName(target.serverName())));
            }
            if (!target.insecure() && target.pinnedSha256().isEmpty()) {
                params.setEndpointIdentificationAlgorithm("HTTPS");
            }
            tls.setSSLParameters(params);
            tls.setSoTimeout((int) target.ioTimeout().toMillis());
            tls.startHandshake();
            return tls;
        } catch (IOException e) {
            raw.close();
            throw new TargetUnreachableException("TLS handshake with " + target.address() + " failed: "
                    + e.getMessage() + " (check --insecure, --ca or the link's sni/pcs)", e);
        }
    }

    /**
     * Whether the target completes a TLS handshake, whatever its certificate: tells a plaintext link to a TLS server
     * from a wrong user ID. Nothing is sent after the handshake.
     */
    static boolean answersTls(VlessTarget target) {
        try (Socket raw = new Socket()) {
            raw.connect(target.address(), (int) target.ioTimeout().toMillis());
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new PinningTrustManager(List.of())}, null);
            SSLSocket tls = (SSLSocket) ctx.getSocketFactory().createSocket(raw, target.address().getHostString(),
                    target.address().getPort(), false);
            tls.setSoTimeout((int) target.ioTimeout().toMillis());
            tls.startHandshake();
            return true;
        } catch (IOException | GeneralSecurityException e) {
            return false;
        }
    }

    private static SSLContext context(VlessTarget target) throws IOException {
        if (cachedFor == target && cachedContext != null) {
            return cachedContext;
        }
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            TrustManager[] trust;
            if (target.insecure()) {
                trust = new TrustManager[] {new PinningTrustManager(List.of())};
            } else if (!target.pinnedSha256().isEmpty()) {
                trust = new TrustManager[] {new PinningTrustManager(target.pinnedSha256())};
            } else {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                if (target.caFile() != null) {
                    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                    ks.load(null, null);
                    try (InputStream in = Files.newInputStream(target.caFile())) {
                        int i = 0;
                        for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                            ks.setCertificateEntry("ca" + i++, c);
                        }
                    }
                    tmf.init(ks);
                } else {
                    tmf.init((KeyStore) null);
                }
                trust = tmf.getTrustManagers();
            }
            ctx.init(null, trust, null);
            cachedContext = ctx;
            cachedFor = target;
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** Trusts a certificate by its SHA-256 fingerprint, or anything when no fingerprint is given (insecure). */
    private static final class PinningTrustManager implements X509TrustManager {
        private final List<String> pins;

        PinningTrustManager(List<String> pins) {
            this.pins = pins;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            if (pins.isEmpty()) {
                return;
            }
            try {
                String actual = HexFormat.of().withUpperCase().formatHex(MessageDigest.getInstance("SHA-256")
                        .digest(chain[0].getEncoded()));
                if (!pins.contains(actual)) {
                    throw new CertificateException("certificate fingerprint " + actual + " is not the pinned "
                            + String.join(" or ", pins));
                }
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new CertificateException(e);
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

}
