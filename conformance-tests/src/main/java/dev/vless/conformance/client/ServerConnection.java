// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessVersion;
import dev.vless.conformance.WireLog;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One connection the client under test made to the scripted server: what it sent (the request header as bytes and
 * decoded, then frames or TCP bytes), when, and how it ended; and the means to answer on it. The cases judge the
 * client from these records.
 */
public final class ServerConnection {

    final int id;
    final long acceptedNanos = System.nanoTime();
    final InetSocketAddress client;
    final Socket socket;
    /** The wire log of the case the connection is in now: a connection kept open across cases moves on. */
    private volatile WireLog log;
    private final Object writeLock = new Object();

    volatile String tlsProtocol;
    volatile String tlsFailure;
    volatile byte[] header;
    volatile VlessRequest request;
    volatile String headerError;
    volatile long headerNanos;
    volatile long answeredNanos;
    volatile long endedNanos;
    volatile long closedByServerNanos;
    private final ByteArrayOutputStream tcpBytes = new ByteArrayOutputStream();
    private final List<byte[]> frames = new ArrayList<>();
    private final ByteArrayOutputStream earlyBytes = new ByteArrayOutputStream();
    private volatile long earlyNanos;
    /** UDP-MUX: the destinations this connection has sent to (MUX-17 delivery). */
    final java.util.Set<InetSocketAddress> lastSentTo = java.util.concurrent.ConcurrentHashMap.newKeySet();

    ServerConnection(int id, Socket socket, WireLog log) {
        this.id = id;
        this.socket = socket;
        this.client = (InetSocketAddress) socket.getRemoteSocketAddress();
        this.log = log;
    }

    void moveTo(WireLog caseLog) {
        this.log = caseLog;
    }

    /** The number of this connection in the run's order of accepts, from 1. */
    public int id() {
        return id;
    }

    /** A label for messages: "connection 3 (CRUMFURS)". */
    public String label() {
        VlessRequest r = request;
        String what = r == null ? "no request" : switch (r.command()) {
            case TCP -> "command 1 to " + r.address();
            case UDP -> "command 2 to " + r.address();
            case CRUMFURS -> "CRUMFURS";
            case UDP_MUX -> "UDP-MUX";
            default -> "command " + r.command();
        };
        return "connection " + id + " (" + what + ")";
    }

    /** When the server accepted it, on {@link System#nanoTime()}'s clock. */
    public long acceptedNanos() {
        return acceptedNanos;
    }

    /** The client's end of this connection. */
    public InetSocketAddress client() {
        return client;
    }

    /** The TLS version negotiated, or {@code null} over plaintext or when the handshake failed. */
    public String tlsProtocol() {
        return tlsProtocol;
    }

    /** Why the TLS handshake failed ({@code null} when it did not). */
    public String tlsFailure() {
        return tlsFailure;
    }

    /** The request header's bytes exactly as they came, or {@code null} before a whole header arrived. */
    public byte[] header() {
        byte[] h = header;
        return h == null ? null : h.clone();
    }

    /** The decoded request, or {@code null}. */
    public VlessRequest request() {
        return request;
    }

    /** Why the bytes that came are no valid request, or {@code null}. */
    public String headerError() {
        return headerError;
    }

    /** When the whole header had arrived (0 before). */
    public long headerNanos() {
        return headerNanos;
    }

    /** When the server wrote 0x14 / 0x15 (0 when it did not). */
    public long answeredNanos() {
        return answeredNanos;
    }

    /** When the client ended or closed its side (0 while open). */
    public long endedNanos() {
        return endedNanos;
    }

    public boolean is(VlessCommand command) {
        VlessRequest r = request;
        return r != null && r.command() == command;
    }

    public boolean isV0() {
        VlessRequest r = request;
        return r != null && r.version() == VlessVersion.V0;
    }

    /** Whether the client has ended its side. */
    public boolean ended() {
        return endedNanos != 0;
    }

    /** Waits until the client ends its side; true when it did within {@code timeout}. */
    public boolean awaitEnded(Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (endedNanos == 0) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    /** The TCP bytes that followed the header of a command-1 connection the case answers itself. */
    public synchronized byte[] tcpBytes() {
        return tcpBytes.toByteArray();
    }

    /** Waits for {@code n} TCP bytes after the header; true when they came. */
    public boolean awaitTcpBytes(int n, Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (tcpBytes.size() < n) {
                long left = until - System.nanoTime();
                if (left <= 0 || endedNanos != 0) {
                    return tcpBytes.size() >= n;
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    /**
     * The bytes the client sent after its CRUMFURS or UDP-MUX request and before the server's scripted (delayed)
     * answer; empty when none came or the answer was not delayed.
     */
    public synchronized byte[] earlyBytes() {
        return earlyBytes.toByteArray();
    }

    /** When the first of {@link #earlyBytes} arrived (0 if none). */
    public long earlyNanos() {
        return earlyNanos;
    }

    /** The payloads of the command-2 frames the client sent, in order. */
    public synchronized List<byte[]> frames() {
        return List.copyOf(frames);
    }

    /** Writes {@code bytes} to the client as they are. */
    public void write(byte[] bytes) throws IOException {
        synchronized (writeLock) {
            OutputStream out = socket.getOutputStream();
            out.write(bytes);
            out.flush();
        }
        log.sent("server " + label(), bytes, 0, bytes.length);
    }

    /** Writes {@code bytes} one byte per write (each its own TCP segment or TLS record). */
    public void writeByteByByte(byte[] bytes) throws IOException {
        synchronized (writeLock) {
            OutputStream out = socket.getOutputStream();
            for (byte b : bytes) {
                out.write(b);
                out.flush();
            }
        }
        log.sent("server " + label() + " (a byte per write)", bytes, 0, bytes.length);
    }

    /** A UMFURS from {@code source} (§10), written on this connection. */
    public void sendUmfurs(InetSocketAddress source, byte[] payload) throws IOException {
        write(umfurs(source, payload));
    }

    /** A command-2 frame (§8). */
    public void sendFrame(byte[] payload) throws IOException {
        write(frame(payload));
    }

    /** Ends the server's side of the stream and keeps reading (plaintext; TLS sends close_notify where it can). */
    public void shutdownOutput() throws IOException {
        log.note("server " + label() + " ends its side (FIN)");
        try {
            socket.shutdownOutput();
        } catch (UnsupportedOperationException e) {
            socket.close();
        }
    }

    /** Closes the connection. */
    public void close() {
        if (closedByServerNanos == 0) {
            closedByServerNanos = System.nanoTime();
            log.note("server closes " + label());
        }
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    /** Whether the server has closed it. */
    public boolean closedByServer() {
        return closedByServerNanos != 0;
    }

    synchronized void addTcp(byte[] b, int n) {
        tcpBytes.write(b, 0, n);
        notifyAll();
    }

    synchronized void addEarly(byte[] b, int n) {
        if (earlyNanos == 0) {
            earlyNanos = System.nanoTime();
        }
        earlyBytes.write(b, 0, n);
        notifyAll();
    }

    synchronized void addFrame(byte[] payload) {
        frames.add(payload);
        notifyAll();
    }

    synchronized void markEnded() {
        if (endedNanos == 0) {
            endedNanos = System.nanoTime();
        }
        notifyAll();
    }

    /** The UMFURS layout (UMF-1): address type, IP, port, length, payload; IPv4 (also IPv4-mapped) as type 1. */
    public static byte[] umfurs(InetSocketAddress source, byte[] payload) {
        byte[] ip = dev.vless.codec.VlessAddress.canonical(source.getAddress()).getAddress();
        ByteBuffer b = ByteBuffer.allocate(1 + ip.length + 4 + payload.length);
        b.put((byte) (ip.length == 4 ? 1 : 3)).put(ip).putShort((short) source.getPort())
                .putShort((short) payload.length).put(payload);
        return b.array();
    }

    /** A command-2 frame: length (2, big-endian), payload. */
    public static byte[] frame(byte[] payload) {
        return ByteBuffer.allocate(2 + payload.length).putShort((short) payload.length).put(payload).array();
    }

    @Override
    public String toString() {
        return label();
    }
}
