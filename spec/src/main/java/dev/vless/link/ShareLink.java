// SPDX-License-Identifier: Apache-2.0
package dev.vless.link;

import static java.util.Objects.requireNonNull;

import io.netty.util.NetUtil;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * A VLESS share link, {@code vless://UUID@HOST:PORT?security=tls&sni=NAME&type=tcp&pcs=SHA256#name}, in the form
 * v2rayN and the reference server use: how the reference client, the conformance suite and the load generator are
 * told where a server is. {@link #parse} accepts only what these tools can honour (VLESS over TCP, with TLS or
 * without) and says precisely what is wrong with anything else; parameters that change nothing here (such as
 * {@code fp} or {@code alpn}) are ignored. Share links are a convention of clients, not part of the protocol.
 *
 * @param user          the user ID (the part before {@code @})
 * @param host          the server's host name or IP address, without brackets
 * @param port          the server's port
 * @param security      {@code security=}: TLS or none
 * @param sni           {@code sni=}: the TLS server name, or {@code null} to use {@code host}
 * @param pinnedSha256  {@code pcs=}: SHA-256 fingerprints of the server certificate the client accepts, as 64
 *                      upper-case hex digits each; empty when the link pins nothing
 * @param allowInsecure {@code allowInsecure=1}: accept any certificate
 * @param name          the fragment: a display name, or {@code null}
 */
public record ShareLink(UUID user, String host, int port, Security security, String sni, List<String> pinnedSha256,
        boolean allowInsecure, String name) {

    /** The example every error message shows. */
    public static final String EXAMPLE = "vless://UUID@HOST:PORT?security=tls&sni=NAME&type=tcp&pcs=SHA256#name";

    private static final Pattern UUID_TEXT = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-fA-F]{64}");

    /** The {@code security} values the client speaks. */
    public enum Security {
        /** {@code security=tls}: VLESS inside TLS, the normal case (TLS-1). */
        TLS,
        /** {@code security=none}: plaintext, for tests or a server behind a TLS terminator on the same host. */
        NONE
    }

    /** Checks the fields. */
    public ShareLink {
        requireNonNull(user, "user");
        requireNonNull(host, "host");
        requireNonNull(security, "security");
        pinnedSha256 = List.copyOf(requireNonNull(pinnedSha256, "pinnedSha256"));
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host: empty (expected: a host name or IP address)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1-65535)");
        }
    }

    /** The name the TLS handshake sends and verifies: {@code sni} if given, else {@code host}. */
    public String serverName() {
        return sni != null ? sni : host;
    }

    /** Whether the link asks for TLS ({@code security=tls}). */
    public boolean tls() {
        return security == Security.TLS;
    }

    /** The server's address, resolving {@code host}. */
    public InetSocketAddress address() {
        return new InetSocketAddress(host, port);
    }

    /** The link in the form {@link #parse} reads: user, address, security, server name, pins and name. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("vless://").append(user).append('@')
                .append(host.indexOf(':') >= 0 ? "[" + host + "]" : host).append(':').append(port)
                .append("?encryption=none&type=tcp&security=").append(tls() ? "tls" : "none");
        if (sni != null) {
            b.append("&sni=").append(encode(sni));
        }
        if (!pinnedSha256.isEmpty()) {
            b.append("&pcs=").append(String.join(",", pinnedSha256));
        }
        if (allowInsecure) {
            b.append("&allowInsecure=1");
        }
        if (name != null) {
            b.append('#').append(encode(name));
        }
        return b.toString();
    }

    /** Percent-encodes what is not unreserved (RFC 3986), so that {@link #parse} reads the text back unchanged. */
    private static String encode(String text) {
        StringBuilder b = new StringBuilder();
        for (byte x : text.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "-._~".indexOf(c) >= 0) {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return b.toString();
    }

    /**
     * Parses a share link.
     *
     * @throws IllegalArgumentException with a message that says what is wrong and what was expected
     */
    public static ShareLink parse(String link) {
        if (link == null || link.isBlank()) {
            throw bad("it is empty", "a link such as " + EXAMPLE);
        }
        String s = link.strip();
        int schemeEnd = s.indexOf("://");
        if (schemeEnd < 0) {
            throw bad("it does not start with vless://", "a link such as " + EXAMPLE
                    + (s.matches("[A-Za-z0-9+/=_-]{40,}") ? "; this looks like base64, perhaps a whole subscription "
                    + "rather than one link" : ""));
        }
        String scheme = s.substring(0, schemeEnd);
        if (!scheme.equalsIgnoreCase("vless")) {
            throw bad("its scheme is '" + scheme + "'",
                    "vless://; the reference client, suite and load generator speak VLESS only");
        }
        String rest = s.substring(schemeEnd + 3);

        String name = null;
        int hash = rest.indexOf('#');
        if (hash >= 0) {
            name = decode(rest.substring(hash + 1), "the name after #");
            rest = rest.substring(0, hash);
            if (name.isEmpty()) {
                name = null;
            }
        }
        String query = "";
        int question = rest.indexOf('?');
        if (question >= 0) {
            query = rest.substring(question + 1);
            rest = rest.substring(0, question);
        }
        if (rest.endsWith("/")) {
            rest = rest.substring(0, rest.length() - 1); // v2rayN writes vless://id@host:443/?type=...
        }
        if (rest.indexOf('/') >= 0) {
            throw bad("it has a path after the port ('" + rest.substring(rest.indexOf('/')) + "')",
                    "nothing between the port and '?'");
        }

        int at = rest.lastIndexOf('@');
        if (at < 0) {
            throw bad("it has no user ID (no '@')", "vless://UUID@HOST:PORT, such as "
                    + "vless://b831381d-6324-4d53-ad4f-8cda48b30811@example.com:443");
        }
        String userText = decode(rest.substring(0, at), "the user ID");
        if (!UUID_TEXT.matcher(userText).matches()) {
            throw bad("the user ID '" + userText + "' is not a UUID",
                    "36 characters such as b831381d-6324-4d53-ad4f-8cda48b30811");
        }
        UUID user = UUID.fromString(userText);
        String authority = rest.substring(at + 1);
        String host;
        String portText;
        if (authority.startsWith("[")) {
            int close = authority.indexOf(']');
            if (close < 0) {
                throw bad("the IPv6 address '" + authority + "' has no closing ']'", "[IPv6]:PORT such as [2001:db8::1]:443");
            }
            host = authority.substring(1, close);
            if (!NetUtil.isValidIpV6Address(host)) {
                throw bad("'" + host + "' in brackets is not an IPv6 address", "[IPv6]:PORT such as [2001:db8::1]:443");
            }
            String after = authority.substring(close + 1);
            if (!after.startsWith(":")) {
                throw bad("there is no port after [" + host + "]", "[IPv6]:PORT such as [2001:db8::1]:443");
            }
            portText = after.substring(1);
        } else {
            int colon = authority.lastIndexOf(':');
            if (colon < 0) {
                throw bad("there is no port after the host '" + authority + "'", "HOST:PORT such as example.com:443");
            }
            host = authority.substring(0, colon);
            portText = authority.substring(colon + 1);
            if (host.indexOf(':') >= 0) {
                throw bad("the IPv6 address '" + host + "' is not in brackets", "[IPv6]:PORT such as [2001:db8::1]:443");
            }
        }
        if (host.isEmpty()) {
            throw bad("the host is empty", "HOST:PORT such as example.com:443");
        }
        int port = port(portText);

        Map<String, String> params = params(query);
        Security security = security(params.get("security"));
        String type = params.getOrDefault("type", "tcp").toLowerCase(Locale.ROOT);
        if (!type.equals("tcp") && !type.equals("raw")) {
            throw bad("type=" + params.get("type") + " is a transport the reference tools do not speak",
                    "type=tcp (or no type); WebSocket, gRPC, HTTP/2 and the like are not supported");
        }
        String headerType = params.getOrDefault("headerType", "none");
        if (!headerType.equalsIgnoreCase("none")) {
            throw bad("headerType=" + headerType
                    + " disguises TCP as another protocol, which the reference tools do not do",
                    "headerType=none (or none given)");
        }
        String encryption = params.getOrDefault("encryption", "none");
        if (!encryption.equalsIgnoreCase("none")) {
            throw bad("encryption=" + encryption + " is not supported",
                    "encryption=none (or none given); VLESS relies on TLS");
        }
        String flow = params.getOrDefault("flow", "");
        if (!flow.isEmpty() && !flow.equalsIgnoreCase("none")) {
            throw bad("flow=" + flow + " (XTLS) is not supported", "no flow parameter");
        }
        String sni = params.get("sni");
        if (sni == null) {
            sni = params.get("peer"); // the older name some clients still write
        }
        if (sni != null) {
            if (sni.isEmpty()) {
                sni = null;
            } else if (!sni.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw bad("sni=" + sni + " is not a host name", "a host name such as example.com");
            }
        }
        List<String> pins = pins(params.get("pcs"));
        boolean allowInsecure = flag("allowInsecure", params.get("allowInsecure"));
        return new ShareLink(user, host, port, security, sni, pins, allowInsecure, name);
    }

    private static int port(String text) {
        int port;
        try {
            port = text.isEmpty() || text.length() > 5 ? -1 : Integer.parseInt(text);
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            throw bad("the port '" + text + "' is not a port number", "1-65535, such as 443");
        }
        return port;
    }

    private static Map<String, String> params(String query) {
        Map<String, String> params = new LinkedHashMap<>();
        if (query.isEmpty()) {
            return params;
        }
        for (String pair : query.split("&", -1)) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = decode(eq < 0 ? pair : pair.substring(0, eq), "a parameter name");
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1), "the value of " + key);
            params.put(key, value);
        }
        return params;
    }

    private static Security security(String value) {
        if (value == null || value.isEmpty() || value.equalsIgnoreCase("none")) {
            return Security.NONE;
        }
        if (value.equalsIgnoreCase("tls")) {
            return Security.TLS;
        }
        throw bad("security=" + value + " is not supported", "security=tls, or security=none for a plaintext test "
                + "server" + (value.equalsIgnoreCase("reality") || value.equalsIgnoreCase("xtls")
                ? "; REALITY and XTLS are not part of VLESS v1" : ""));
    }

    private static List<String> pins(String value) {
        List<String> pins = new ArrayList<>();
        if (value == null || value.isEmpty()) {
            return pins;
        }
        for (String part : value.split(",", -1)) {
            String hex = part.strip().replace(":", "");
            if (!SHA256_HEX.matcher(hex).matches()) {
                throw bad("pcs=" + value + " is not a SHA-256 certificate fingerprint",
                        "64 hex digits, colons allowed, several separated by commas, as the server prints it");
            }
            pins.add(hex.toUpperCase(Locale.ROOT));
        }
        return pins;
    }

    private static boolean flag(String key, String value) {
        if (value == null || value.isEmpty() || value.equals("0") || value.equalsIgnoreCase("false")) {
            return false;
        }
        if (value.equals("1") || value.equalsIgnoreCase("true")) {
            return true;
        }
        throw bad(key + "=" + value + " is not a flag", key + "=1 or " + key + "=0");
    }

    /** Percent-decodes UTF-8; '+' stays '+', as in the encodeURIComponent output of v2rayN. */
    private static String decode(String text, String what) {
        if (text.indexOf('%') < 0) {
            return text;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '%') {
                bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
                continue;
            }
            if (i + 2 >= text.length() || Character.digit(text.charAt(i + 1), 16) < 0
                    || Character.digit(text.charAt(i + 2), 16) < 0) {
                throw bad(what + " has a broken %-escape at '" + text.substring(i, Math.min(text.length(), i + 3))
                        + "'", "% followed by two hex digits, such as %20");
            }
            bytes.write(Character.digit(text.charAt(i + 1), 16) * 16 + Character.digit(text.charAt(i + 2), 16));
            i += 2;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw bad(what + " is not UTF-8 once %-decoded", "UTF-8 text, %-encoded");
        }
    }

    private static IllegalArgumentException bad(String what, String expected) {
        return new IllegalArgumentException("share link: " + what + " (expected: " + expected + ")");
    }
}
