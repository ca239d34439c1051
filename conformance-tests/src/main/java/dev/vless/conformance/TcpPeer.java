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

        Accepted(Socket socket) {
            this.socket = socket;
        }

        /** What the peer has received so far on this connection. */
        public synchronized byte[] bytes() {
            return bytes.toByteArray();
        }

        /** Whether the sender ended its direction (EOF). */
        public boolean ended() {
            return ended;
        }

        synchronized void add(byte[] b, int n) {
            bytes.write(b, 0, n);
        }
    }

    private final ServerSocket server;
    private final WireLog log;
    private final boolean echo;
    private final BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    TcpPeer(InetAddress address, WireLog log, boolean echo) throws IOException {
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
            log.note("tcp peer " + address() + " accepted a connection from " + s.getRemoteSocketAddress());
            accepted.add(a);
            Thread t = new Thread(() -> serve(a), "tcp-peer-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Accepted a) {
        byte[] buf = new byte[65536];
        try (Socket s = a.socket) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                a.add(buf, n);
                if (echo) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            }
            a.ended = true;
            log.note("tcp peer " + address() + " saw the end of the stream");
            // Keep our direction open briefly so a half-close test can still receive a reply.
            if (echo) {
                out.write(new byte[0]);
                s.shutdownOutput();
            }
        } catch (IOException e) {
            a.ended = true;
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
