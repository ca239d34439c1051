// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.faulty;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fallback a VLESS server hands bad input to: a loopback TCP server that answers any bytes with an HTTP 400 and
 * closes, as a web server behind a real deployment would answer a probe that is not HTTP.
 */
final class BadRequestServer implements AutoCloseable {

    /** What every connection that sends a byte gets back. */
    static final String RESPONSE = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

    private final ServerSocket listener;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger answered = new AtomicInteger();

    BadRequestServer() {
        try {
            listener = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on loopback", e);
        }
        Thread t = new Thread(this::acceptLoop, "faulty-fallback-accept-" + listener.getLocalPort());
        t.setDaemon(true);
        t.start();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    /** Connections answered so far. */
    int answered() {
        return answered.get();
    }

    private void acceptLoop() {
        while (true) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                return;
            }
            open.add(s);
            Thread t = new Thread(() -> serve(s), "faulty-fallback-" + s.getPort());
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(2000);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            if (in.read(buf) < 0) {
                return;
            }
            s.getOutputStream().write(RESPONSE.getBytes(StandardCharsets.US_ASCII));
            answered.incrementAndGet();
            // FIN, then read what is still coming before closing: closing with unread input would send an RST, which
            // can destroy the response before the client has read it.
            s.shutdownOutput();
            try {
                while (in.read(buf) >= 0) {
                    // discard
                }
            } catch (SocketTimeoutException e) {
                // the client keeps its side open; close anyway
            }
        } catch (IOException e) {
            // the client went away
        } finally {
            open.remove(s);
        }
    }

    @Override
    public void close() {
        FaultInjectingProxy.closeQuietly(listener);
        new ArrayList<>(open).forEach(FaultInjectingProxy::closeQuietly);
    }
}
