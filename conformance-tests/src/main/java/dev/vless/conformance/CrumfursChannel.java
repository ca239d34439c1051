// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;

/** A CRUMFURS connection: the 18-byte request, the {@code 0x14} acknowledgement, then UMFURS messages. */
public final class CrumfursChannel extends VlessConnection {

    /** A UMFURS as received: the source it names and its payload. */
    public record Umfurs(int addressType, InetSocketAddress source, byte[] payload) {
    }

    CrumfursChannel(VlessTarget target, WireLog log, String label) throws IOException {
        this(target, log, label, null);
    }

    /** Whose channel this is, and from which client IP: another CRUMFURS of both replaces it (CRF-3). */
    java.util.UUID user;
    InetAddress clientAddress;

    CrumfursChannel(VlessTarget target, WireLog log, String label, InetAddress localAddress) throws IOException {
        super(target, log, label, localAddress);
        this.clientAddress = localAddress;
    }

    /**
     * The next UMFURS, or {@code null} when none begins within {@code timeout}.
     *
     * @throws java.net.ProtocolException when the address type is not 1 or 3 (UMF-2)
     */
    public Umfurs receive(Duration timeout) throws IOException {
        byte[] type;
        try {
            type = readExactly(1, timeout);
        } catch (SocketTimeoutException e) {
            return null;
        }
        int atyp = type[0] & 0xff;
        int ipLength;
        if (atyp == 1) {
            ipLength = 4;
        } else if (atyp == 3) {
            ipLength = 16;
        } else {
            throw new java.net.ProtocolException(
                    "UMFURS address type " + atyp + " (expected: 1 or 3, UMF-2)");
        }
        byte[] rest = readExactly(ipLength + 4);
        byte[] ip = java.util.Arrays.copyOf(rest, ipLength);
        int port = ((rest[ipLength] & 0xff) << 8) | (rest[ipLength + 1] & 0xff);
        int len = ((rest[ipLength + 2] & 0xff) << 8) | (rest[ipLength + 3] & 0xff);
        byte[] payload = readExactly(len);
        return new Umfurs(atyp, new InetSocketAddress(InetAddress.getByAddress(ip), port), payload);
    }

    /** The next UMFURS within the target's I/O timeout, or {@code null}. */
    public Umfurs receive() throws IOException {
        return receive(target.ioTimeout());
    }
}
