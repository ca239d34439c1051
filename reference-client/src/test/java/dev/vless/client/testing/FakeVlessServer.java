// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.testing;

import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessRequestDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A plaintext VLESS server that does nothing by itself: it accepts connections, reads each request header with the
 * spec codec, and hands the test an {@link Accepted} to answer as it likes. With it a test can hold back, falsify or
 * reorder what a real server would send.
 */
public final class FakeVlessServer implements AutoCloseable {

    private final ServerSocket server;
    private final BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    private final Thread acceptor;

    /** A server on 127.0.0.1 and an ephemeral port. */
    public FakeVlessServer() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::acceptLoop, "fake-vless");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Where it listens. */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    /** The next connection whose request header has arrived; fails after {@code millis}. */
    public Accepted next(long millis) throws InterruptedException {
        Accepted a = accepted.poll(millis, TimeUnit.MILLISECONDS);
        if (a == null) {
            throw new AssertionError("no request reached the fake server within " + millis + " ms");
        }
        return a;
    }

    /** The next connection within {@code millis}, or {@code null}. */
    public Accepted poll(long millis) throws InterruptedException {
        return accepted.poll(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws IOException {
        server.close();
        UdpPeer.join(acceptor);
        Accepted a;
        while ((a = accepted.poll()) != null) {
            a.socket.close();
        }
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            Thread t = new Thread(() -> readHeader(s), "fake-vless-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void readHeader(Socket s) {
        ByteBuf buf = Unpooled.buffer();
        try {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            int length;
            while ((length = VlessRequestDecoder.headerLength(buf)) < 0) {
                int b = in.read();
                if (b < 0) {
                    s.close();
                    return;
                }
                buf.writeByte(b);
            }
            VlessRequest request = VlessRequestDecoder.decode(buf);
            accepted.add(new Accepted(request, s, System.nanoTime()));
        } catch (IOException e) {
            // the connection went away before its header was complete
        } finally {
            buf.release();
        }
    }

    /**
     * One connection whose header has arrived; the bytes after it are still unread in the socket.
     *
     * @param request the request header
     * @param socket  the connection
     * @param nanos   {@link System#nanoTime()} when the header was complete
     */
    public record Accepted(VlessRequest request, Socket socket, long nanos) {
        /** The connection's input, behind the header. */
        public InputStream in() throws IOException {
            return socket.getInputStream();
        }

        /** Writes and flushes {@code bytes}. */
        public void write(byte[] bytes) throws IOException {
            OutputStream out = socket.getOutputStream();
            out.write(bytes);
            out.flush();
        }
    }
}
