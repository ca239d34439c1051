// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static java.util.Objects.requireNonNull;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * An IP address range in CIDR notation, such as {@code 127.0.0.0/8} or {@code ::1/128}.
 *
 * @param network the network address, with the host bits zero
 * @param prefix  the prefix length
 */
public record Cidr(InetAddress network, int prefix) {

    /** Checks the prefix against the address family and clears host bits. */
    public Cidr {
        requireNonNull(network, "network");
        int bits = network.getAddress().length * 8;
        if (prefix < 0 || prefix > bits) {
            throw new IllegalArgumentException("prefix: /" + prefix + " (expected: 0-" + bits + ")");
        }
        network = mask(network, prefix);
    }

    /**
     * Parses {@code a.b.c.d/n}, {@code x::y/n}, or a single address (a /32 or /128).
     *
     * @throws IllegalArgumentException with a message that says what is wrong
     */
    public static Cidr parse(String text) {
        requireNonNull(text, "text");
        String s = text.trim();
        int slash = s.indexOf('/');
        String ip = slash < 0 ? s : s.substring(0, slash);
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(ip);
        if (bytes == null) {
            throw new IllegalArgumentException(
                    "'" + text + "' is not an IP range (expected: CIDR such as 127.0.0.0/8 or ::1/128)");
        }
        int prefix = bytes.length * 8;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "'" + text + "' has no valid prefix length (expected: CIDR such as 10.0.0.0/8)");
            }
        }
        try {
            return new Cidr(InetAddress.getByAddress(bytes), prefix);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** Whether {@code address} lies in this range; addresses of the other family never do. */
    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        if (a.length != network.getAddress().length) {
            return false;
        }
        return Arrays.equals(mask(a, prefix), network.getAddress());
    }

    @Override
    public String toString() {
        return NetUtil.toAddressString(network) + "/" + prefix;
    }

    private static InetAddress mask(InetAddress address, int prefix) {
        try {
            return InetAddress.getByAddress(mask(address.getAddress(), prefix));
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] mask(byte[] a, int prefix) {
        byte[] out = a.clone();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            out[i] &= (byte) (0xff << (8 - keep));
        }
        return out;
    }
}
