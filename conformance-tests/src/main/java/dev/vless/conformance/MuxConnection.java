// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A UDP-MUX connection (command 5, §23): the 18-byte request, the answer {@code 0x15}, then frames both ways in the
 * UMFURS layout {@code atyp addr port(2) len(2) payload}. The harness writes its frames byte by byte itself, so that a
 * case can send exactly the malformed frame it means to.
 */
public final class MuxConnection extends VlessConnection {

    /** A server frame as received: the address type and source it names, and its payload. */
    public record Frame(int addressType, InetSocketAddress source, byte[] payload) {
        /** The payload as ASCII text, for cases that send text. */
        public String text() {
            return new String(payload, StandardCharsets.US_ASCII);
        }
    }

    MuxConnection(VlessTarget target, WireLog log, String label, InetAddress localAddress) throws IOException {
        super(target, log, label, localAddress);
    }

    /** A client frame to the IP destination {@code to}: address type 1 for IPv4 (and IPv4-mapped), else 3. */
    public static byte[] frame(InetSocketAddress to, byte[] payload) {
        InetAddress ip = dev.vless.codec.VlessAddress.canonical(to.getAddress());
        ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length + 23);
        out.write(ip instanceof Inet4Address ? 1 : 3);
        out.writeBytes(ip.getAddress());
        return tail(out, to.getPort(), payload);
    }

    /** A client frame to the name {@code host} (address type 2), bytes as given. */
    public static byte[] frameToName(String host, int port, byte[] payload) {
        byte[] name = host.getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length + name.length + 6);
        out.write(2);
        out.write(name.length);
        out.writeBytes(name);
        return tail(out, port, payload);
    }

    private static byte[] tail(ByteArrayOutputStream out, int port, byte[] payload) {
        out.write(port >>> 8);
        out.write(port);
        out.write(payload.length >>> 8);
        out.write(payload.length);
        out.writeBytes(payload);
        return out.toByteArray();
    }

    /** Sends one datagram to {@code to} as one frame. */
    public void send(InetSocketAddress to, byte[] payload) throws IOException {
        write(frame(to, payload));
    }

    /**
     * The next server frame, or {@code null} when none begins within {@code timeout}. Once a frame has begun, the rest
     * gets the I/O timeout.
     *
     * @throws AssertionError naming MUX-8 when the address type is not 1 or 3, MUX-11 when the source port is 0
     * @throws java.io.EOFException when the target closes
     */
    public Frame receive(Duration timeout) throws IOException {
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
            // Not a frame: the stream cannot be read on, and the case that met it is judged by MUX-8, which it names.
            throw Expect.violation("MUX-8: a server's frame names the datagram's true source as an IP address"
                    + " (address type 1 or 3), and a server sends nothing but frames (MUX-3)", "address type 1 or 3",
                    String.format("address type 0x%02x", atyp));
        }
        byte[] rest = readExactly(ipLength + 4);
        byte[] ip = java.util.Arrays.copyOf(rest, ipLength);
        int port = ((rest[ipLength] & 0xff) << 8) | (rest[ipLength + 1] & 0xff);
        int len = ((rest[ipLength + 2] & 0xff) << 8) | (rest[ipLength + 3] & 0xff);
        byte[] payload = readExactly(len);
        if (port == 0) {
            throw Expect.violation("MUX-11: a server frame with source port 0 is a frame error (no datagram with"
                    + " source port 0 is delivered, MUX-19)", "a source port other than 0", "a frame from "
                    + InetAddress.getByAddress(ip).getHostAddress() + " port 0 carrying " + WireLog.hex(payload));
        }
        return new Frame(atyp, new InetSocketAddress(InetAddress.getByAddress(ip), port), payload);
    }

    /** The next server frame within the target's I/O timeout, or {@code null}. */
    public Frame receive() throws IOException {
        return receive(target.ioTimeout());
    }
}
