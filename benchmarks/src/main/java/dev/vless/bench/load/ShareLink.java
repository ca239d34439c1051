package dev.vless.bench.load;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * A {@code vless://UUID@host:port?security=tls|none&sni=...&pcs=...#name} share link, as the reference server prints
 * and most clients import.
 *
 * @param user        the user ID
 * @param host        the server host (no brackets)
 * @param port        the server port
 * @param tls         whether the link asks for TLS ({@code security=tls})
 * @param sni         the TLS server name, or {@code null}
 * @param fingerprint the pinned certificate's SHA-256 as hex ({@code pcs}), or {@code null} to trust any certificate
 * @param name        the link's display name, or {@code null}
 */
public record ShareLink(UUID user, String host, int port, boolean tls, String sni, String fingerprint, String name) {

    /** Checks the fields. */
    public ShareLink {
        requireNonNull(user, "user");
        requireNonNull(host, "host");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1-65535)");
        }
    }

    /** Parses a share link; says what is wrong in terms of the link. */
    public static ShareLink parse(String link) {
        URI uri;
        try {
            uri = new URI(requireNonNull(link, "link").trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a share link: " + link + " (" + e.getMessage() + ")");
        }
        if (!"vless".equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("not a vless:// link: " + link);
        }
        if (uri.getUserInfo() == null || uri.getHost() == null || uri.getPort() < 0) {
            throw new IllegalArgumentException("share link needs UUID@host:port: " + link);
        }
        UUID user;
        try {
            user = UUID.fromString(uri.getUserInfo());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("share link user is not a UUID: " + uri.getUserInfo());
        }
        Map<String, String> q = query(uri.getRawQuery());
        String security = q.getOrDefault("security", "none").toLowerCase(Locale.ROOT);
        if (!security.equals("none") && !security.equals("tls")) {
            throw new IllegalArgumentException("security=" + security + " is not supported (expected: none or tls)");
        }
        String type = q.getOrDefault("type", "tcp");
        if (!type.equals("tcp")) {
            throw new IllegalArgumentException("type=" + type + " is not supported (expected: tcp)");
        }
        String host = uri.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        String fragment = uri.getFragment();
        return new ShareLink(user, host, uri.getPort(), security.equals("tls"), q.get("sni"), q.get("pcs"),
                fragment == null || fragment.isEmpty() ? null : fragment);
    }

    /** The server's socket address (resolved). */
    public InetSocketAddress address() {
        return new InetSocketAddress(host, port);
    }

    /** The link again, for reports. */
    @Override
    public String toString() {
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return "vless://" + user + "@" + h + ":" + port + "?security=" + (tls ? "tls" : "none")
                + (name != null ? "#" + name : "");
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            String v = eq < 0 ? "" : pair.substring(eq + 1);
            out.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
        }
        return out;
    }
}
