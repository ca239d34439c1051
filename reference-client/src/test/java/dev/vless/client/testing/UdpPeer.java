// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.testing;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A remote UDP host on a loopback address that records what it receives with its source, and echoes on request.
 * For datagrams relayed by the VLESS server, the source is the server's mapped address.
 */
public final class UdpPeer implements AutoCloseable {

    /** How long {@link #receive()} waits. */
    public static final Duration TIMEOUT = Duration.ofSeconds(5);

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

    /** A peer on {@code ip} and an ephemeral port. */
    public static UdpPeer bind(String ip) throws IOException {
        DatagramSocket s = new DatagramSocket(null);
        s.setReceiveBufferSize(1 << 20);
        s.bind(new InetSocketAddress(InetAddress.getByName(ip), 0));
        return new UdpPeer(s);
    }

    /** From now on every datagram received is sent back to its source. */
    public UdpPeer echoing() {
        echo = true;
        return this;
    }

    /** Where the peer receives. */
    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** Sends one datagram of text. */
    public void send(String text, InetSocketAddress to) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(b, b.length, to));
    }

    /** The next datagram; fails if none comes within {@link #TIMEOUT}. */
    public Datagram receive() throws InterruptedException {
        Datagram d = received.poll(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (d == null) {
            throw new AssertionError(address() + " received no datagram within " + TIMEOUT.toMillis() + " ms");
        }
        return d;
    }

    /** The next datagram within {@code timeout}, or {@code null}. */
    public Datagram poll(Duration timeout) throws InterruptedException {
        return received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        socket.close();
        join(reader);
    }

    static void join(Thread t) {
        try {
            t.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
                continue;
            }
            Datagram d = new Datagram((InetSocketAddress) p.getSocketAddress(),
                    Arrays.copyOfRange(p.getData(), p.getOffset(), p.getOffset() + p.getLength()));
            if (echo) {
                try {
                    socket.send(new DatagramPacket(d.payload(), d.payload().length, d.source()));
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
     * @param source  where it came from
     * @param payload what it carried
     */
    public record Datagram(InetSocketAddress source, byte[] payload) {
        /** The payload as text. */
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }
}
