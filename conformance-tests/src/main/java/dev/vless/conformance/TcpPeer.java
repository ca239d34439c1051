// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.time.Duration;
import java.util.List;

/**
 * A harness-controlled TCP destination: it echoes what it receives, records each connection's bytes, and notes when
 * the sender ended its direction.
 */
public final class TcpPeer implements AutoCloseable {

    /** One accepted connection, as the peer saw it. */
    public static final class Accepted {
        private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        private volatile boolean ended;
        final Socket socket;
        private WireLog log;
        private String label = "tcp peer";

        Accepted(Socket socket) {
            this.socket = socket;
        }

        /** Where the connection came from: the target's outbound socket, as this peer sees it. */
        public InetSocketAddress remote() {
            return (InetSocketAddress) socket.getRemoteSocketAddress();
        }

        /** What the peer has received so far on this connection. */
        public synchronized byte[] bytes() {
            return bytes.toByteArray();
        }

        /** Whether the sender ended its direction (EOF). */
        public boolean ended() {
            return ended;
        }

        /** Waits until at least {@code n} bytes have arrived; whether they did within {@code timeout}. */
        public synchronized boolean awaitBytes(int n, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (bytes.size() < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return true;
        }

        /** Waits until the relay ends its direction (EOF); whether it did within {@code timeout}. */
        public synchronized boolean awaitEnded(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!ended) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return true;
        }

        /** Sends {@code b} to the relay in one write: a scripted peer's reply. */
        public void send(byte[] b) throws IOException {
            if (log != null) {
                log.sent(label, b, 0, b.length);
            }
            OutputStream out = socket.getOutputStream();
            out.write(b);
            out.flush();
        }

        /** Ends the peer's direction (TCP FIN) while it goes on reading. */
        public void shutdownOutput() throws IOException {
            if (log != null) {
                log.note(label + " shut down output (FIN)");
            }
            socket.shutdownOutput();
        }

        synchronized void add(byte[] b, int n) {
            bytes.write(b, 0, n);
            notifyAll();
        }

        synchronized void markEnded() {
            ended = true;
            notifyAll();
        }
    }

    private final ServerSocket server;
    private final WireLog log;
    private final boolean echo;
    private final BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    public TcpPeer(InetAddress address, WireLog log, boolean echo) throws IOException {
        this.server = new ServerSocket(0, 50, address);
        this.log = log;
        this.echo = echo;
        Thread t = new Thread(this::acceptLoop, "tcp-peer");
        t.setDaemon(true);
        t.start();
    }

    /** Where the peer listens. */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    /** The next accepted connection, or {@code null} after {@code timeout}. */
    public Accepted accepted(Duration timeout) throws InterruptedException {
        return accepted.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            sockets.add(s);
            Accepted a = new Accepted(s);
            a.log = log;
            a.label = "tcp peer " + address() + " (conn from " + s.getRemoteSocketAddress() + ")";
            log.note("tcp peer " + address() + " accepted a connection from " + s.getRemoteSocketAddress());
            accepted.add(a);
            Thread t = new Thread(() -> serve(a), "tcp-peer-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Accepted a) {
        byte[] buf = new byte[65536];
        Socket s = a.socket;
        try {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                a.add(buf, n);
                log.received(a.label, buf, 0, n);
                if (echo) {
                    out.write(buf, 0, n);
                    out.flush();
                    log.sent(a.label, buf, 0, n);
                }
            }
            a.markEnded();
            log.note("tcp peer " + address() + " saw the end of the stream");
            if (echo) {
                s.shutdownOutput();
                s.close();
            }
            // A scripted peer keeps its direction open: the case may still reply, then shut it down itself.
        } catch (IOException e) {
            a.markEnded();
            log.note(a.label + " reset: " + e.getMessage());
            closeQuietly(s);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // nothing to do
        }
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }
}
