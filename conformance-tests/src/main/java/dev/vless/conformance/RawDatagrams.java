// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Sends UDP datagrams from a source address and port of the caller's choosing (port 0, a multicast or broadcast
 * source, another loopback host), as any remote host on the internet can. The JDK cannot bind port 0 or a foreign
 * address, so this writes whole IPv4 packets to a Linux raw socket through JNA; that needs root or
 * {@code CAP_NET_RAW}. Destinations are limited to 127.0.0.0/8: forged packets never leave this machine.
 *
 * <p>An IPv4 datagram sent to a dual-stack IPv6 socket arrives from an IPv4-mapped IPv6 source, so this also
 * reaches servers' IPv6 sockets bound to {@code ::}.
 */
public final class RawDatagrams implements AutoCloseable {

    /** The largest payload of one IPv4 datagram: 65535 less the 20-byte IP and 8-byte UDP headers. */
    public static final int MAX_PAYLOAD = 65507;

    private static final int AF_INET = 2;
    private static final int SOCK_RAW = 3;
    /** {@code IPPROTO_RAW} implies {@code IP_HDRINCL}: the packet written is the whole IP packet. */
    private static final int IPPROTO_RAW = 255;
    private static final int IP_HEADER = 20;
    private static final int UDP_HEADER = 8;

    /** The C library, as much of it as a raw send needs. */
    private interface LibC extends Library {
        int socket(int domain, int type, int protocol) throws LastErrorException;

        NativeLong sendto(int fd, byte[] buffer, NativeLong length, int flags, byte[] address, int addressLength)
                throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private static volatile String unavailable;
    private static volatile boolean probed;

    private final LibC libc;
    private final int fd;
    private boolean closed;

    private RawDatagrams(LibC libc, int fd) {
        this.libc = libc;
        this.fd = fd;
    }

    /**
     * Opens a raw socket.
     *
     * @throws IOException naming why this machine or user cannot send forged datagrams
     */
    public static RawDatagrams open() throws IOException {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("linux")) {
            throw new IOException("forged UDP sources need a Linux raw socket; this is " + System.getProperty("os.name"));
        }
        LibC libc;
        try {
            libc = Native.load("c", LibC.class);
        } catch (LinkageError e) {
            throw new IOException("cannot load the C library through JNA: " + e.getMessage(), e);
        }
        try {
            return new RawDatagrams(libc, libc.socket(AF_INET, SOCK_RAW, IPPROTO_RAW));
        } catch (LastErrorException e) {
            String why = e.getErrorCode() == 1 /* EPERM */ ? "raw sockets need root or CAP_NET_RAW"
                    : "cannot open a raw socket";
            throw new IOException(why + " (" + e.getMessage() + ")", e);
        }
    }

    /**
     * {@code null} when forged datagrams can be sent here, else why not (checked once, by opening a raw socket).
     */
    public static String unavailableReason() {
        if (!probed) {
            synchronized (RawDatagrams.class) {
                if (!probed) {
                    try (RawDatagrams ignored = open()) {
                        unavailable = null;
                    } catch (IOException e) {
                        unavailable = e.getMessage();
                    }
                    probed = true;
                }
            }
        }
        return unavailable;
    }

    /**
     * Sends one datagram of {@code payload} from {@code source} to {@code destination}.
     *
     * @param source any IPv4 address and any port 0-65535, as it will appear to the receiver (0.0.0.0 is replaced by
     *               the kernel with a local address)
     * @param destination an address in 127.0.0.0/8 (or its IPv4-mapped form) and a port 1-65535
     */
    public void send(InetSocketAddress source, InetSocketAddress destination, byte[] payload) throws IOException {
        if (!(source.getAddress() instanceof Inet4Address src)) {
            throw new IllegalArgumentException("source: " + source + " (expected: an IPv4 address)");
        }
        if (!(dev.vless.codec.VlessAddress.canonical(destination.getAddress()) instanceof Inet4Address dst)
                || !dst.isLoopbackAddress()) {
            throw new IllegalArgumentException("destination: " + destination
                    + " (expected: 127.0.0.0/8; forged datagrams never leave this machine)");
        }
        if (destination.getPort() < 1 || destination.getPort() > 65535) {
            throw new IllegalArgumentException("destination: " + destination + " (expected: a port in 1-65535)");
        }
        if (payload.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload: " + payload.length + " bytes (expected: 0-" + MAX_PAYLOAD + ")");
        }
        int total = IP_HEADER + UDP_HEADER + payload.length;
        ByteBuffer packet = ByteBuffer.allocate(total).order(ByteOrder.BIG_ENDIAN);
        // IPv4 header. With IP_HDRINCL the kernel fills in the checksum and, when 0, the identification.
        packet.put((byte) 0x45).put((byte) 0).putShort((short) total)
                .putShort((short) 0).putShort((short) 0)
                .put((byte) 64).put((byte) 17).putShort((short) 0)
                .put(src.getAddress()).put(dst.getAddress());
        // UDP header; checksum 0 means "none" in IPv4, which every stack accepts.
        packet.putShort((short) source.getPort()).putShort((short) destination.getPort())
                .putShort((short) (UDP_HEADER + payload.length)).putShort((short) 0)
                .put(payload);
        // struct sockaddr_in: family in host order, port and address in network order, 8 bytes of zero.
        ByteBuffer to = ByteBuffer.allocate(16);
        to.order(ByteOrder.nativeOrder()).putShort((short) AF_INET);
        to.order(ByteOrder.BIG_ENDIAN).putShort((short) destination.getPort()).put(dst.getAddress());
        synchronized (this) {
            if (closed) {
                throw new IOException("raw socket closed");
            }
            try {
                long sent = libc.sendto(fd, packet.array(), new NativeLong(total), 0, to.array(), 16).longValue();
                if (sent != total) {
                    throw new IOException("raw socket sent " + sent + " of " + total + " bytes");
                }
            } catch (LastErrorException e) {
                throw new IOException("raw send from " + source + " to " + destination + " failed: " + e.getMessage(),
                        e);
            }
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try {
                libc.close(fd);
            } catch (LastErrorException ignored) {
                // nothing to do about a failed close of a socket never bound
            }
        }
    }
}
