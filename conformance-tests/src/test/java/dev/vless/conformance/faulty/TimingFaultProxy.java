// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.faulty;

import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.VlessRequestDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A plaintext loopback proxy in front of a correct server that gets the timing of bad input wrong in one way, so that
 * a test can check the suite notices exactly that: {@link #closingAtOnce} closes at once on one kind of malformed
 * header (the probing oracle ERR-2 and ERR-3 forbid) and leaves every other kind to the server behind, which holds it
 * to the deadline; {@link #neverClosing} keeps every connection whose header is not a complete one open after the
 * server behind has closed it (no handshake deadline at all, ERR-4).
 */
final class TimingFaultProxy implements AutoCloseable {

    private final InetSocketAddress upstream;
    private final ProtocolError atOnce;
    private final boolean neverClose;
    private final ServerSocket listener;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();

    private TimingFaultProxy(InetSocketAddress upstream, ProtocolError atOnce, boolean neverClose) {
        this.upstream = upstream;
        this.atOnce = atOnce;
        this.neverClose = neverClose;
        try {
            listener = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on loopback", e);
        }
        daemon("timing-proxy-accept", this::acceptLoop);
    }

    /** Closes at once on a header that breaks with {@code kind}; the server behind handles everything else. */
    static TimingFaultProxy closingAtOnce(InetSocketAddress upstream, ProtocolError kind) {
        return new TimingFaultProxy(upstream, kind, false);
    }

    /** Never closes a connection whose header did not complete validly. */
    static TimingFaultProxy neverClosing(InetSocketAddress upstream) {
        return new TimingFaultProxy(upstream, null, true);
    }

    InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    private void acceptLoop() {
        while (true) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                return;
            }
            Socket server = new Socket();
            try {
                server.connect(upstream, 2000);
            } catch (IOException e) {
                closeQuietly(client);
                continue;
            }
            open.add(client);
            open.add(server);
            Header header = new Header();
            daemon("timing-proxy-up", () -> clientToServer(client, server, header));
            daemon("timing-proxy-down", () -> serverToClient(server, client, header));
        }
    }

    /** What the proxy has learnt of a connection's request header so far. */
    private static final class Header {
        final ByteBuf seen = Unpooled.buffer();
        volatile boolean complete;
    }

    private void clientToServer(Socket client, Socket server, Header header) {
        byte[] buf = new byte[8192];
        try {
            // Not closed when done: closing a socket's stream closes the socket, and only this direction ends here.
            InputStream in = client.getInputStream();
            OutputStream out = server.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (!header.complete) {
                    header.seen.writeBytes(buf, 0, n);
                    try {
                        header.complete = VlessRequestDecoder.headerLength(header.seen) >= 0;
                    } catch (VlessProtocolException e) {
                        if (e.error() == atOnce) {
                            // The fault: the client learns at once that this check, and no other, failed.
                            closeQuietly(client);
                            closeQuietly(server);
                            return;
                        }
                    }
                }
                out.write(buf, 0, n);
                out.flush();
            }
            server.shutdownOutput();
        } catch (IOException e) {
            closeQuietly(server);
        }
    }

    private void serverToClient(Socket server, Socket client, Header header) {
        byte[] buf = new byte[8192];
        try {
            InputStream in = server.getInputStream();
            OutputStream out = client.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
            }
            if (neverClose && !header.complete) {
                return; // the fault: the server behind gave up on this header, the client never learns it
            }
            client.shutdownOutput();
        } catch (IOException e) {
            if (!(neverClose && !header.complete)) {
                closeQuietly(client);
            }
        }
    }

    private static void daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // best effort
        }
    }

    @Override
    public void close() {
        closeQuietly0(listener);
        for (Socket s : open) {
            closeQuietly(s);
        }
    }

    private static void closeQuietly0(ServerSocket s) {
        try {
            s.close();
        } catch (IOException e) {
            // best effort
        }
    }
}
