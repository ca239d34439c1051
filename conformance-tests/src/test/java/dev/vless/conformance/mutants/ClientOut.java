// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.mutants;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The server-to-client direction of a command-2 or CRUMFURS connection: a queue and a writer thread, so that a UDP
 * receiver never blocks on a slow client (DLV-5). Beyond 1 MiB unsent, datagrams are dropped.
 */
final class ClientOut {

    static final long LIMIT = 1 << 20;

    private final Socket socket;
    private final LinkedBlockingQueue<byte[]> queue = new LinkedBlockingQueue<>();
    private final AtomicLong queued = new AtomicLong();
    private byte[] prefix;
    private volatile boolean closed;
    final AtomicLong dropped = new AtomicLong();

    /** {@code prefix}: bytes that go out once, right before the first message (the v0 response header), or null. */
    ClientOut(Socket socket, byte[] prefix, String name) {
        this(socket, prefix, name, true);
    }

    /** As above; with {@code startNow} false, nothing is written until {@link #start()}. */
    ClientOut(Socket socket, byte[] prefix, String name, boolean startNow) {
        this.socket = socket;
        this.prefix = prefix;
        this.writer = new Thread(this::drain, name);
        writer.setDaemon(true);
        if (startNow) {
            writer.start();
        }
    }

    private final Thread writer;

    /** Starts writing what was queued. */
    void start() {
        writer.start();
    }

    /** Queues {@code message}; false when it was dropped (closed, or over the limit). */
    synchronized boolean offer(byte[] message) {
        if (closed || queued.get() + message.length > LIMIT) {
            dropped.incrementAndGet();
            return false;
        }
        if (prefix != null) {
            byte[] both = new byte[prefix.length + message.length];
            System.arraycopy(prefix, 0, both, 0, prefix.length);
            System.arraycopy(message, 0, both, prefix.length, message.length);
            message = both;
            prefix = null;
        }
        queued.addAndGet(message.length);
        queue.add(message);
        return true;
    }

    private void drain() {
        try {
            OutputStream out = socket.getOutputStream();
            while (!closed) {
                byte[] b = queue.take();
                if (b.length == 0) {
                    continue; // the wake-up close() sends
                }
                out.write(b);
                queued.addAndGet(-b.length);
            }
        } catch (IOException | InterruptedException e) {
            // the client is gone or the connection was closed: nothing left to write to
        } finally {
            closed = true;
            MutantServer.quietClose(socket);
        }
    }

    void close() {
        closed = true;
        queue.add(new byte[0]);
        MutantServer.quietClose(socket);
    }
}
