// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.reliability;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A UDP receiver that only counts, so that it keeps up with a burst (UdpPeer keeps every datagram), and that can
 * read back how many datagrams its own kernel socket dropped (/proc/net/udp), which is loss the server cannot see.
 */
final class CountingUdpReceiver implements AutoCloseable {

    private final DatagramSocket socket;
    private final AtomicLong received = new AtomicLong();
    private final Thread thread;

    CountingUdpReceiver(String ip) throws IOException {
        socket = new DatagramSocket(null);
        socket.setReceiveBufferSize(4 << 20); // as large as net.core.rmem_max allows
        socket.bind(new InetSocketAddress(InetAddress.getByName(ip), 0));
        socket.setSoTimeout(200);
        thread = new Thread(this::run, "counting-udp-receiver");
        thread.setDaemon(true);
        thread.start();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    long received() {
        return received.get();
    }

    /** Waits until {@code expected} arrived or nothing arrived for {@code quietMillis}; returns the count. */
    long awaitQuiet(long expected, long quietMillis) throws InterruptedException {
        long last = -1;
        long lastChange = System.nanoTime();
        while (received.get() < expected) {
            long now = received.get();
            if (now != last) {
                last = now;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > quietMillis * 1_000_000) {
                break;
            }
            Thread.sleep(10);
        }
        return received.get();
    }

    /** Datagrams the kernel dropped for this socket (its receive buffer was full), or -1 if unknown. */
    long kernelDrops() {
        String local = String.format(Locale.ROOT, ":%04X", address().getPort());
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/net/udp"));
            for (String line : lines) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 12 && f[1].endsWith(local)) {
                    return Long.parseLong(f[f.length - 1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private void run() {
        byte[] buffer = new byte[65536];
        DatagramPacket p = new DatagramPacket(buffer, buffer.length);
        while (!socket.isClosed()) {
            try {
                p.setLength(buffer.length);
                socket.receive(p);
                received.incrementAndGet();
            } catch (SocketTimeoutException e) {
                // look at isClosed again
            } catch (IOException e) {
                if (socket.isClosed()) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        thread.join(2000);
    }
}
