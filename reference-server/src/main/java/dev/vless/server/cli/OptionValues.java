// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.cli;

import dev.vless.cli.Durations;
import dev.vless.cli.UsageException;
import dev.vless.server.Cidr;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Turns the text of command line values into what the server builder takes. Every failure is a
 * {@link UsageException} whose message names the option, quotes the value and says what would be accepted.
 */
final class OptionValues {

    /** How to make a UUID; part of every message about a missing or bad one. */
    static final String UUID_HINT = "generate one with: cat /proc/sys/kernel/random/uuid";

    // Only the canonical 8-4-4-4-12 form: UUID.fromString also takes "1-2-3-4-5", which is surely a typo.
    private static final Pattern UUID_TEXT = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private OptionValues() {
    }

    /** A host and port as written, the host without brackets. */
    record HostPort(String host, int port) {
        /** Whether the host is the IPv4 or IPv6 wildcard. */
        boolean isWildcard() {
            byte[] ip = NetUtil.createByteArrayFromIpAddressString(host);
            if (ip == null) {
                return false;
            }
            for (byte b : ip) {
                if (b != 0) {
                    return false;
                }
            }
            return true;
        }
    }

    /** A UUID in its canonical 36-character form. */
    static UUID uuid(String option, String text) throws UsageException {
        String s = text.trim();
        if (!UUID_TEXT.matcher(s).matches()) {
            throw new UsageException(option + " '" + text + "' is not a UUID (expected 36 characters such as "
                    + "b831381d-6324-4d53-ad4f-8cda48b30811; " + UUID_HINT + ")");
        }
        return UUID.fromString(s);
    }

    /**
     * The users in a file: one UUID per line; blank lines and everything after a {@code #} are ignored.
     */
    static List<UUID> usersFile(Path file) throws UsageException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UsageException("--users-file " + file + ": no such file (expected: a text file with one UUID "
                    + "per line)");
        } catch (IOException | RuntimeException e) {
            throw new UsageException("--users-file " + file + ": cannot read it (" + reason(e) + "); give a "
                    + "readable text file with one UUID per line");
        }
        List<UUID> users = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int hash = line.indexOf('#');
            String value = (hash >= 0 ? line.substring(0, hash) : line).strip();
            if (value.startsWith("\uFEFF")) {
                value = value.substring(1).strip(); // a byte-order mark some editors write
            }
            if (value.isEmpty()) {
                continue;
            }
            if (!UUID_TEXT.matcher(value).matches()) {
                throw new UsageException("--users-file " + file + " line " + (i + 1) + ": '" + value
                        + "' is not a UUID (expected one UUID per line, # for comments; " + UUID_HINT + ")");
            }
            users.add(UUID.fromString(value));
        }
        return users;
    }

    /** A duration in the syntax every tool shares ({@link Durations}), such as {@code 300s} or {@code 1h30m}. */
    static Duration duration(String option, String text) throws UsageException {
        return Durations.parse(option, text);
    }

    /** {@code HOST:PORT}, with an IPv6 host in brackets ({@code [::]:8443}). */
    static HostPort hostPort(String option, String text, int minPort) throws UsageException {
        String s = text.trim();
        String example = minPort == 0 ? "0.0.0.0:8443 or [::]:8443" : "127.0.0.1:8080 or example.com:443";
        String host;
        String port;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw new UsageException(option + " '" + text + "' is not HOST:PORT (expected: such as " + example
                        + ")");
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
            if (!NetUtil.isValidIpV6Address(host)) {
                throw new UsageException(option + " '" + text + "': '" + host + "' in brackets is not an IPv6 "
                        + "address (expected: such as [::]:8443 or [2001:db8::1]:443)");
            }
        } else {
            int colon = s.lastIndexOf(':');
            if (colon < 0) {
                throw new UsageException(option + " '" + text + "' has no port (expected: HOST:PORT such as "
                        + example + ")");
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
            if (host.indexOf(':') >= 0) {
                throw new UsageException(option + " '" + text + "': put an IPv6 address in brackets (expected: "
                        + "such as [::]:8443 or [::1]:8443)");
            }
            if (host.isEmpty()) {
                throw new UsageException(option + " '" + text + "' has no host (expected: HOST:PORT such as "
                        + example + ")");
            }
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            p = -1;
        }
        if (p < minPort || p > 65535) {
            throw new UsageException(option + " '" + text + "': '" + port + "' is not a port (expected: " + minPort
                    + "-65535" + (minPort == 0 ? ", 0 for any free port" : "") + ")");
        }
        return new HostPort(host, p);
    }

    /** Resolves {@code hp} now, so that an unknown host fails at start and not on first use. */
    static InetSocketAddress resolve(String option, HostPort hp) throws UsageException {
        try {
            return new InetSocketAddress(InetAddress.getByName(hp.host()), hp.port());
        } catch (UnknownHostException e) {
            throw new UsageException(option + ": cannot resolve host '" + hp.host() + "' (give an IP address or a "
                    + "name this machine can resolve)");
        }
    }

    /** An IP range in CIDR notation; a single address is a /32 or /128. */
    static Cidr cidr(String option, String text) throws UsageException {
        try {
            return Cidr.parse(text);
        } catch (IllegalArgumentException e) {
            String detail = e.getMessage();
            if (detail.startsWith("prefix: ")) {
                detail = "prefix " + detail.substring("prefix: ".length());
                throw new UsageException(option + " '" + text + "': " + detail);
            }
            throw new UsageException(option + " " + detail);
        }
    }

    /**
     * An address of this host in the family {@code family}, to bind outbound UDP sockets to; the wildcard gives
     * {@code null} (the server's default).
     */
    static InetAddress outboundAddress(String option, String text, Class<? extends InetAddress> family)
            throws UsageException {
        String s = text.trim();
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1);
        }
        boolean v4 = family == Inet4Address.class;
        String expected = v4 ? "an IPv4 address such as 192.0.2.10" : "an IPv6 address such as 2001:db8::10";
        boolean ok = v4 ? NetUtil.isValidIpV4Address(s) : NetUtil.isValidIpV6Address(s);
        if (!ok) {
            throw new UsageException(option + " '" + text + "' is not " + (v4 ? "an IPv4" : "an IPv6")
                    + " address (expected: " + expected + " of this host)");
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(s); // an IP literal: no lookup happens
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
        if (!family.isInstance(address)) {
            // An IPv4-mapped IPv6 literal comes back as IPv4.
            throw new UsageException(option + " '" + text + "' is not " + expected);
        }
        if (address.isAnyLocalAddress()) {
            return null;
        }
        boolean local;
        try {
            local = java.net.NetworkInterface.getByInetAddress(address) != null;
        } catch (java.net.SocketException e) {
            local = true; // cannot tell; binding will say
        }
        if (!local) {
            throw new UsageException(option + " " + s + " is not an address of this host (give one that `ip addr` "
                    + "lists, or leave the option out to send from the " + (v4 ? "IPv4" : "IPv6") + " wildcard)");
        }
        return address;
    }

    private static String reason(Exception e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
