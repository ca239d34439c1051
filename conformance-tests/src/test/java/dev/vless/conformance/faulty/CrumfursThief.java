// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.faulty;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A second client with the same user ID on the same host: every {@code period} it opens a CRUMFURS of that user and
 * keeps it until the next one. Each new one replaces whatever CRUMFURS the context had (CRF-3), the real client's
 * included, and takes the datagrams meant for it.
 */
final class CrumfursThief implements AutoCloseable {

    private final InetSocketAddress server;
    private final byte[] request;
    private final long periodMs;
    private final AtomicInteger thefts = new AtomicInteger();
    private final Thread thread;
    private volatile boolean closed;
    private volatile Socket current;
    private volatile Socket pending;

    CrumfursThief(InetSocketAddress server, UUID user, long periodMs) {
        this.server = server;
        this.periodMs = periodMs;
        // The CRUMFURS request: version 1, the user ID, command 4 (§4.5).
        ByteBuffer b = ByteBuffer.allocate(18);
        b.put((byte) 0x01).putLong(user.getMostSignificantBits()).putLong(user.getLeastSignificantBits())
                .put((byte) 0x04);
        this.request = b.array();
        thread = new Thread(this::loop, "faulty-crumfurs-thief-" + server.getPort());
        thread.setDaemon(true);
        thread.start();
    }

    /** CRUMFURS the server acknowledged so far. */
    int thefts() {
        return thefts.get();
    }

    private void loop() {
        while (!closed) {
            Socket next = new Socket();
            pending = next;
            if (closed) {
                break;
            }
            try {
                next.connect(server, 1000);
                next.setSoTimeout(1000);
                next.getOutputStream().write(request);
                InputStream in = next.getInputStream();
                if (in.read() == 0x14) {
                    thefts.incrementAndGet();
                }
            } catch (IOException e) {
                // the server is busy or stopping: try again next period
            }
            // The new one is established (or failed) before the old one goes, as a client that re-opens does.
            Socket old = current;
            current = next;
            FaultInjectingProxy.closeQuietly(old);
            if (closed) {
                break;
            }
            try {
                Thread.sleep(periodMs);
            } catch (InterruptedException e) {
                break;
            }
        }
        FaultInjectingProxy.closeQuietly(pending);
        FaultInjectingProxy.closeQuietly(current);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        // Socket I/O is not interruptible: closing the socket it waits on is what wakes the thread.
        FaultInjectingProxy.closeQuietly(pending);
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        FaultInjectingProxy.closeQuietly(current);
    }
}
