// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A TCP target on a loopback address. By default it echoes and records what each connection sent; at the client's
 * end of stream it ends its own direction too (a half-close, not a close). A custom {@link Handler} makes it any
 * other kind of target. Each connection runs on its own daemon thread.
 */
public final class TcpEchoServer implements AutoCloseable {

    /** Serves one accepted connection; the server closes the socket when the handler returns. */
    @FunctionalInterface
    public interface Handler {
        /** Serves {@code connection}. */
        void handle(Socket socket, Connection connection) throws IOException;
    }

    /** What the server saw of one connection. */
    public static final class Connection {
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private final CountDownLatch ended = new CountDownLatch(1);

        /** Records bytes the client sent. */
        public synchronized void record(byte[] b, int off, int len) {
            received.write(b, off, len);
        }

        /** Every byte received so far. */
        public synchronized byte[] received() {
            return received.toByteArray();
        }

        /** Marks the client's end of stream. */
        public void markEnded() {
            ended.countDown();
        }

        /** Whether the client's end of stream arrived within {@code timeout}. */
        public boolean awaitEnd(Duration timeout) throws InterruptedException {
            return ended.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private final ServerSocket server;
    private final Handler handler;
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private volatile boolean closing;

    private TcpEchoServer(ServerSocket server, Handler handler) {
        this.server = server;
        this.handler = handler;
        Thread acceptor = new Thread(this::acceptLoop, "tcp-target " + server.getLocalSocketAddress());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** An echo server on 127.0.0.1. */
    public static TcpEchoServer start() throws IOException {
        return start("127.0.0.1", TcpEchoServer::echo);
    }

    /** A server on 127.0.0.1 with its own behaviour. */
    public static TcpEchoServer start(Handler handler) throws IOException {
        return start("127.0.0.1", handler);
    }

    /** A server on {@code ip} with its own behaviour. */
    public static TcpEchoServer start(String ip, Handler handler) throws IOException {
        return new TcpEchoServer(new ServerSocket(0, 50, InetAddress.getByName(ip)), handler);
    }

    /** Echoes and records until the client's end of stream, then ends its own direction. */
    public static void echo(Socket socket, Connection connection) throws IOException {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) >= 0) {
            connection.record(buf, 0, n);
            out.write(buf, 0, n);
            out.flush();
        }
        connection.markEnded();
        socket.shutdownOutput();
    }

    /** Records until the client's end of stream; reads and returns, without writing. */
    public static void drainAndRecord(Socket socket, Connection connection) throws IOException {
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) >= 0) {
            connection.record(buf, 0, n);
        }
        connection.markEnded();
    }

    /** Where it listens. */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    /** The connections accepted so far, oldest first. */
    public List<Connection> connections() {
        return List.copyOf(connections);
    }

    /** The connection accepted {@code index}-th (from 0), waiting up to 5 s for it to arrive. */
    public Connection connection(int index) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (connections.size() <= index) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("connection " + index + " to " + address() + " never arrived");
            }
            Thread.sleep(10);
        }
        return connections.get(index);
    }

    /** Exceptions the handlers threw other than at shutdown. */
    public List<Throwable> errors() {
        return List.copyOf(errors);
    }

    @Override
    public void close() throws IOException {
        closing = true;
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            sockets.add(s);
            Connection c = new Connection();
            connections.add(c);
            Thread t = new Thread(() -> serve(s, c), "tcp-target connection " + s.getRemoteSocketAddress());
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Socket s, Connection c) {
        try (s) {
            s.setSoTimeout(30_000); // a test that forgets a connection must not leave the thread forever
            handler.handle(s, c);
        } catch (IOException | RuntimeException e) {
            if (!closing) {
                errors.add(e);
            }
        }
    }
}
