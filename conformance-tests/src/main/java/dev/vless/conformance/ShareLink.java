package dev.vless.conformance;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A {@code vless://UUID@host:port?security=tls&sni=...&type=tcp#name} share link, the format v2rayN and other clients
 * import.
 *
 * @param user   the UUID
 * @param host   the server host (without brackets)
 * @param port   the server port
 * @param params the query parameters, decoded
 * @param name   the fragment, decoded, or {@code null}
 */
public record ShareLink(UUID user, String host, int port, Map<String, String> params, String name) {

    /** Copies the parameters. */
    public ShareLink {
        requireNonNull(user, "user");
        requireNonNull(host, "host");
        params = Map.copyOf(params);
    }

    /**
     * Parses a share link.
     *
     * @throws IllegalArgumentException saying what is wrong with the link and what was expected
     */
    public static ShareLink parse(String link) {
        requireNonNull(link, "link");
        String hint = " (expected: vless://UUID@host:port?security=tls&sni=NAME#label)";
        URI uri;
        try {
            uri = new URI(link.trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + link + "' is not a valid link: " + e.getReason() + hint);
        }
        if (!"vless".equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("'" + link + "' does not start with vless://" + hint);
        }
        String userInfo = uri.getRawUserInfo();
        if (userInfo == null || userInfo.isEmpty()) {
            throw new IllegalArgumentException("'" + link + "' has no UUID before '@'" + hint);
        }
        UUID user;
        try {
            user = UUID.fromString(URLDecoder.decode(userInfo, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + userInfo + "' in the link is not a UUID" + hint);
        }
        String host = uri.getHost();
        if (host == null) {
            throw new IllegalArgumentException("'" + link + "' has no host" + hint);
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = uri.getPort();
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("'" + link + "' has no port (1-65535)" + hint);
        }
        Map<String, String> params = new LinkedHashMap<>();
        String query = uri.getRawQuery();
        if (query != null && !query.isEmpty()) {
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                params.put(k, v);
            }
        }
        String type = params.getOrDefault("type", "tcp");
        if (!type.equals("tcp") && !type.equals("raw")) {
            throw new IllegalArgumentException("transport type '" + type + "' is not supported (expected: type=tcp)");
        }
        String security = params.getOrDefault("security", "none");
        if (!security.equals("tls") && !security.equals("none")) {
            throw new IllegalArgumentException(
                    "security '" + security + "' is not supported (expected: security=tls or security=none)");
        }
        String fragment = uri.getFragment();
        return new ShareLink(user, host, port, params, fragment);
    }

    /** Whether the link asks for TLS. */
    public boolean tls() {
        return "tls".equals(params.get("security"));
    }

    /** The TLS server name: {@code sni}, else the host. */
    public String serverName() {
        String sni = params.get("sni");
        return sni == null || sni.isEmpty() ? host : sni;
    }

    /** A pinned certificate SHA-256 fingerprint ({@code pcs}), hex without separators, or {@code null}. */
    public String pinnedSha256() {
        String pcs = params.get("pcs");
        return pcs == null || pcs.isEmpty() ? null : pcs.replace(":", "").toLowerCase(java.util.Locale.ROOT);
    }
}
