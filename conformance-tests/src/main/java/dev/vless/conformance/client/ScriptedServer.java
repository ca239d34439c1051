// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessRequestDecoder;
import dev.vless.codec.VlessVersion;
import dev.vless.conformance.WireLog;
import dev.vless.server.internal.TlsContexts;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * The VLESS server the client conformance harness points a client at: a small v1 server on blocking sockets that does
 * by default what §9–§12 and §23 say (0x14, one NAT context per user with one UDP socket, command-2 frames, UMFURS for
 * remotes nobody has a connection to, UDP-MUX with 0x15), serves v0 requests with a response header, relays command 1
 * to its target, and records everything the client sends. A case changes its answers through {@link ServerScript}
 * and speaks on any connection itself through {@link ServerConnection}.
 *
 * <p>It is not under test and need not be fast; it must be exact about what it saw and when.
 */
public final class ScriptedServer implements AutoCloseable {

    /**
     * A datagram the client asked the server to send (a command-2 or a UDP-MUX frame), as the server took it;
     * {@code addressType} is the MUX frame's (1, 2 or 3; 0 for command 2), {@code destinationName} the name of a
     * type-2 frame or the request's host.
     */
    public record ClientDatagram(ServerConnection via, InetSocketAddress destination, String destinationName,
            byte[] payload, long nanos, int addressType) {
        /** "command 2" or "UDP-MUX". */
        public String path() {
            return via.is(VlessCommand.UDP_MUX) ? "UDP-MUX" : "command 2";
        }
    }

    private final ServerSocket listener;
    private final boolean tls;
    private final SSLContext pinned;
    private final SSLContext stranger;
    private final X509Certificate certificate;
    private final String serverName = "localhost";
    private final AtomicInteger ids = new AtomicInteger();
    private final List<ServerConnection> connections = new CopyOnWriteArrayList<>();
    private final List<ClientDatagram> datagrams = new CopyOnWriteArrayList<>();
    private final Map<UUID, Context> contexts = new ConcurrentHashMap<>();
    private volatile ServerScript script = new ServerScript();
    private volatile WireLog log = new WireLog();
    private volatile boolean closed;

    private ScriptedServer(ServerSocket listener, boolean tls) throws GeneralSecurityException, IOException {
        this.listener = listener;
        this.tls = tls;
        TlsContexts.SelfSigned mine = TlsContexts.selfSigned(serverName);
        this.certificate = mine.certificate();
        this.pinned = tls ? context(mine) : null;
        // The same name, another key: what a client that checks nothing would accept from an impostor.
        this.stranger = tls ? context(TlsContexts.selfSigned(serverName)) : null;
        Thread t = new Thread(this::acceptLoop, "scripted-server-accept");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Starts a server on {@code bind} ({@code port} 0: any free one), over TLS with a fresh self-signed certificate for
     * "localhost" that {@link #link} pins, or plaintext.
     */
    public static ScriptedServer start(InetAddress bind, int port, boolean tls) throws IOException {
        ServerSocket s = new ServerSocket(port, 128, bind);
        try {
            return new ScriptedServer(s, tls);
        } catch (GeneralSecurityException e) {
            s.close();
            throw new IOException("cannot make the scripted server's certificate: " + e.getMessage(), e);
        }
    }

    private static SSLContext context(TlsContexts.SelfSigned material) throws GeneralSecurityException, IOException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] pw = "scripted".toCharArray();
        ks.setKeyEntry("server", material.keys().getPrivate(), pw, new Certificate[] {material.certificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    /** Where it listens. */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    /** Whether it speaks TLS. */
    public boolean tls() {
        return tls;
    }

    /** The share link a client of {@code user} uses: TLS with the certificate pinned ({@code pcs}), or plaintext. */
    public String link(UUID user) {
        InetSocketAddress a = address();
        String host = a.getAddress().getHostAddress();
        return "vless://" + user + "@" + host + ":" + a.getPort() + "?encryption=none&type=tcp"
                + (tls ? "&security=tls&sni=" + serverName + "&pcs=" + pin() : "&security=none")
                + "#vless-conformance";
    }

    /** The SHA-256 of the certificate, hex: the link's pin. */
    public String pin() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The certificate as PEM, for clients that trust a CA file rather than a pin. */
    public String certificatePem() {
        try {
            return "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                    .encodeToString(certificate.getEncoded()) + "\n-----END CERTIFICATE-----\n";
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Before a case: closes every connection, forgets every record, installs a fresh script and the case's wire log.
     * NAT contexts (their UDP sockets) are kept: an address the client learnt stays valid, as on a real server.
     */
    public ServerScript reset(WireLog caseLog) {
        return reset(caseLog, false);
    }

    /**
     * {@link #reset(WireLog)}, but with {@code keepOpen} the client's open CRUMFURS and UDP-MUX connections stay, with
     * their records, and go on in the new case: a client the harness cannot restart keeps them from case to case, as
     * it would in use (command-1 and command-2 connections are closed; a client dials them again when it needs them).
     */
    public ServerScript reset(WireLog caseLog, boolean keepOpen) {
        for (ServerConnection c : connections) {
            boolean longLived = c.is(VlessCommand.CRUMFURS) || c.is(VlessCommand.UDP_MUX);
            if (keepOpen && longLived && !c.ended() && !c.closedByServer()) {
                c.moveTo(caseLog);
                caseLog.note("still open from an earlier case: " + c.label());
            } else {
                c.close();
                connections.remove(c);
            }
        }
        datagrams.clear();
        this.log = caseLog;
        this.script = new ServerScript();
        return script;
    }

    /** The script in force. */
    public ServerScript script() {
        return script;
    }

    /** Every connection since the last reset, in the order accepted. */
    public List<ServerConnection> connections() {
        return List.copyOf(connections);
    }

    /** Every datagram the client sent through the server since the last reset, in order. */
    public List<ClientDatagram> datagrams() {
        return List.copyOf(datagrams);
    }

    /** The first connection (in accept order) that matches, waiting up to {@code timeout}; {@code null} if none. */
    public ServerConnection await(Predicate<ServerConnection> p, Duration timeout) throws InterruptedException {
        return awaitFirst(connections, p, timeout);
    }

    /** The first datagram (in order) that matches, waiting up to {@code timeout}; {@code null} if none. */
    public ClientDatagram awaitDatagram(Predicate<ClientDatagram> p, Duration timeout) throws InterruptedException {
        return awaitFirst(datagrams, p, timeout);
    }

    /** The first of {@code records} that matches, looked for again on every change, until {@code timeout}. */
    private synchronized <T> T awaitFirst(List<T> records, Predicate<T> p, Duration timeout)
            throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (T r : records) {
                if (p.test(r)) {
                    return r;
                }
            }
            long left = until - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            wait(Math.max(1, Math.min(50, left / 1_000_000)));
        }
    }

    /** The UDP address the context of {@code user} sends from (its external address), opening it if needed. */
    public InetSocketAddress externalAddress(UUID user) throws SocketException {
        return context(user).address();
    }

    private synchronized void changed() {
        notifyAll();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                return;
            }
            ServerConnection c;
            try {
                s.setTcpNoDelay(true);
                Socket used = s;
                if (tls) {
                    SSLContext ctx = script.strangerCertificate ? stranger : pinned;
                    SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket(s, null, s.getPort(), true);
                    ssl.setUseClientMode(false);
                    used = ssl;
                }
                c = new ServerConnection(ids.incrementAndGet(), used, log);
            } catch (IOException e) {
                closeQuietly(s);
                continue;
            }
            connections.add(c);
            changed();
            Thread t = new Thread(() -> serve(c), "scripted-server-" + c.id);
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(ServerConnection c) {
        WireLog l = log;
        try {
            if (c.socket instanceof SSLSocket ssl) {
                try {
                    ssl.startHandshake();
                    c.tlsProtocol = ssl.getSession().getProtocol();
                } catch (IOException e) {
                    c.tlsFailure = e.getClass().getSimpleName() + ": " + e.getMessage();
                    l.note("server connection " + c.id + ": the TLS handshake failed: " + c.tlsFailure);
                    // Anything after a failed handshake would be another attempt; record whether bytes came at all.
                    c.markEnded();
                    return;
                }
            }
            InputStream in = c.socket.getInputStream();
            if (!readHeader(c, in, l)) {
                return;
            }
            VlessRequest r = c.request;
            switch (r.command()) {
                case TCP -> serveTcp(c, in, l);
                case UDP -> serveUdp(c, in);
                case CRUMFURS -> serveAnswered(c, in, script.crumfurs, script.crumfursDelay, 0x14, false);
                case UDP_MUX -> serveAnswered(c, in, script.mux, script.muxDelay, 0x15, true);
                default -> {
                    l.note("server " + c.label() + ": a command the harness does not serve; closed");
                    c.close();
                }
            }
        } catch (IOException e) {
            // the client went away: recorded below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            c.markEnded();
            changed();
            Context ctx = c.request == null ? null : contexts.get(c.request.user());
            if (ctx != null) {
                ctx.members.remove(c);
            }
        }
    }

    /** Reads until a whole header (or bad input, or EOF); true with {@code c.request} set. */
    private boolean readHeader(ServerConnection c, InputStream in, WireLog l) throws IOException {
        byte[] buf = new byte[VlessRequest.MAX_LENGTH];
        int n = 0;
        while (true) {
            int got = in.read(buf, n, 1); // a byte at a time: what follows the header stays in the stream
            if (got < 0) {
                l.note("server connection " + c.id + ": the client ended after " + n + " bytes of header: "
                        + WireLog.hex(buf, 0, n));
                c.headerError = n == 0 ? "no byte" : "ended after " + n + " bytes of header";
                return false;
            }
            n += got;
            ByteBuf b = Unpooled.wrappedBuffer(buf, 0, n);
            try {
                int len = VlessRequestDecoder.headerLength(b);
                if (len < 0) {
                    if (n == buf.length) {
                        throw new IllegalArgumentException("header longer than any valid one");
                    }
                    continue;
                }
                VlessRequest r = VlessRequestDecoder.decode(b);
                byte[] header = new byte[len];
                System.arraycopy(buf, 0, header, 0, len);
                c.header = header;
                c.request = r;
                c.headerNanos = System.nanoTime();
                l.received("server connection " + c.id + " header", header, 0, len);
                changed();
                return true;
            } catch (VlessProtocolException | IllegalArgumentException e) {
                c.headerError = e.getMessage();
                c.header = java.util.Arrays.copyOf(buf, n);
                l.received("server connection " + c.id + " bad header (" + e.getMessage() + ")", buf, 0, n);
                c.close();
                changed();
                return false;
            }
        }
    }

    /** v0 answers every request with a response header (RSP-2); the script may add addons. */
    private void v0Response(ServerConnection c) throws IOException {
        if (c.isV0()) {
            byte[] addons = script.v0Addons;
            byte[] h = new byte[2 + addons.length];
            h[1] = (byte) addons.length;
            System.arraycopy(addons, 0, h, 2, addons.length);
            c.write(h);
        }
    }

    private void serveTcp(ServerConnection c, InputStream in, WireLog l) throws IOException {
        if (!script.tcpRelay) {
            pump(c, in);
            return;
        }
        VlessAddress a = c.request.address();
        Socket target = new Socket();
        try {
            target.connect(new InetSocketAddress(InetAddress.getByName(a.host()), a.port()), 3000);
        } catch (IOException e) {
            l.note("server " + c.label() + ": cannot reach the target (" + e.getMessage() + "); closed without a byte");
            closeQuietly(target);
            c.close();
            return;
        }
        v0Response(c);
        Thread back = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (InputStream tin = target.getInputStream()) {
                int n;
                while ((n = tin.read(buf)) >= 0) {
                    c.write(java.util.Arrays.copyOf(buf, n));
                }
                c.shutdownOutput();
            } catch (IOException e) {
                c.close();
            }
        }, "scripted-server-tcp-back-" + c.id);
        back.setDaemon(true);
        back.start();
        byte[] buf = new byte[16384];
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                c.addTcp(buf, n);
                l.received("server " + c.label(), buf, 0, n);
                target.getOutputStream().write(buf, 0, n);
            }
            l.note("server " + c.label() + ": the client ended its side (FIN); passed on to the target");
            c.markEnded();
            changed();
            target.shutdownOutput();
            back.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeQuietly(target);
            c.close();
        }
    }

    /** Reads TCP bytes into the record until the client ends; the case answers. */
    private void pump(ServerConnection c, InputStream in) throws IOException {
        v0Response(c);
        byte[] buf = new byte[16384];
        int n;
        while ((n = in.read(buf)) >= 0) {
            c.addTcp(buf, n);
            log.received("server " + c.label(), buf, 0, n);
            changed();
        }
        log.note("server " + c.label() + ": the client ended its side (FIN)");
    }

    private void serveUdp(ServerConnection c, InputStream in) throws IOException {
        Context ctx = context(c.request.user());
        VlessAddress a = c.request.address();
        InetSocketAddress target;
        try {
            target = new InetSocketAddress(VlessAddress.canonical(InetAddress.getByName(a.host())), a.port());
        } catch (IOException e) {
            log.note("server " + c.label() + ": cannot resolve the target; closed without a byte");
            c.close();
            return;
        }
        v0Response(c);
        ctx.members.add(c);
        DataInputStream d = new DataInputStream(in);
        while (true) {
            int len;
            try {
                len = d.readUnsignedShort();
            } catch (EOFException e) {
                return;
            }
            byte[] payload = d.readNBytes(len);
            if (payload.length < len) {
                return;
            }
            c.addFrame(payload);
            datagrams.add(new ClientDatagram(c, target, a.host(), payload, System.nanoTime(), 0));
            changed();
            log.note("server " + c.label() + " frame of " + len + " B: " + WireLog.hex(payload));
            ctx.send(target, payload);
        }
    }

    /** CRUMFURS and UDP-MUX: the scripted answer, then UMFURS / frames out and (MUX) frames in. */
    private void serveAnswered(ServerConnection c, InputStream in, ServerScript.Answer answer, Duration delay, int ack,
            boolean mux) throws IOException, InterruptedException {
        if (!delay.isZero()) {
            in = readWhileDelayed(c, in, delay);
            if (in == null) {
                return;
            }
        }
        Context ctx = context(c.request.user());
        switch (answer) {
            case ACK -> {
                byte[] extra = mux ? script.afterMuxAck : new byte[0];
                byte[] out = new byte[1 + extra.length];
                out[0] = (byte) ack;
                System.arraycopy(extra, 0, out, 1, extra.length);
                // Joined before the byte goes out, so that nothing sent the moment the client reads it is lost.
                ctx.members.add(c);
                c.answeredNanos = System.nanoTime();
                c.write(out);
                changed();
            }
            case NONE -> log.note("server " + c.label() + ": no answer (scripted)");
            case CLOSE -> {
                c.close();
                return;
            }
            case WRONG_BYTE -> c.write(new byte[] {(byte) script.wrongByte});
            default -> throw new AssertionError(answer);
        }
        if (!mux) {
            byte[] buf = new byte[4096];
            int n;
            while ((n = in.read(buf)) >= 0) {
                log.received("server " + c.label() + " (discarded)", buf, 0, n);
            }
            return;
        }
        DataInputStream d = new DataInputStream(in);
        while (true) {
            int type;
            try {
                type = d.readUnsignedByte();
            } catch (EOFException e) {
                return;
            }
            String name;
            String domain = null;
            InetAddress ip = null;
            switch (type) {
                case 1 -> ip = InetAddress.getByAddress(d.readNBytes(4));
                case 3 -> ip = InetAddress.getByAddress(d.readNBytes(16));
                case 2 -> {
                    byte[] host = d.readNBytes(d.readUnsignedByte());
                    domain = new String(host, StandardCharsets.US_ASCII);
                    ip = InetAddress.getByName(domain);
                }
                default -> {
                    log.note("server " + c.label() + ": a frame with address type " + type + "; closed (MUX-11)");
                    c.close();
                    return;
                }
            }
            name = domain != null ? domain : ip.getHostAddress();
            int port = d.readUnsignedShort();
            int len = d.readUnsignedShort();
            byte[] payload = d.readNBytes(len);
            if (payload.length < len) {
                return;
            }
            InetSocketAddress to = new InetSocketAddress(VlessAddress.canonical(ip), port);
            log.note("server " + c.label() + " frame (type " + type + (domain != null ? " \"" + domain + "\"" : "")
                    + ") to " + to + " of " + len + " B: " + WireLog.hex(payload));
            if (port == 0) {
                continue; // MUX-10: a no-op
            }
            c.lastSentTo.add(to);
            datagrams.add(new ClientDatagram(c, to, name, payload, System.nanoTime(), type));
            changed();
            ctx.send(to, payload);
        }
    }

    /**
     * Waits out a scripted delay before the answer while reading: bytes the client sends before it has the answer are
     * recorded ({@link ServerConnection#earlyBytes}, MUX-4) and then read again as what follows the answer. Returns
     * the stream to go on with, or {@code null} when the client ended meanwhile.
     */
    private InputStream readWhileDelayed(ServerConnection c, InputStream in, Duration delay) throws IOException {
        long until = System.nanoTime() + delay.toNanos();
        java.io.ByteArrayOutputStream early = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        try {
            while (true) {
                long left = (until - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    break;
                }
                c.socket.setSoTimeout((int) Math.max(1, left));
                int n;
                try {
                    n = in.read(buf);
                } catch (java.net.SocketTimeoutException e) {
                    break;
                }
                if (n < 0) {
                    log.note("server " + c.label() + ": the client ended before the answer");
                    return null;
                }
                early.write(buf, 0, n);
                c.addEarly(buf, n);
                log.received("server " + c.label() + " before the answer", buf, 0, n);
                changed();
            }
        } finally {
            c.socket.setSoTimeout(0);
        }
        return early.size() == 0 ? in
                : new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(early.toByteArray()), in);
    }

    private Context context(UUID user) throws SocketException {
        try {
            return contexts.computeIfAbsent(user, u -> {
                try {
                    return new Context();
                } catch (SocketException e) {
                    throw new IllegalStateException(e);
                }
            });
        } catch (IllegalStateException e) {
            throw (SocketException) e.getCause();
        }
    }

    /** A NAT context: one UDP socket, endpoint-independent both ways (a full cone), and its connections. */
    private final class Context {
        final DatagramSocket socket;
        final List<ServerConnection> members = new CopyOnWriteArrayList<>();

        Context() throws SocketException {
            socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread t = new Thread(this::receive, "scripted-server-context");
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return (InetSocketAddress) socket.getLocalSocketAddress();
        }

        void send(InetSocketAddress to, byte[] payload) {
            try {
                socket.send(new DatagramPacket(payload, payload.length, to));
            } catch (IOException e) {
                log.note("server context " + address() + ": cannot send to " + to + ": " + e.getMessage());
            }
        }

        private void receive() {
            byte[] buf = new byte[65536];
            while (!closed) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    socket.receive(p);
                } catch (IOException e) {
                    return;
                }
                InetSocketAddress from = VlessAddress.canonical((InetSocketAddress) p.getSocketAddress());
                byte[] payload = java.util.Arrays.copyOf(p.getData(), p.getLength());
                deliver(from, payload);
            }
        }

        /** DLV-1, MUX-17, MUX-18, DLV-2: command 2 to X, the MUX that last sent to X, the newest MUX, CRUMFURS. */
        private void deliver(InetSocketAddress from, byte[] payload) {
            WireLog l = log;
            ServerConnection to = null;
            List<ServerConnection> open = new ArrayList<>();
            for (ServerConnection m : members) {
                if (!m.ended() && !m.closedByServer()) {
                    open.add(m);
                }
            }
            for (ServerConnection m : open) {
                if (m.is(VlessCommand.UDP) && sameTarget(m, from)) {
                    to = m;
                }
            }
            if (to == null) {
                for (ServerConnection m : open) {
                    if (m.is(VlessCommand.UDP_MUX) && m.lastSentTo.contains(from)) {
                        to = m;
                    }
                }
            }
            if (to == null) {
                for (ServerConnection m : open) {
                    if (m.is(VlessCommand.UDP_MUX)) {
                        to = m;
                    }
                }
            }
            if (to == null) {
                for (ServerConnection m : open) {
                    if (m.is(VlessCommand.CRUMFURS)) {
                        to = m;
                    }
                }
            }
            try {
                if (to == null) {
                    l.note("server context " + address() + ": a datagram from " + from + " for no connection; dropped");
                } else if (to.is(VlessCommand.UDP)) {
                    to.sendFrame(payload);
                } else {
                    to.sendUmfurs(from, payload); // a UMFURS and a server's MUX frame share the layout (MUX-7)
                }
            } catch (IOException e) {
                l.note("server " + to.label() + ": cannot write: " + e.getMessage());
            }
        }

        private boolean sameTarget(ServerConnection m, InetSocketAddress from) {
            VlessAddress a = m.request.address();
            if (a.port() != from.getPort()) {
                return false;
            }
            try {
                return VlessAddress.canonical(InetAddress.getByName(a.host())).equals(from.getAddress());
            } catch (IOException e) {
                return false;
            }
        }

        void close() {
            socket.close();
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(listener);
        for (ServerConnection c : connections) {
            c.close();
        }
        for (Context c : contexts.values()) {
            c.close();
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
