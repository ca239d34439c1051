// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.faulty;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessRequestDecoder;
import dev.vless.codec.VlessVersion;
import dev.vless.server.VlessServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A loopback TCP proxy in front of a reference server that injects one fault. It relays bytes unchanged, each
 * direction's end of stream separately, and a reset as a reset, so that apart from its fault the pair behaves like the
 * server alone; it reads the request header of every connection on the way to know what the connection is.
 *
 * <p>A "crash" makes the pair look like a server process that died: the listener closes first (new connections are
 * refused), then every open connection is reset, and the reference server behind is stopped, so its UDP sockets and
 * NAT state die too. A restart, asked for on the control port, starts a fresh reference server and listens on the same
 * port again.
 *
 * <p>Plain blocking sockets, two threads per connection: the suite opens tens of connections at a time, not
 * thousands, and blocking I/O keeps the relay's own behaviour easy to reason about.
 */
final class FaultInjectingProxy implements AutoCloseable {

    /** The fault. */
    enum Mode {
        /** Crash at the first byte the server sends on a command-2 connection. */
        DIE_ON_FIRST_UDP_REPLY,
        /** Crash at the first client byte that makes a request header bad input. */
        DIE_ON_BAD_HEADER,
        /** Reset a command-2 connection right after relaying its first server frame; keep running. */
        RESET_UDP_AFTER_FIRST_FRAME
    }

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int CONNECT_TIMEOUT_MS = 2000;

    private final Mode mode;
    private final Set<UUID> users;
    private final Supplier<VlessServer> serverStarter;
    // Crash, restart and close hold this throughout, so none of them overlaps another; the accept thread never takes
    // it, so a crash may wait for that thread while holding it.
    private final Object lifecycle = new Object();
    // Guards the listener and the connection registry; held only briefly.
    private final Object lock = new Object();
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger crashes = new AtomicInteger();
    private final AtomicInteger restarts = new AtomicInteger();
    private final AtomicInteger udpResets = new AtomicInteger();
    private final int port;
    private final ServerSocket control;
    private volatile String lastCrashReason;
    private volatile InetSocketAddress upstream;
    // Guarded by lock. A null listener means "down": crashed and not yet restarted.
    private ServerSocket listener;
    private Thread acceptThread;
    private boolean closed;
    // Guarded by lifecycle: the reference server, the "process" behind the port; null while down.
    private VlessServer server;

    /**
     * Starts a reference server with {@code serverStarter} and the proxy in front of it.
     *
     * @param users the server's users: a request with another user ID is bad input
     */
    FaultInjectingProxy(Mode mode, Set<UUID> users, Supplier<VlessServer> serverStarter) {
        this.mode = mode;
        this.users = Set.copyOf(users);
        this.serverStarter = serverStarter;
        server = serverStarter.get();
        upstream = server.localAddress();
        try {
            listener = bind(0);
            port = listener.getLocalPort();
            control = bind(0);
        } catch (IOException e) {
            server.close();
            closeQuietly(listener);
            throw new UncheckedIOException("cannot listen on loopback", e);
        }
        ServerSocket first = listener;
        acceptThread = startThread("faulty-proxy-accept-" + port, () -> acceptLoop(first));
        startThread("faulty-proxy-control-" + port, this::controlLoop);
    }

    /** Where clients connect. */
    InetSocketAddress address() {
        return new InetSocketAddress(LOOPBACK, port);
    }

    /** A shell command that restarts a crashed proxy on the same port and exits 0 once it listens again. */
    String restartCommand() {
        // Waits for the answer, so that a caller may connect as soon as the command has exited (like a service
        // manager's restart, which returns once the service is up).
        return "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + control.getLocalPort()
                + " && echo restart >&3 && read -r -t 10 reply <&3 && [ \"$reply\" = ok ]'";
    }

    int crashes() {
        return crashes.get();
    }

    int restarts() {
        return restarts.get();
    }

    int udpResets() {
        return udpResets.get();
    }

    String lastCrashReason() {
        return lastCrashReason;
    }

    boolean isDown() {
        synchronized (lock) {
            return listener == null;
        }
    }

    @Override
    public void close() {
        synchronized (lifecycle) {
            Thread accepting;
            synchronized (lock) {
                closed = true;
                closeQuietly(listener);
                listener = null;
                accepting = acceptThread;
                closeQuietly(control);
            }
            join(accepting);
            new ArrayList<>(connections).forEach(Connection::reset);
            if (server != null) {
                server.close();
                server = null;
            }
        }
    }

    private static ServerSocket bind(int port) throws IOException {
        ServerSocket ss = new ServerSocket();
        // The restarted listener must get the same port although connections of the old one may be in TIME_WAIT.
        ss.setReuseAddress(true);
        try {
            ss.bind(new InetSocketAddress(LOOPBACK, port), 128);
        } catch (IOException e) {
            ss.close();
            throw e;
        }
        return ss;
    }

    private void acceptLoop(ServerSocket ss) {
        while (true) {
            Socket client;
            try {
                client = ss.accept();
            } catch (IOException e) {
                return; // closed by a crash or close()
            }
            Connection c = new Connection(client);
            synchronized (lock) {
                // Accepted just before a crash closed this listener: the dead process never served it.
                if (listener != ss) {
                    c.reset();
                    continue;
                }
                connections.add(c);
            }
            startThread("faulty-proxy-c2s-" + client.getPort(), c::run);
        }
    }

    private void controlLoop() {
        while (true) {
            try (Socket s = control.accept()) {
                s.setSoTimeout(5000);
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                        StandardCharsets.US_ASCII));
                String line = in.readLine();
                String reply = "restart".equals(line == null ? null : line.trim()) ? restart()
                        : "error: unknown command (expected: restart)";
                OutputStream out = s.getOutputStream();
                out.write((reply + "\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                if (control.isClosed()) {
                    return;
                }
            }
        }
    }

    /** Brings a crashed proxy back: a fresh reference server, the same port. A running one is left alone. */
    private String restart() {
        synchronized (lifecycle) {
            synchronized (lock) {
                if (closed) {
                    return "error: closed";
                }
                if (listener != null) {
                    return "ok";
                }
            }
            try {
                server = serverStarter.get();
                upstream = server.localAddress();
                ServerSocket ss = bindSamePort();
                synchronized (lock) {
                    listener = ss;
                    acceptThread = startThread("faulty-proxy-accept-" + port, () -> acceptLoop(ss));
                }
                restarts.incrementAndGet();
                return "ok";
            } catch (IOException | RuntimeException e) {
                if (server != null) {
                    server.close();
                    server = null;
                }
                return "error: " + e;
            }
        }
    }

    private ServerSocket bindSamePort() throws IOException {
        // While the proxy was down another socket may briefly have taken the port; wait for it rather than move.
        for (int attempt = 0;; attempt++) {
            try {
                return bind(port);
            } catch (BindException e) {
                if (attempt >= 30) {
                    throw e;
                }
                sleep(100);
            }
        }
    }

    /** Dies: refuse from now on, reset every connection, stop the server behind. */
    private void crash(String reason) {
        synchronized (lifecycle) {
            Thread accepting;
            synchronized (lock) {
                if (listener == null || closed) {
                    return; // already down: another connection crashed it
                }
                closeQuietly(listener);
                listener = null;
                accepting = acceptThread;
                lastCrashReason = reason;
            }
            // The listener must be gone before any client sees its connection reset, so that a client that then
            // reconnects is refused. Closing a ServerSocket another thread is blocked in accept() on only marks it:
            // the kernel keeps listening (and completing handshakes) until that thread has left accept().
            join(accepting);
            crashes.incrementAndGet();
            new ArrayList<>(connections).forEach(Connection::reset);
            // Under the lifecycle lock: a restart must not race a server that is still shutting down.
            if (server != null) {
                server.close();
                server = null;
            }
        }
    }

    private static void join(Thread t) {
        if (t == null || t == Thread.currentThread()) {
            return;
        }
        try {
            t.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Thread startThread(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void closeQuietly(java.io.Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }

    /** Closes with a reset (RST) rather than a FIN, as the kernel does for a process that died. */
    static void resetQuietly(Socket s) {
        if (s == null) {
            return;
        }
        try {
            s.setSoLinger(true, 0);
        } catch (IOException e) {
            // already closed
        }
        closeQuietly(s);
    }

    /** One client connection and its connection to the server. */
    private final class Connection {
        private final Socket client;
        private Socket server;
        private boolean clientEnded;
        private boolean serverEnded;
        private boolean finished;
        // Set by the client-to-server thread before it forwards the header's last byte, so it is known before the
        // server can answer.
        private volatile VlessRequest request;

        Connection(Socket client) {
            this.client = client;
        }

        void run() {
            Socket s = new Socket();
            try {
                client.setTcpNoDelay(true);
                s.setTcpNoDelay(true);
                // From the client's own loopback address, so the server sees the client IP it would see without
                // the proxy (NAT contexts are per user and client IP).
                InetAddress from = client.getInetAddress();
                if (from.isLoopbackAddress()) {
                    s.bind(new InetSocketAddress(from, 0));
                }
                s.connect(upstream, CONNECT_TIMEOUT_MS);
            } catch (IOException e) {
                resetQuietly(s);
                reset();
                return;
            }
            synchronized (this) {
                if (finished) {
                    resetQuietly(s);
                    return;
                }
                server = s;
            }
            startThread("faulty-proxy-s2c-" + client.getPort(), this::serverToClient);
            clientToServer();
        }

        private void clientToServer() {
            byte[] buf = new byte[16384];
            HeaderWatch watch = new HeaderWatch();
            try {
                InputStream in = client.getInputStream();
                OutputStream out = server.getOutputStream();
                while (true) {
                    int n = in.read(buf);
                    if (n < 0) {
                        if (mode == Mode.DIE_ON_BAD_HEADER && watch.parsing() && watch.seen() > 0) {
                            crash("the stream ended inside the request header (HDR-12)");
                            return;
                        }
                        server.shutdownOutput();
                        ended(true);
                        return;
                    }
                    if (watch.parsing()) {
                        String bad = watch.feed(buf, n);
                        if (bad != null && mode == Mode.DIE_ON_BAD_HEADER) {
                            crash(bad); // the bad bytes never reach the server: the process died parsing them
                            return;
                        }
                        request = watch.request();
                    }
                    out.write(buf, 0, n);
                }
            } catch (IOException e) {
                reset();
            }
        }

        private void serverToClient() {
            byte[] buf = new byte[65536];
            FirstFrame first = null;
            try {
                InputStream in = server.getInputStream();
                OutputStream out = client.getOutputStream();
                while (true) {
                    int n = in.read(buf);
                    if (n < 0) {
                        client.shutdownOutput();
                        ended(false);
                        return;
                    }
                    VlessRequest r = request;
                    boolean udp = r != null && r.command() == VlessCommand.UDP;
                    if (udp && mode == Mode.DIE_ON_FIRST_UDP_REPLY) {
                        crash("first server byte on a command-2 connection to " + r.address());
                        return;
                    }
                    if (udp && mode == Mode.RESET_UDP_AFTER_FIRST_FRAME) {
                        if (first == null) {
                            first = new FirstFrame(r.version() == VlessVersion.V0);
                        }
                        int end = first.feed(buf, n);
                        if (end >= 0) {
                            out.write(buf, 0, end);
                            out.flush();
                            udpResets.incrementAndGet();
                            reset();
                            return;
                        }
                    }
                    out.write(buf, 0, n);
                }
            } catch (IOException e) {
                reset();
            }
        }

        /** One direction's end of stream has been passed on; once both have, the connection is done. */
        private synchronized void ended(boolean clientSide) {
            if (clientSide) {
                clientEnded = true;
            } else {
                serverEnded = true;
            }
            if (clientEnded && serverEnded && !finished) {
                finished = true;
                closeQuietly(client);
                closeQuietly(server);
                connections.remove(this);
            }
        }

        /** Resets both sides; a reset seen on one side is passed on to the other. */
        synchronized void reset() {
            finished = true;
            resetQuietly(client);
            resetQuietly(server);
            connections.remove(this);
        }
    }

    /** Reads a request header as it arrives and says when it is complete or bad input. */
    private final class HeaderWatch {
        private final byte[] bytes = new byte[VlessRequest.MAX_LENGTH];
        private int length;
        private boolean parsing = true;
        private VlessRequest request;

        boolean parsing() {
            return parsing;
        }

        int seen() {
            return length;
        }

        VlessRequest request() {
            return request;
        }

        /** Takes the next bytes; returns why the header is bad input, or null. */
        String feed(byte[] b, int n) {
            // A header is never longer than MAX_LENGTH, so a verdict comes before the array is full.
            int take = Math.min(n, bytes.length - length);
            System.arraycopy(b, 0, bytes, length, take);
            length += take;
            ByteBuf in = Unpooled.wrappedBuffer(bytes, 0, length);
            try {
                int headerLength = VlessRequestDecoder.headerLength(in);
                // The user is known as soon as its 16 bytes are in, before the rest of the header.
                if (length >= 17) {
                    ByteBuffer id = ByteBuffer.wrap(bytes, 1, 16);
                    UUID user = new UUID(id.getLong(), id.getLong());
                    if (!users.contains(user)) {
                        parsing = false;
                        return "unknown user ID " + user + " (HDR-3)";
                    }
                }
                if (headerLength < 0) {
                    return null;
                }
                parsing = false;
                request = VlessRequestDecoder.decode(in);
                if (request.command() == VlessCommand.MUX) {
                    // The reference server refuses Mux exactly like an unknown command (HDR-7): bad input too.
                    return "command 3 (Mux), refused like an unknown command (HDR-7)";
                }
                return null;
            } catch (VlessProtocolException | IllegalArgumentException e) {
                parsing = false;
                return e.getMessage();
            } finally {
                in.release();
            }
        }
    }

    /** Finds where the server's first frame ends, after v0's response header if there is one. */
    private static final class FirstFrame {
        private enum Phase { V0_VERSION, V0_ADDONS_LENGTH, V0_ADDONS, LENGTH_HIGH, LENGTH_LOW, PAYLOAD }

        private Phase phase;
        private int remaining;

        FirstFrame(boolean v0) {
            phase = v0 ? Phase.V0_VERSION : Phase.LENGTH_HIGH;
        }

        /** Consumes {@code n} bytes; returns how many of them end the first frame, or -1 if it goes on. */
        int feed(byte[] b, int n) {
            int i = 0;
            while (i < n) {
                switch (phase) {
                    case V0_VERSION:
                        phase = Phase.V0_ADDONS_LENGTH;
                        i++;
                        break;
                    case V0_ADDONS_LENGTH:
                        remaining = b[i++] & 0xff;
                        phase = remaining == 0 ? Phase.LENGTH_HIGH : Phase.V0_ADDONS;
                        break;
                    case V0_ADDONS:
                        int skip = Math.min(remaining, n - i);
                        i += skip;
                        remaining -= skip;
                        if (remaining == 0) {
                            phase = Phase.LENGTH_HIGH;
                        }
                        break;
                    case LENGTH_HIGH:
                        remaining = (b[i++] & 0xff) << 8;
                        phase = Phase.LENGTH_LOW;
                        break;
                    case LENGTH_LOW:
                        remaining |= b[i++] & 0xff;
                        if (remaining == 0) {
                            return i; // an empty datagram is a whole frame (UDP-2)
                        }
                        phase = Phase.PAYLOAD;
                        break;
                    case PAYLOAD:
                        int take = Math.min(remaining, n - i);
                        i += take;
                        remaining -= take;
                        if (remaining == 0) {
                            return i;
                        }
                        break;
                    default:
                        throw new AssertionError(phase);
                }
            }
            return -1;
        }
    }
}
