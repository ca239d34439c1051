// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A harness-controlled remote UDP host: it records every datagram with the source address it observed (the mapped
 * address of the server), can echo, and sends on command. In RFC 5780 terms it is the reflector.
 */
public final class UdpPeer implements AutoCloseable {

    /** A datagram as the peer received it. */
    public record Datagram(InetSocketAddress source, byte[] payload) {
    }

    private final DatagramSocket socket;
    private final WireLog log;
    private final String label;
    private final BlockingQueue<Datagram> received = new LinkedBlockingQueue<>();
    private volatile boolean echo;
    private final Thread reader;

    public UdpPeer(InetAddress address, WireLog log, String label) throws SocketException {
        this(new InetSocketAddress(address, 0), log, label);
    }

    /** A peer bound to {@code bind}: a given port when the case needs one (RFC 5780's same port on another IP). */
    public UdpPeer(InetSocketAddress bind, WireLog log, String label) throws SocketException {
        this.socket = new DatagramSocket(bind);
        this.log = log;
        this.label = label;
        this.reader = new Thread(this::readLoop, "udp-peer-" + label);
        reader.setDaemon(true);
        reader.start();
    }

    /** The peer's address, where the server must send. */
    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** Makes the peer answer every datagram with the same payload. */
    public UdpPeer echo() {
        this.echo = true;
        return this;
    }

    /** Sends {@code payload} to {@code to} (typically the server's mapped address). */
    public void send(InetSocketAddress to, byte[] payload) throws IOException {
        log.note(label + " " + address() + " sends " + payload.length + " B to " + to + ": "
                + WireLog.hex(payload));
        socket.send(new DatagramPacket(payload, payload.length, to));
    }

    /** The next datagram received, or {@code null} after {@code timeout}. */
    public Datagram receive(Duration timeout) throws InterruptedException {
        return received.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Datagrams received and not yet taken. */
    public int pending() {
        return received.size();
    }

    private void readLoop() {
        byte[] buf = new byte[65536];
        while (!socket.isClosed()) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                socket.receive(p);
            } catch (IOException e) {
                return;
            }
            byte[] payload = java.util.Arrays.copyOfRange(p.getData(), p.getOffset(), p.getOffset() + p.getLength());
            InetSocketAddress source = (InetSocketAddress) p.getSocketAddress();
            log.note(label + " " + address() + " received " + payload.length + " B from " + source + ": "
                    + WireLog.hex(payload));
            received.add(new Datagram(source, payload));
            if (echo) {
                try {
                    log.note(label + " " + address() + " echoes " + payload.length + " B to " + source);
                    socket.send(new DatagramPacket(payload, payload.length, source));
                } catch (IOException e) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
