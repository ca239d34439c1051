// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import dev.vless.conformance.WireLog;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/**
 * The harness as an application of the client under test: SOCKS5 (RFC 1928, no authentication) CONNECT and UDP
 * ASSOCIATE, written out byte by byte so that nothing stands between the case and the wire.
 */
public final class SocksApplication {

    /** A SOCKS5 front refused or failed a request; the message has the reply. */
    public static final class SocksException extends IOException {
        SocksException(String message) {
            super(message);
        }
    }

    private final InetSocketAddress socks;
    private final WireLog log;

    SocksApplication(InetSocketAddress socks, WireLog log) {
        this.socks = socks;
        this.log = log;
    }

    /** A CONNECT to {@code host}:{@code port} (an IP literal or a name, sent as SOCKS5 address type 1, 4 or 3). */
    public Socket connect(String host, int port) throws IOException {
        Socket s = open();
        try {
            s.getOutputStream().write(request(1, host, port));
            int status = readReply(s.getInputStream()).status;
            if (status != 0) {
                throw new SocksException("the client's SOCKS5 front answered CONNECT " + host + ":" + port
                        + " with status " + status);
            }
            log.note("application: CONNECT " + host + ":" + port + " through the client's SOCKS5 front succeeded");
            s.setSoTimeout(0);
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** A UDP association; the application's UDP socket binds the address its control connection comes from. */
    public Udp associate() throws IOException {
        Socket control = open();
        DatagramSocket udp = null;
        try {
            udp = new DatagramSocket(new InetSocketAddress(control.getLocalAddress(), 0));
            udp.setReceiveBufferSize(1 << 20);
            udp.setSendBufferSize(1 << 20);
            control.getOutputStream().write(request(3, "0.0.0.0", 0));
            Reply r = readReply(control.getInputStream());
            if (r.status != 0) {
                throw new SocksException("the client's SOCKS5 front answered UDP ASSOCIATE with status " + r.status);
            }
            InetSocketAddress relay = r.bound;
            if (relay.getAddress().isAnyLocalAddress()) {
                relay = new InetSocketAddress(socks.getAddress(), relay.getPort()); // RFC 1928: "use the front's"
            }
            log.note("application: UDP ASSOCIATE; the front relays at " + relay + ", the application is at "
                    + udp.getLocalSocketAddress());
            control.setSoTimeout(0);
            return new Udp(control, udp, relay, log);
        } catch (IOException e) {
            control.close();
            if (udp != null) {
                udp.close();
            }
            throw e;
        }
    }

    private Socket open() throws IOException {
        Socket s = new Socket();
        try {
            s.connect(socks, 3000);
            s.setSoTimeout(5000);
            s.setTcpNoDelay(true);
            s.getOutputStream().write(new byte[] {5, 1, 0});
            byte[] a = s.getInputStream().readNBytes(2);
            if (a.length != 2 || a[0] != 5 || a[1] != 0) {
                throw new SocksException("the client's SOCKS5 front answered the greeting with " + WireLog.hex(a)
                        + " (expected 05 00: no authentication)");
            }
            return s;
        } catch (IOException e) {
            s.close();
            throw e instanceof SocksException ? e : new SocksException("cannot use the client's SOCKS5 front at "
                    + socks + ": " + e.getMessage());
        }
    }

    /** The address part of a SOCKS5 request or datagram header: type, address, port. */
    static byte[] address(String host, int port) {
        byte[] ip = literal(host);
        ByteBuffer b;
        if (ip != null) {
            b = ByteBuffer.allocate(1 + ip.length + 2).put((byte) (ip.length == 4 ? 1 : 4)).put(ip);
        } else {
            byte[] name = host.getBytes(StandardCharsets.US_ASCII);
            b = ByteBuffer.allocate(2 + name.length + 2).put((byte) 3).put((byte) name.length).put(name);
        }
        return b.putShort((short) port).array();
    }

    private static byte[] literal(String host) {
        if (io.netty.util.NetUtil.isValidIpV4Address(host) || io.netty.util.NetUtil.isValidIpV6Address(host)) {
            return io.netty.util.NetUtil.createByteArrayFromIpAddressString(host);
        }
        return null;
    }

    private static byte[] request(int command, String host, int port) {
        byte[] a = address(host, port);
        return ByteBuffer.allocate(3 + a.length).put((byte) 5).put((byte) command).put((byte) 0).put(a).array();
    }

    private record Reply(int status, InetSocketAddress bound) {
    }

    private static Reply readReply(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        try {
            byte[] head = d.readNBytes(4);
            if (head.length < 4 || head[0] != 5) {
                throw new SocksException("the client's SOCKS5 front sent a malformed reply: " + WireLog.hex(head));
            }
            InetAddress ip;
            switch (head[3]) {
                case 1 -> ip = InetAddress.getByAddress(d.readNBytes(4));
                case 4 -> ip = InetAddress.getByAddress(d.readNBytes(16));
                case 3 -> ip = InetAddress.getByName(new String(d.readNBytes(d.readUnsignedByte()),
                        StandardCharsets.US_ASCII));
                default -> throw new SocksException("the client's SOCKS5 front replied with address type " + head[3]);
            }
            return new Reply(head[1] & 0xff, new InetSocketAddress(ip, d.readUnsignedShort()));
        } catch (SocketTimeoutException e) {
            throw new SocksException("the client's SOCKS5 front did not reply within 5 s");
        }
    }

    /** One UDP association: its control connection and the application's UDP socket. */
    public static final class Udp implements AutoCloseable {
        /** A datagram the application got: the source the front labelled it with, and the payload. */
        public record Received(InetSocketAddress source, String sourceName, byte[] payload) {
        }

        private final Socket control;
        private final DatagramSocket socket;
        private final InetSocketAddress relay;
        private final WireLog log;

        Udp(Socket control, DatagramSocket socket, InetSocketAddress relay, WireLog log) {
            this.control = control;
            this.socket = socket;
            this.relay = relay;
            this.log = log;
        }

        /** The application's own UDP address. */
        public InetSocketAddress local() {
            return (InetSocketAddress) socket.getLocalSocketAddress();
        }

        /** Sends {@code payload} to {@code to} through the association. */
        public void send(InetSocketAddress to, byte[] payload) throws IOException {
            send(to.getAddress().getHostAddress(), to.getPort(), payload);
        }

        /** Sends {@code payload} to {@code host}:{@code port} (an IP literal or a name). */
        public void send(String host, int port, byte[] payload) throws IOException {
            byte[] a = address(host, port);
            byte[] d = ByteBuffer.allocate(3 + a.length + payload.length).put(new byte[3]).put(a).put(payload).array();
            log.note("application sends " + payload.length + " B to " + host + ":" + port + ": "
                    + WireLog.hex(payload));
            socket.send(new DatagramPacket(d, d.length, relay));
        }

        /** The next datagram from the front within {@code timeout}, or {@code null}. */
        public Received receive(Duration timeout) throws IOException {
            byte[] buf = new byte[65536 + 512];
            long until = System.nanoTime() + timeout.toNanos();
            while (true) {
                long left = (until - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    return null;
                }
                socket.setSoTimeout((int) Math.max(1, left));
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    socket.receive(p);
                } catch (SocketTimeoutException e) {
                    return null;
                }
                Received r = parse(Arrays.copyOf(p.getData(), p.getLength()));
                if (r == null) {
                    log.note("application got a datagram it cannot parse as SOCKS5: "
                            + WireLog.hex(p.getData(), 0, p.getLength()));
                    continue;
                }
                log.note("application got " + r.payload.length + " B labelled " + r.sourceName + ":"
                        + r.source.getPort() + ": " + WireLog.hex(r.payload));
                return r;
            }
        }

        private static Received parse(byte[] d) {
            try {
                ByteBuffer b = ByteBuffer.wrap(d);
                b.getShort();
                if (b.get() != 0) {
                    return null; // a fragment: no client of ours sends them
                }
                int type = b.get();
                InetAddress ip;
                String name;
                switch (type) {
                    case 1 -> {
                        byte[] a = new byte[4];
                        b.get(a);
                        ip = InetAddress.getByAddress(a);
                        name = ip.getHostAddress();
                    }
                    case 4 -> {
                        byte[] a = new byte[16];
                        b.get(a);
                        ip = InetAddress.getByAddress(a);
                        name = ip.getHostAddress();
                    }
                    case 3 -> {
                        byte[] a = new byte[b.get() & 0xff];
                        b.get(a);
                        name = new String(a, StandardCharsets.US_ASCII);
                        ip = InetAddress.getByAddress(name, new byte[4]);
                    }
                    default -> {
                        return null;
                    }
                }
                int port = b.getShort() & 0xffff;
                byte[] payload = new byte[b.remaining()];
                b.get(payload);
                return new Received(new InetSocketAddress(ip, port), name, payload);
            } catch (java.nio.BufferUnderflowException | IOException e) {
                return null;
            }
        }

        /** Ends the association (its control connection) and closes the socket. */
        @Override
        public void close() {
            try {
                control.close();
            } catch (IOException e) {
                // closing anyway
            }
            socket.close();
        }
    }
}
