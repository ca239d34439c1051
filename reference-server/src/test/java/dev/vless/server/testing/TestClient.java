// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.testing;

import static org.assertj.core.api.Assertions.fail;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.UUID;

/**
 * A blocking VLESS client over a plain (or already TLS-wrapped) socket: it writes headers, payload and UDP frames
 * exactly as told and reads the server's answers with its own small parser, so that the tests do not trust the
 * codec they exercise. Every read has a timeout; a read that times out fails the test.
 */
public final class TestClient implements AutoCloseable {

    /** How long a read waits before the test fails. */
    public static final Duration READ_TIMEOUT = Duration.ofSeconds(5);

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final long connectedAt = System.nanoTime();

    private TestClient(Socket socket) throws IOException {
        this.socket = socket;
        socket.setTcpNoDelay(true);
        socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
        // Buffered, so that hasDataWithin can look at the next byte and put it back.
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        this.out = socket.getOutputStream();
    }

    /** Connects to {@code server}. */
    public static TestClient connect(InetSocketAddress server) throws IOException {
        return connect(server, null);
    }

    /** Connects to {@code server} from {@code localIp} (any port), or from the default address when null. */
    public static TestClient connect(InetSocketAddress server, InetAddress localIp) throws IOException {
        Socket s = new Socket();
        try {
            if (localIp != null) {
                s.bind(new InetSocketAddress(localIp, 0));
            }
            s.connect(server, 5000);
            return new TestClient(s);
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** A client over a socket that is already connected, such as an {@code SSLSocket}. */
    public static TestClient over(Socket connected) throws IOException {
        return new TestClient(connected);
    }

    // ---- requests ------------------------------------------------------------------------------------------------

    /** A v1 request of {@code user} for {@code command} to {@code target}. */
    public static VlessRequest v1(UUID user, VlessCommand command, InetSocketAddress target) {
        return VlessRequest.v1(user, command, VlessAddress.of(target));
    }

    /** A v0 request of {@code user} for {@code command} to {@code target}. */
    public static VlessRequest v0(UUID user, VlessCommand command, InetSocketAddress target) {
        return VlessRequest.v0(user, command, VlessAddress.of(target));
    }

    /** The wire bytes of {@code request}. */
    public static byte[] header(VlessRequest request) {
        ByteBuf b = Unpooled.buffer(request.encodedLength());
        try {
            VlessClientEncoder.encode(request, b);
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            return bytes;
        } finally {
            b.release();
        }
    }

    /** One UDP frame: length (2, big-endian) and payload (UDP-1). */
    public static byte[] frame(byte[] payload) {
        if (payload.length > 0xffff) {
            throw new IllegalArgumentException("payload: " + payload.length + " bytes (expected: 0-65535)");
        }
        byte[] f = new byte[2 + payload.length];
        f[0] = (byte) (payload.length >>> 8);
        f[1] = (byte) payload.length;
        System.arraycopy(payload, 0, f, 2, payload.length);
        return f;
    }

    /**
     * One UDP-MUX frame from a client (MUX-7): address type, address, port, length, payload; an IPv4-mapped IPv6
     * address is written as it is (type 3), so that tests can check the server's canonicalisation.
     */
    public static byte[] muxFrame(InetSocketAddress destination, byte[] payload) {
        byte[] ip = destination.getAddress().getAddress();
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(ip.length == 4 ? 1 : 3);
        b.writeBytes(ip);
        return muxTail(b, destination.getPort(), payload);
    }

    /** One UDP-MUX frame from a client to a domain name (address type 2). */
    public static byte[] muxFrame(String domain, int port, byte[] payload) {
        byte[] name = domain.getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(2);
        b.write(name.length);
        b.writeBytes(name);
        return muxTail(b, port, payload);
    }

    private static byte[] muxTail(ByteArrayOutputStream b, int port, byte[] payload) {
        if (payload.length > 0xffff) {
            throw new IllegalArgumentException("payload: " + payload.length + " bytes (expected: 0-65535)");
        }
        b.write(port >>> 8);
        b.write(port);
        b.write(payload.length >>> 8);
        b.write(payload.length);
        b.writeBytes(payload);
        return b.toByteArray();
    }

    /** The parts one after the other. */
    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    /** US-ASCII bytes of {@code text}. */
    public static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    // ---- writing -------------------------------------------------------------------------------------------------

    /** Writes the parts in one write call, so that they usually travel in one TCP segment. */
    public TestClient send(byte[]... parts) throws IOException {
        out.write(concat(parts));
        out.flush();
        return this;
    }

    /** Writes the header of {@code request} followed by {@code payload}, in one write. */
    public TestClient sendHeader(VlessRequest request, byte[]... payload) throws IOException {
        byte[][] parts = new byte[payload.length + 1][];
        parts[0] = header(request);
        System.arraycopy(payload, 0, parts, 1, payload.length);
        return send(parts);
    }

    /** Writes each payload as one UDP frame, all in one write. */
    public TestClient sendFrames(byte[]... payloads) throws IOException {
        byte[][] frames = new byte[payloads.length][];
        for (int i = 0; i < payloads.length; i++) {
            frames[i] = frame(payloads[i]);
        }
        return send(frames);
    }

    /** Ends the client's direction of the stream (a TCP FIN), keeping the other open. */
    public TestClient shutdownOutput() throws IOException {
        socket.shutdownOutput();
        return this;
    }

    // ---- reading -------------------------------------------------------------------------------------------------

    /** Reads exactly {@code n} bytes; fails on timeout or end of stream. */
    public byte[] readExactly(int n) throws IOException {
        byte[] b = new byte[n];
        try {
            in.readFully(b);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no " + n + " bytes within " + READ_TIMEOUT.toMillis() + " ms", e);
        } catch (EOFException e) {
            throw new AssertionError("stream ended before " + n + " bytes arrived", e);
        }
        return b;
    }

    /** Reads exactly {@code n} bytes and returns them as US-ASCII text. */
    public String readAscii(int n) throws IOException {
        return new String(readExactly(n), StandardCharsets.US_ASCII);
    }

    /** Reads one UDP frame and returns its payload. */
    public byte[] readFrame() throws IOException {
        byte[] length = readExactly(2);
        return readExactly(((length[0] & 0xff) << 8) | (length[1] & 0xff));
    }

    /** Reads the CRUMFURS acknowledgement, which must be the single byte 0x14 (CRF-1). */
    public TestClient expectCrumfursAck() throws IOException {
        byte[] b = readExactly(1);
        if (b[0] != 0x14) {
            fail("CRUMFURS acknowledgement 0x%02x (expected: 0x14)", b[0] & 0xff);
        }
        return this;
    }

    /** Reads the UDP-MUX answer, which must be the single byte 0x15 (MUX-3). */
    public TestClient expectMuxAck() throws IOException {
        byte[] b = readExactly(1);
        if (b[0] != 0x15) {
            fail("UDP-MUX answer 0x%02x (expected: 0x15)", b[0] & 0xff);
        }
        return this;
    }

    /** Reads one server frame of a MUX connection: byte for byte a UMFURS (MUX-7), so parsed the same way. */
    public Umfurs readMuxFrame() throws IOException {
        return readUmfurs();
    }

    /** Reads the v0 response header, which must be {@code 00 00} (RSP-2). */
    public TestClient expectV0ResponseHeader() throws IOException {
        byte[] b = readExactly(2);
        if (b[0] != 0 || b[1] != 0) {
            fail("v0 response header %s (expected: 0000)", HexFormat.of().formatHex(b));
        }
        return this;
    }

    /**
     * Reads one UMFURS (UMF-1): address type (1 or 3), address, port, length, payload. Parsed here, not with the
     * codec, so that the two check each other.
     */
    public Umfurs readUmfurs() throws IOException {
        int type = readExactly(1)[0] & 0xff;
        byte[] ip;
        if (type == 1) {
            ip = readExactly(4);
        } else if (type == 3) {
            ip = readExactly(16);
        } else {
            throw new AssertionError(String.format("UMFURS address type 0x%02x (expected: 1 or 3)", type));
        }
        byte[] portAndLength = readExactly(4);
        int port = ((portAndLength[0] & 0xff) << 8) | (portAndLength[1] & 0xff);
        int length = ((portAndLength[2] & 0xff) << 8) | (portAndLength[3] & 0xff);
        return new Umfurs(new InetSocketAddress(InetAddress.getByAddress(ip), port), readExactly(length));
    }

    /**
     * Whether a byte (or the end of the stream) arrives within {@code wait}; consumes nothing. For tests that repeat
     * an action until the server, which learns of closes asynchronously, reacts.
     */
    public boolean hasDataWithin(Duration wait) throws IOException {
        socket.setSoTimeout((int) Math.max(1, wait.toMillis()));
        try {
            in.mark(1);
            in.read();
            in.reset();
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } finally {
            socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
        }
    }

    /** Reads until the server ends the stream. */
    public byte[] readToEnd() throws IOException {
        try {
            return in.readAllBytes();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("stream did not end within " + READ_TIMEOUT.toMillis() + " ms", e);
        }
    }

    /**
     * Fails unless the server closes the connection (end of stream or reset) within {@code limit} of the connect
     * without having sent a single byte (ERR-1, TCP-2, DST-2).
     *
     * @return how long after the connect the connection was found closed
     */
    public Duration assertNoByteAndClosedWithin(Duration limit) throws IOException {
        long deadline = connectedAt + limit.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("connection still open " + limit.toMillis() + " ms after connect");
            }
            socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
            int b;
            try {
                b = in.read();
            } catch (SocketTimeoutException e) {
                continue;
            } catch (SocketException e) {
                b = -1; // reset: closed, and still no byte
            } finally {
                socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
            }
            if (b >= 0) {
                throw new AssertionError(String.format("server sent byte 0x%02x (expected: no byte at all)", b));
            }
            return sinceConnect();
        }
    }

    /** Fails if a byte arrives or the stream ends within {@code quiet}. */
    public void assertSilentFor(Duration quiet) throws IOException {
        socket.setSoTimeout((int) quiet.toMillis());
        try {
            int b = in.read();
            throw new AssertionError(b < 0 ? "stream ended (expected: still open)"
                    : String.format("received byte 0x%02x (expected: nothing)", b));
        } catch (SocketTimeoutException expected) {
            // silent and open, as it should be
        } finally {
            socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
        }
    }

    /** Fails unless the next read finds the end of the stream within the read timeout. */
    public void assertEndOfStream() throws IOException {
        int b;
        try {
            b = in.read();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("stream did not end within " + READ_TIMEOUT.toMillis() + " ms", e);
        } catch (SocketException e) {
            return; // reset also ends it
        }
        if (b >= 0) {
            throw new AssertionError(String.format("received byte 0x%02x (expected: end of stream)", b));
        }
    }

    /** Time since the TCP connect completed. */
    public Duration sinceConnect() {
        return Duration.ofNanos(System.nanoTime() - connectedAt);
    }

    /** The client's end of the connection, as the server sees it. */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** The underlying socket. */
    public Socket socket() {
        return socket;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /**
     * A UMFURS as read from CRUMFURS.
     *
     * @param source  the datagram's source, as the server labelled it
     * @param payload the datagram
     */
    public record Umfurs(InetSocketAddress source, byte[] payload) {
        /** The payload as text. */
        public String text() {
            return new String(payload, StandardCharsets.US_ASCII);
        }
    }
}
