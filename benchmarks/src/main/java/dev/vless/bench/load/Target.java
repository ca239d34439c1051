// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import dev.vless.codec.VlessVersion;
import dev.vless.link.ShareLink;

/**
 * What a workload talks to: the peers themselves (the direct path), or a VLESS server given by its share link and
 * the protocol version to speak, with the server's process ID when its CPU time can be read.
 *
 * @param name    the name in reports
 * @param link    the server's link; {@code null} for the direct path
 * @param version the VLESS version the client speaks; {@code null} for the direct path
 * @param pid     the server process, or -1 when it is not on this host or unknown
 * @param directTls for the direct path: whether it talks TLS to the peer (as a TLS proxy connection would)
 * @param mux     whether UDP goes over UDP-MUX connections (command 5) rather than one command-2 connection per remote
 */
record Target(String name, ShareLink link, VlessVersion version, long pid, boolean directTls, boolean mux) {

    static Target direct(boolean tls) {
        return new Target(tls ? "direct (TLS)" : "direct", null, null, -1, tls, false);
    }

    static Target vless(String name, ShareLink link, VlessVersion version, long pid) {
        return new Target(name, link, version, pid, false, false);
    }

    /** The same server with UDP over UDP-MUX (v1 only), named {@code name}. */
    Target withMux(String name) {
        if (version != VlessVersion.V1) {
            throw new IllegalArgumentException("UDP-MUX is a v1 command (expected: a v1 target, not " + version + ")");
        }
        return new Target(name, link, version, pid, false, true);
    }

    boolean isDirect() {
        return link == null;
    }

    boolean tls() {
        return link != null ? link.tls() : directTls;
    }
}
