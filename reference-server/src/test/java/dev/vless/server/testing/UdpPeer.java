// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.testing;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A UDP host on a loopback address (127.0.0.x or ::1) that records every datagram it receives together with its
 * source, and sends or echoes on command. A background thread receives into a 64 KiB buffer, so nothing is
 * truncated.
 */
public final class UdpPeer implements AutoCloseable {

    /** How long {@link #receive()} waits before the test fails. */
    public static final Duration RECEIVE_TIMEOUT = Duration.ofSeconds(5);

    private final DatagramSocket socket;
    private final BlockingQueue<Datagram> received = new LinkedBlockingQueue<>();
    private final Thread reader;
    private volatile boolean echo;

    private UdpPeer(DatagramSocket socket) {
        this.socket = socket;
        this.reader = new Thread(this::receiveLoop, "udp-peer " + socket.getLocalSocketAddress());
        reader.setDaemon(true);
        reader.start();
    }

    /** A peer on {@code ip} (such as "127.0.0.2" or "::1") and an ephemeral port. */
    public static UdpPeer bind(String ip) throws IOException {
        return bind(ip, 0);
    }

    /** A peer on {@code ip} and {@code port}. */
    public static UdpPeer bind(String ip, int port) throws IOException {
        DatagramSocket s = new DatagramSocket(null);
        try {
            s.setReceiveBufferSize(1 << 20);
            s.setSendBufferSize(1 << 20);
            s.bind(new InetSocketAddress(InetAddress.getByName(ip), port));
            return new UdpPeer(s);
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** From now on every datagram received is also sent back to its source, unchanged. */
    public UdpPeer echoing() {
        echo = true;
        return this;
    }

    /** Where the peer receives. */
    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** Sends one datagram. */
    public void send(byte[] payload, InetSocketAddress to) throws IOException {
        socket.send(new DatagramPacket(payload, payload.length, to));
    }

    /** Sends one datagram of US-ASCII text. */
    public void send(String text, InetSocketAddress to) throws IOException {
        send(text.getBytes(StandardCharsets.US_ASCII), to);
    }

    /** The next datagram received; fails the test if none comes within {@link #RECEIVE_TIMEOUT}. */
    public Datagram receive() throws InterruptedException {
        return receive(RECEIVE_TIMEOUT);
    }

    /** The next datagram received; fails the test if none comes within {@code timeout}. */
    public Datagram receive(Duration timeout) throws InterruptedException {
        Datagram d = received.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (d == null) {
            throw new AssertionError(address() + " received no datagram within " + timeout.toMillis() + " ms");
        }
        return d;
    }

    /** The next datagram received within {@code timeout}, or {@code null}. */
    public Datagram poll(Duration timeout) throws InterruptedException {
        return received.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Fails if any datagram arrives within {@code quiet}. */
    public void assertNothingReceived(Duration quiet) throws InterruptedException {
        Datagram d = received.poll(quiet.toNanos(), TimeUnit.NANOSECONDS);
        if (d != null) {
            throw new AssertionError(address() + " received " + d + " (expected: nothing)");
        }
    }

    /** Everything received and not yet taken, taken now. */
    public List<Datagram> drain() {
        List<Datagram> out = new ArrayList<>();
        received.drainTo(out);
        return out;
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        reader.join(2000);
    }

    private void receiveLoop() {
        byte[] buffer = new byte[65536];
        while (!socket.isClosed()) {
            DatagramPacket p = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(p);
            } catch (IOException e) {
                if (socket.isClosed()) {
                    return;
                }
                continue; // an ICMP error (PortUnreachableException) reported on this socket; it stays usable
            }
            Datagram d = new Datagram((InetSocketAddress) p.getSocketAddress(),
                    Arrays.copyOfRange(p.getData(), p.getOffset(), p.getOffset() + p.getLength()));
            if (echo) {
                try {
                    socket.send(new DatagramPacket(d.payload, d.payload.length, d.source));
                } catch (IOException e) {
                    // the test sees the missing echo
                }
            }
            received.add(d);
        }
    }

    /**
     * One datagram as the peer received it.
     *
     * @param source  where it came from: for datagrams relayed by the server, the server's mapped address
     * @param payload what it carried
     */
    public record Datagram(InetSocketAddress source, byte[] payload) {
        /** The payload as text. */
        public String text() {
            return new String(payload, StandardCharsets.US_ASCII);
        }

        @Override
        public String toString() {
            return "Datagram[from " + source + ", " + payload.length + " bytes"
                    + (payload.length <= 40 ? ": " + text() : "") + "]";
        }
    }
}
