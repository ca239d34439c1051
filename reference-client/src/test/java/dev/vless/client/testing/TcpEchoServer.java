// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A TCP server on a loopback address that echoes every connection's bytes and, when the client ends its stream,
 * writes "<bye>" and ends its own: so a test sees each direction's end passed on separately.
 */
public final class TcpEchoServer implements AutoCloseable {

    /** What the server sends after the client's end of stream. */
    public static final String BYE = "<bye>";

    private final ServerSocket server;
    private final Thread acceptor;

    private TcpEchoServer(ServerSocket server) {
        this.server = server;
        this.acceptor = new Thread(this::acceptLoop, "tcp-echo " + server.getLocalSocketAddress());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** An echo server on {@code ip} and an ephemeral port. */
    public static TcpEchoServer bind(String ip) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getByName(ip), 0));
        return new TcpEchoServer(s);
    }

    /** Where it listens. */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    @Override
    public void close() throws IOException {
        server.close();
        UdpPeer.join(acceptor);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> echo(s), "tcp-echo-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void echo(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
                out.flush();
            }
            out.write(BYE.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.flush();
            s.shutdownOutput();
        } catch (IOException e) {
            // the test sees the broken stream
        }
    }
}
