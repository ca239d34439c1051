// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;

/**
 * One TCP (or TLS) connection to the target, driven byte by byte with blocking I/O: a conformance harness wants to
 * see exactly what arrives and when, not to be fast. Everything sent and received goes into the {@link WireLog}.
 */
public class VlessConnection implements AutoCloseable {

    final VlessTarget target;
    final WireLog log;
    final String label;
    private final Socket socket;
    /** Pushback, so that {@link #ended()} can look for the target's close without taking bytes a case will read. */
    private final java.io.PushbackInputStream in;
    private final long connectedAt;
    /** Taken before the connect (and TLS) began: no later than the target's accept, where its deadline starts. */
    private final long connectStartedAt = System.nanoTime();
    private String endSeen;
    private final OutputStream out;

    VlessConnection(VlessTarget target, WireLog log, String label) throws IOException {
        this(target, log, label, null);
    }

    /** A connection whose client side is bound to {@code localAddress}, or chosen by the OS when {@code null}. */
    VlessConnection(VlessTarget target, WireLog log, String label, java.net.InetAddress localAddress)
            throws IOException {
        this.target = target;
        this.log = log;
        this.label = label;
        this.socket = TargetSockets.connect(target, localAddress);
        this.in = new java.io.PushbackInputStream(socket.getInputStream(), 65536);
        this.connectedAt = System.nanoTime();
        this.out = socket.getOutputStream();
        log.note(label + " connected " + socket.getLocalSocketAddress() + " → " + target.address()
                + (target.tls() ? " (TLS)" : ""));
    }

    private long sinceConnect() {
        return (System.nanoTime() - connectedAt) / 1_000_000;
    }

    /**
     * Whether the target has closed or reset this connection, looked at without waiting and without taking any byte
     * it sent: for a case waiting elsewhere (at a UDP peer), so that its failure says "reset 412 ms after connecting"
     * rather than "nothing within 3000 ms".
     *
     * @return {@code null} while it is open, else what happened and when (first seen)
     */
    public String ended() {
        if (endSeen != null || socket.isClosed()) {
            return endSeen;
        }
        byte[] buf = new byte[65536];
        try {
            socket.setSoTimeout(1);
            int r = in.read(buf);
            if (r < 0) {
                endSeen = label + " was closed by the target (seen " + sinceConnect() + " ms after connecting)";
            } else if (r > 0) {
                in.unread(buf, 0, r);
            }
        } catch (SocketTimeoutException e) {
            return null;
        } catch (IOException e) {
            endSeen = label + " was reset by the target (seen " + sinceConnect() + " ms after connecting: "
                    + e.getMessage() + ")";
        }
        if (endSeen != null) {
            log.note(endSeen);
        }
        return endSeen;
    }

    /** Milliseconds since this connection's connect began: an upper bound on the time since the target's accept. */
    public long sinceConnectStartMs() {
        return (System.nanoTime() - connectStartedAt) / 1_000_000;
    }

    /** The target this connection goes to. */
    public VlessTarget target() {
        return target;
    }

    /** The evidence log this connection writes to. */
    public WireLog log() {
        return log;
    }

    /** The socket, for options a case needs. */
    public Socket socket() {
        return socket;
    }

    /** Sends {@code bytes} in one write. */
    public void write(byte[] bytes) throws IOException {
        log.sent(label, bytes, 0, bytes.length);
        out.write(bytes);
        out.flush();
    }

    /** Sends a request header and {@code payload} in one write. */
    public void writeRequest(VlessRequest request, byte[] payload) throws IOException {
        write(concat(encode(request), payload));
    }

    /** The wire form of a request. */
    public static byte[] encode(VlessRequest request) {
        ByteBuf buf = Unpooled.buffer(request.encodedLength());
        try {
            VlessClientEncoder.encode(request, buf);
            byte[] b = new byte[buf.readableBytes()];
            buf.readBytes(b);
            return b;
        } finally {
            buf.release();
        }
    }

    /** {@code a} followed by {@code b}. */
    public static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * Reads exactly {@code n} bytes, waiting at most {@code timeout} in all.
     *
     * @throws SocketTimeoutException when they do not all arrive in time
     * @throws EOFException when the target closes first
     */
    public byte[] readExactly(int n, Duration timeout) throws IOException {
        byte[] buf = new byte[n];
        long deadline = System.nanoTime() + timeout.toNanos();
        int got = 0;
        while (got < n) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                log.note(label + " timeout: " + got + " of " + n + " B after " + timeout.toMillis() + " ms");
                throw new SocketTimeoutException(label + ": " + got + " of " + n + " bytes within "
                        + timeout.toMillis() + " ms");
            }
            socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
            int r;
            try {
                r = in.read(buf, got, n - got);
            } catch (SocketTimeoutException e) {
                continue;
            }
            if (r < 0) {
                log.note(label + " closed by the target after " + got + " of " + n + " B, " + sinceConnect()
                        + " ms after connecting");
                throw new EOFException(label + ": closed by the target after " + got + " of " + n + " bytes, "
                        + sinceConnect() + " ms after connecting");
            }
            log.received(label, buf, got, r);
            got += r;
        }
        return buf;
    }

    /** Reads exactly {@code n} bytes within the target's I/O timeout. */
    public byte[] readExactly(int n) throws IOException {
        return readExactly(n, target.ioTimeout());
    }

    /** Reads what arrives until the target closes or {@code timeout} passes. */
    public byte[] readUntilClose(Duration timeout) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] buf = new byte[65536];
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new SocketTimeoutException(label + ": not closed within " + timeout.toMillis() + " ms");
            }
            socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
            int r;
            try {
                r = in.read(buf);
            } catch (SocketTimeoutException e) {
                continue;
            }
            if (r < 0) {
                log.note(label + " closed by the target");
                return all.toByteArray();
            }
            log.received(label, buf, 0, r);
            all.write(buf, 0, r);
        }
    }

    /**
     * Waits up to {@code timeout} for the first thing the target does: send bytes, close, or reset. Bytes that
     * arrive are read (up to what is there) and reported.
     */
    public Outcome await(Duration timeout) throws IOException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        byte[] buf = new byte[4096];
        while (true) {
            long left = deadline - System.nanoTime();
            long elapsed = (System.nanoTime() - start) / 1_000_000;
            if (left <= 0) {
                log.note(label + " still open, no byte, after " + elapsed + " ms");
                return new Outcome(Outcome.Kind.STILL_OPEN, new byte[0], elapsed);
            }
            socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
            try {
                int r = in.read(buf);
                elapsed = (System.nanoTime() - start) / 1_000_000;
                if (r < 0) {
                    log.note(label + " closed by the target after " + elapsed + " ms");
                    return new Outcome(Outcome.Kind.CLOSED, new byte[0], elapsed);
                }
                log.received(label, buf, 0, r);
                return new Outcome(Outcome.Kind.DATA, java.util.Arrays.copyOf(buf, r), elapsed);
            } catch (SocketTimeoutException e) {
                // loop until the deadline
            } catch (SocketException e) {
                elapsed = (System.nanoTime() - start) / 1_000_000;
                log.note(label + " reset after " + elapsed + " ms: " + e.getMessage());
                return new Outcome(Outcome.Kind.RESET, new byte[0], elapsed);
            } catch (javax.net.ssl.SSLException e) {
                elapsed = (System.nanoTime() - start) / 1_000_000;
                log.note(label + " TLS ended after " + elapsed + " ms: " + e.getMessage());
                return new Outcome(Outcome.Kind.CLOSED, new byte[0], elapsed);
            }
        }
    }

    /** Ends the harness's sending direction (TCP FIN) while still reading; plaintext only. */
    public void shutdownOutput() throws IOException {
        log.note(label + " shut down output (FIN)");
        socket.shutdownOutput();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
