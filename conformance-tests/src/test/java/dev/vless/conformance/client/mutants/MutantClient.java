// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.mutants;

import dev.vless.codec.VlessAddress;
import dev.vless.conformance.client.ClientLauncher;
import dev.vless.conformance.client.RunningClient;
import dev.vless.link.ShareLink;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import jdk.net.ExtendedSocketOptions;

/**
 * A small VLESS v1 client on blocking JDK sockets, correct with {@link ClientFault#CLEAN} and wrong in exactly one way
 * otherwise: the client the client-conformance suite's own tests check, to show that each case catches the bug it is
 * about. It has a SOCKS5 front (RFC 1928: no authentication, CONNECT, UDP ASSOCIATE) and uses the per-remote UDP mode:
 * on the first datagram it opens CRUMFURS to the server and waits for 0x14 (CRF-5), then keeps one command-2 connection
 * per remote (CLI-1), closed after the idle time (CLI-3); datagrams from CRUMFURS reach the application labelled with
 * their UMFURS source (CLI-2). A closed CRUMFURS is re-opened after 1 s, 2 s, 4 s ... 60 s (CRF-7). TLS is checked
 * against the link's {@code pcs} pin, or the JDK's trusted CAs and the server name without one (TLS-3).
 *
 * <p>In its UDP-MUX mode (§23) it opens one command-5 connection on the first UDP need instead, waits up to 5 s for
 * 0x15 (MUX-4) and carries every datagram of every association as a frame on it; frames from the server go to the
 * association that last sent to their source, else the last sender (MUX-23). End of stream, another byte or no answer
 * mean the mode is unavailable: the datagrams go per remote, and the mode is not asked for again for 10 minutes
 * (MUX-5, MUX-6). A MUX connection closed after 0x15 is re-opened with the back-off of CRUMFURS (MUX-24).
 *
 * <p>It only ever connects to loopback addresses: every dial checks that, so no fault can send traffic elsewhere.
 */
public final class MutantClient implements RunningClient {

    static final Duration DEFAULT_IDLE = Duration.ofSeconds(60);
    private static final int ACK_TIMEOUT_MILLIS = 5_000;
    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    private static final long MIN_BACKOFF_MILLIS = 1_000;
    private static final long MAX_BACKOFF_MILLIS = 60_000;
    /** NO_BACKOFF's "at once": short enough to break CRF-7 plainly, long enough not to spin on a dead server. */
    private static final long NO_BACKOFF_MILLIS = 10;
    private static final byte CRUMFURS_ESTABLISHED = 0x14;
    private static final int CMD_TCP = 1;
    private static final int CMD_UDP = 2;
    private static final int CMD_CRUMFURS = 4;
    private static final int CMD_UDP_MUX = 5;
    private static final int MUX_ESTABLISHED = 0x15;
    /** MUX-6: how long the per-remote path is kept after UDP-MUX was found unavailable. */
    private static final long MUX_MEMORY_NANOS = TimeUnit.MINUTES.toNanos(10);
    /** Datagrams held while a MUX connection is (re-)opened; beyond that they are dropped, as by a full buffer. */
    private static final int MUX_QUEUE_LIMIT = 256;

    private final ClientFault fault;
    private final ShareLink link;
    private final InetSocketAddress server;
    private final SSLSocketFactory tls;
    private final ServerSocket front;
    private final long idleMillis;
    private final ScheduledExecutorService timer;
    private final Set<Closeable> open = ConcurrentHashMap.newKeySet();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private volatile boolean closed;
    private volatile String exited;

    // CRUMFURS state, guarded by crumfursLock.
    private final Object crumfursLock = new Object();
    private boolean crumfursStarted;
    /** Some CRUMFURS was acknowledged: from then on command 2 may go out (CRF-5 is about the first one). */
    private volatile boolean acknowledged;
    /** CRUMFURS_TO_TARGET's conclusion after its misdirected attempt failed. */
    private volatile boolean crumfursUnsupported;
    private long establishedAt;
    private long nextDelayMillis = MIN_BACKOFF_MILLIS;

    // UDP flows: one command-2 connection per remote, shared by every association (the server has one NAT context).
    private final Map<InetSocketAddress, Flow> flows = new ConcurrentHashMap<>();
    /** CONNECTION_PER_DATAGRAM's connections, which no map holds. */
    private final Set<Flow> strayFlows = ConcurrentHashMap.newKeySet();
    /** Which association last sent to a remote: its datagrams go there. Keys are the remotes ever dialed. */
    private final Map<InetSocketAddress, Association> claims = new ConcurrentHashMap<>();
    private volatile Association lastSender;

    // UDP-MUX state, guarded by muxLock.
    private final boolean mux;
    private final Object muxLock = new Object();
    /** Where frames go now: an acknowledged connection (with MUX_FRAME_BEFORE_ACK, one just requested). */
    private MuxConnection muxConnection;
    /** A MUX connection is being opened, or waits to be re-opened: datagrams queue meanwhile. */
    private boolean muxPending;
    private final ArrayDeque<Queued> muxQueue = new ArrayDeque<>();
    /** When UDP-MUX was last found unavailable (System.nanoTime), or 0: the per-remote path until 10 min later. */
    private long muxUnavailableAt;
    private long muxEstablishedAt;
    private long muxNextDelayMillis = MIN_BACKOFF_MILLIS;

    private record Queued(Association from, InetSocketAddress dest, byte[] payload) {
    }

    private MutantClient(ClientFault fault, ShareLink link, InetSocketAddress socks, Duration idle, boolean mux)
            throws IOException {
        this.fault = fault;
        this.mux = mux || fault.mux();
        this.link = link;
        this.server = link.address();
        this.idleMillis = idle.toMillis();
        this.tls = link.tls() ? sslFactory() : null;
        this.front = new ServerSocket();
        front.setReuseAddress(true);
        front.bind(socks);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mutant-timer");
            t.setDaemon(true);
            return t;
        });
        long sweep = Math.max(100, Math.min(5_000, idleMillis / 4));
        timer.scheduleAtFixedRate(this::closeIdleFlows, sweep, sweep, TimeUnit.MILLISECONDS);
        spawn("mutant-accept", this::acceptLoop);
        log("started (" + fault + (this.mux ? ", UDP-MUX mode" : "") + "), SOCKS5 on " + front.getLocalSocketAddress()
                + ", server " + server);
    }

    /** A launcher for clients with {@code fault} and the default idle time of 60 s. */
    public static ClientLauncher launcher(ClientFault fault) {
        return launcher(fault, DEFAULT_IDLE);
    }

    /** A launcher for clients with {@code fault} that close command-2 connections idle for {@code idle}. */
    public static ClientLauncher launcher(ClientFault fault, Duration idle) {
        return launcher(fault, idle, false);
    }

    /**
     * A launcher for clients with {@code fault}, in the UDP-MUX mode if {@code mux} (a MUX fault implies it), else
     * per remote; command-2 connections idle for {@code idle} are closed.
     */
    public static ClientLauncher launcher(ClientFault fault, Duration idle, boolean mux) {
        return new ClientLauncher() {
            @Override
            public RunningClient start(String link, InetSocketAddress socks) throws IOException {
                return MutantClient.start(fault, link, socks, idle, mux);
            }

            @Override
            public String description() {
                return "mutant client (" + fault + (mux || fault.mux() ? ", UDP-MUX" : "") + ")";
            }
        };
    }

    /** Starts a client in the per-remote UDP mode (unless {@code fault} is a MUX fault). */
    public static MutantClient start(ClientFault fault, String link, InetSocketAddress socks, Duration idle)
            throws IOException {
        return start(fault, link, socks, idle, false);
    }

    /** Starts a client; it accepts SOCKS5 connections when this returns. */
    public static MutantClient start(ClientFault fault, String link, InetSocketAddress socks, Duration idle,
            boolean mux) throws IOException {
        ShareLink parsed;
        try {
            parsed = ShareLink.parse(link);
        } catch (IllegalArgumentException e) {
            throw new IOException("bad link: " + e.getMessage(), e);
        }
        return new MutantClient(fault, parsed, socks, idle, mux);
    }

    public ClientFault fault() {
        return fault;
    }

    @Override
    public InetSocketAddress socks() {
        return (InetSocketAddress) front.getLocalSocketAddress();
    }

    @Override
    public String exited() {
        return exited;
    }

    @Override
    public String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        timer.shutdownNow();
        quietly(front);
        for (Closeable c : open.toArray(new Closeable[0])) {
            quietly(c);
        }
        // Every thread blocks on a socket just closed; give them a moment to go.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (Thread t : threads.toArray(new Thread[0])) {
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        log("closed");
    }

    // ---- SOCKS5 front -------------------------------------------------------------------------------------------

    private void acceptLoop() {
        while (!closed) {
            Socket app;
            try {
                app = track(front.accept());
            } catch (IOException e) {
                if (!closed) {
                    exited = "SOCKS5 listener failed: " + e;
                    log(exited);
                }
                return;
            }
            spawn("mutant-socks-" + app.getPort(), () -> serveSocks(app));
        }
    }

    private void serveSocks(Socket app) {
        try {
            DataInputStream in = new DataInputStream(new BufferedInputStream(app.getInputStream()));
            OutputStream out = app.getOutputStream();
            if (in.readUnsignedByte() != 5) {
                return;
            }
            byte[] methods = in.readNBytes(in.readUnsignedByte());
            if (!contains(methods, (byte) 0)) {
                out.write(new byte[] {5, (byte) 0xff});
                return;
            }
            out.write(new byte[] {5, 0});
            if (in.readUnsignedByte() != 5) {
                return;
            }
            int command = in.readUnsignedByte();
            in.readUnsignedByte();
            InetSocketAddress dest = readSocksAddress(in);
            switch (command) {
                case 1 -> connect(app, in, out, dest);
                case 3 -> associate(app, in, out, dest);
                default -> reply(out, 7, null);
            }
        } catch (IOException e) {
            log("SOCKS5 connection from " + app.getRemoteSocketAddress() + ": " + e);
        } finally {
            quietly(app);
        }
    }

    /** CONNECT: a command-1 connection, each direction's end of stream passed on by itself (CLI-5). */
    private void connect(Socket app, InputStream in, OutputStream out, InetSocketAddress dest) throws IOException {
        Socket up;
        try {
            up = dial(server);
            up.getOutputStream().write(request(CMD_TCP, dest));
            up.getOutputStream().flush();
        } catch (IOException e) {
            log("CONNECT " + dest + ": " + e);
            reply(out, 1, null);
            return;
        }
        try {
            reply(out, 0, null);
            Thread upward = spawn("mutant-tcp-up", () -> {
                try {
                    in.transferTo(up.getOutputStream());
                    up.getOutputStream().flush();
                    up.shutdownOutput();
                } catch (IOException | UnsupportedOperationException e) {
                    quietly(up);
                    quietly(app);
                }
            });
            try {
                up.getInputStream().transferTo(out);
                app.shutdownOutput();
            } catch (IOException e) {
                quietly(up);
                quietly(app);
            }
            upward.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            quietly(up);
        }
    }

    /** UDP ASSOCIATE: a relay socket on the listener's IP, alive as long as the control connection. */
    private void associate(Socket app, InputStream in, OutputStream out, InetSocketAddress hint) throws IOException {
        InetAddress ip = front.getInetAddress().isAnyLocalAddress() ? app.getLocalAddress() : front.getInetAddress();
        Association a = new Association(app.getInetAddress(), track(new DatagramSocket(new InetSocketAddress(ip, 0))));
        if (hint.getAddress() != null && !hint.getAddress().isAnyLocalAddress() && hint.getPort() != 0) {
            a.application = hint;
        }
        try {
            reply(out, 0, (InetSocketAddress) a.socket.getLocalSocketAddress());
            spawn("mutant-udp-" + a.socket.getLocalPort(), a::relayFromApplication);
            while (in.read() >= 0) {
                // RFC 1928: the association ends with its TCP connection; nothing is expected on it.
            }
        } finally {
            a.close();
        }
    }

    private static InetSocketAddress readSocksAddress(DataInputStream in) throws IOException {
        int type = in.readUnsignedByte();
        InetSocketAddress a;
        switch (type) {
            case 1, 4 -> {
                InetAddress ip = InetAddress.getByAddress(in.readNBytes(type == 1 ? 4 : 16));
                a = new InetSocketAddress(ip, in.readUnsignedShort());
            }
            case 3 -> {
                String host = new String(in.readNBytes(in.readUnsignedByte()), StandardCharsets.US_ASCII);
                a = InetSocketAddress.createUnresolved(host, in.readUnsignedShort());
            }
            default -> throw new ProtocolException("SOCKS5 address type " + type);
        }
        return a.isUnresolved() ? a : VlessAddress.canonical(a);
    }

    private static void reply(OutputStream out, int code, InetSocketAddress bound) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(new byte[] {5, (byte) code, 0});
        writeSocksAddress(b, bound != null ? bound : new InetSocketAddress(InetAddress.getByAddress(new byte[4]), 0));
        out.write(b.toByteArray());
        out.flush();
    }

    /** ATYP ADDR PORT as SOCKS5 numbers them (3 is a domain, 4 IPv6: not VLESS's numbers, ADR-4's note). */
    private static void writeSocksAddress(ByteArrayOutputStream b, InetSocketAddress a) {
        writeTypeAndAddress(b, a, 3, 4);
        b.write(a.getPort() >> 8);
        b.write(a.getPort());
    }

    /**
     * ATYP and ADDR: a name the application gave as {@code domainType} with its length, IPv4 as 1, IPv6 as
     * {@code ipv6Type} (VLESS numbers them 2 and 3, SOCKS5 3 and 4).
     */
    private static void writeTypeAndAddress(ByteArrayOutputStream b, InetSocketAddress a, int domainType,
            int ipv6Type) {
        if (a.isUnresolved()) {
            byte[] name = a.getHostString().getBytes(StandardCharsets.US_ASCII);
            b.write(domainType);
            b.write(name.length);
            b.writeBytes(name);
        } else {
            b.write(a.getAddress() instanceof Inet4Address ? 1 : ipv6Type);
            b.writeBytes(a.getAddress().getAddress());
        }
    }

    /** One UDP association: datagrams from the application to remotes, and datagrams for it. */
    private final class Association {
        final InetAddress clientIp;
        final DatagramSocket socket;
        /** Where the application's datagrams come from: replies go there. */
        volatile InetSocketAddress application;
        volatile boolean ended;
        /** Whether the application sent anything yet: its first datagram is a new UDP need (MUX_ASKS_AGAIN). */
        volatile boolean sentAny;

        Association(InetAddress clientIp, DatagramSocket socket) {
            this.clientIp = clientIp;
            this.socket = socket;
        }

        void relayFromApplication() {
            byte[] buf = new byte[65535 + 262];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            while (!ended && !closed) {
                try {
                    p.setLength(buf.length);
                    socket.receive(p);
                } catch (IOException e) {
                    return;
                }
                // RFC 1928 §7: only datagrams from the client that asked for the association.
                if (!p.getAddress().equals(clientIp)) {
                    continue;
                }
                application = (InetSocketAddress) p.getSocketAddress();
                try {
                    DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(buf, 0, p.getLength()));
                    in.readUnsignedShort();
                    if (in.readUnsignedByte() != 0) {
                        continue; // fragments are not supported: RFC 1928 lets a relay drop them
                    }
                    InetSocketAddress dest = readSocksAddress(in);
                    byte[] payload = in.readAllBytes();
                    if (fault == ClientFault.CUTS_SOCKS_PAYLOAD) {
                        payload = Arrays.copyOfRange(payload, Math.min(10, payload.length), payload.length);
                    }
                    if (fault == ClientFault.DROPS_EMPTY_DATAGRAMS && payload.length == 0) {
                        continue;
                    }
                    send(this, dest, payload);
                } catch (IOException e) {
                    log("bad SOCKS5 datagram from " + application + ": " + e);
                }
            }
        }

        /** Hands a datagram to the application, labelled with {@code source}. */
        void deliver(InetSocketAddress source, byte[] payload) {
            InetSocketAddress to = application;
            if (to == null) {
                log("datagram from " + source + " dropped: the application has sent nothing yet");
                return;
            }
            ByteArrayOutputStream b = new ByteArrayOutputStream(payload.length + 22);
            b.write(0);
            b.write(0);
            b.write(0);
            writeSocksAddress(b, source);
            b.writeBytes(payload);
            try {
                socket.send(new DatagramPacket(b.toByteArray(), b.size(), to));
            } catch (IOException e) {
                log("datagram from " + source + " (" + payload.length + " bytes) not delivered: " + e);
            }
        }

        void close() {
            ended = true;
            quietly(socket);
        }
    }

    // ---- UDP: CRUMFURS and command-2 flows ----------------------------------------------------------------------

    /** Sends one datagram of the application to {@code dest}. */
    private void send(Association from, InetSocketAddress dest, byte[] payload) {
        lastSender = from;
        boolean newAssociation = !from.sentAny;
        from.sentAny = true;
        if (mux && sendMux(from, dest, payload, newAssociation)) {
            return;
        }
        sendPerRemote(from, dest, payload);
    }

    /** The per-remote path: CRUMFURS first (CRF-5), then the command-2 connection to {@code dest}. */
    private void sendPerRemote(Association from, InetSocketAddress dest, byte[] payload) {
        if (!mayOpenCommand2(dest)) {
            log("datagram to " + dest + " dropped: no CRUMFURS acknowledged yet (CRF-5)");
            return;
        }
        Flow flow;
        synchronized (flows) { // two associations sending to a new remote at once still open one connection
            flow = fault == ClientFault.CONNECTION_PER_DATAGRAM ? null : flows.get(dest);
            if (flow == null) {
                try {
                    flow = new Flow(dest);
                } catch (IOException e) {
                    log("command 2 to " + dest + ": " + e);
                    return;
                }
            }
        }
        flow.owner = from;
        claims.put(dest, from);
        flow.send(payload);
    }

    /** Opens CRUMFURS on the first UDP need and says whether a command-2 request may go out now (CRF-5). */
    private boolean mayOpenCommand2(InetSocketAddress dest) {
        // Outside the lock: a re-opened CRUMFURS waiting for its 0x14 must not hold up datagrams (CRF-5 is about the
        // first command 2 only).
        if (acknowledged || crumfursUnsupported) {
            return true;
        }
        synchronized (crumfursLock) {
            if (acknowledged || crumfursUnsupported) {
                return true;
            }
            if (!crumfursStarted) {
                crumfursStarted = true;
                boolean up = openCrumfurs(fault == ClientFault.CRUMFURS_TO_TARGET ? dest : server);
                if (fault == ClientFault.CRUMFURS_TO_TARGET && !up) {
                    // The bug's second half: a failure at the wrong address is taken for "server has no CRUMFURS".
                    crumfursUnsupported = true;
                    return true;
                }
            }
            return acknowledged || fault == ClientFault.NO_ACK_WAIT && crumfursStarted;
        }
    }

    /**
     * Opens one CRUMFURS to {@code to} and, except with NO_ACK_WAIT, waits for its acknowledgement; on failure
     * schedules the next attempt. Returns whether the channel is up.
     */
    private boolean openCrumfurs(InetSocketAddress to) {
        Socket s = null;
        try {
            s = dial(to);
            s.getOutputStream().write(shortRequest(CMD_CRUMFURS));
            s.getOutputStream().flush();
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
            if (fault != ClientFault.NO_ACK_WAIT) {
                s.setSoTimeout(ACK_TIMEOUT_MILLIS);
                checkAck(in.readUnsignedByte());
                s.setSoTimeout(0);
                established();
            }
            Socket channel = s;
            spawn("mutant-crumfurs", () -> readUmfurs(channel, in));
            return true;
        } catch (IOException e) {
            log("CRUMFURS to " + to + ": " + e);
            if (s != null) {
                quietly(s);
            }
            if (fault != ClientFault.CRUMFURS_TO_TARGET) {
                scheduleReopen();
            }
            return false;
        }
    }

    private void checkAck(int first) throws ProtocolException {
        if (first != CRUMFURS_ESTABLISHED && fault != ClientFault.WRONG_ACK_ACCEPTED) {
            throw new ProtocolException(String.format("first byte 0x%02x on CRUMFURS (expected 0x14, CRF-6)", first));
        }
    }

    private void established() {
        synchronized (crumfursLock) {
            acknowledged = true;
            establishedAt = System.nanoTime();
        }
        log("CRUMFURS established");
    }

    /** Reads UMFURS messages (§10) until the channel ends, then re-opens it with back-off (CRF-7). */
    private void readUmfurs(Socket channel, DataInputStream in) {
        try {
            if (fault == ClientFault.NO_ACK_WAIT) {
                checkAck(in.readUnsignedByte());
                established();
            }
            while (true) {
                int type = in.readUnsignedByte();
                if (type != 1 && type != 3) {
                    throw new ProtocolException("UMFURS address type " + type + " (expected 1 or 3, UMF-2)");
                }
                InetAddress ip = InetAddress.getByAddress(in.readNBytes(type == 1 ? 4 : 16));
                int port = in.readUnsignedShort();
                if (port == 0) {
                    throw new ProtocolException("UMFURS source port 0 (UMF-6)");
                }
                int length = in.readUnsignedShort();
                byte[] payload = in.readNBytes(length);
                if (payload.length < length) {
                    throw new EOFException("CRUMFURS ended inside a UMFURS");
                }
                umfurs(VlessAddress.canonical(new InetSocketAddress(ip, port)), payload);
            }
        } catch (IOException e) {
            log("CRUMFURS closed: " + e);
        } finally {
            quietly(channel);
            if (!closed) {
                scheduleReopen();
            }
        }
    }

    private void umfurs(InetSocketAddress source, byte[] payload) {
        if (fault == ClientFault.CRASHES_ON_EMPTY_UMFURS && payload.length == 0) {
            exited = "crashed: index 0 out of bounds for length 0, reading an empty UMFURS from " + source;
            log(exited);
            // What a process that dies does: everything closes; off this thread, since close() joins it.
            new Thread(this::close, "mutant-crash").start();
            return;
        }
        if (fault == ClientFault.KNOWN_SOURCE_UMFURS_DROPPED && claims.containsKey(source)) {
            log("UMFURS from " + source + " dropped: a remote already dialed");
            return;
        }
        if (fault == ClientFault.DROPS_EMPTY_DATAGRAMS && payload.length == 0) {
            return;
        }
        Association to = claims.get(source);
        if (to == null || to.ended) {
            to = lastSender;
        }
        if (to != null) {
            to.deliver(fault == ClientFault.WRONG_SOURCE_LABEL ? server : source, payload);
        }
    }

    private void scheduleReopen() {
        long delay;
        synchronized (crumfursLock) {
            // Back-off starts again once a channel stayed up for the longest delay, like the reference client's.
            long upFor = System.nanoTime() - establishedAt;
            if (establishedAt != 0 && upFor >= TimeUnit.MILLISECONDS.toNanos(MAX_BACKOFF_MILLIS)) {
                nextDelayMillis = MIN_BACKOFF_MILLIS;
            }
            establishedAt = 0;
            delay = fault == ClientFault.NO_BACKOFF ? NO_BACKOFF_MILLIS : nextDelayMillis;
            nextDelayMillis = Math.min(nextDelayMillis * 2, MAX_BACKOFF_MILLIS);
        }
        log("CRUMFURS re-opens in " + delay + " ms");
        try {
            // Its own thread: waiting for an acknowledgement must not hold up the timer.
            timer.schedule(() -> spawn("mutant-crumfurs-open", () -> {
                synchronized (crumfursLock) {
                    if (!closed) {
                        openCrumfurs(server);
                    }
                }
            }), delay, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    /** One command-2 connection to one remote. */
    private final class Flow {
        final InetSocketAddress remote;
        final Socket socket;
        final OutputStream out;
        volatile Association owner;
        volatile long lastActive = System.nanoTime();

        Flow(InetSocketAddress remote) throws IOException {
            this.remote = remote;
            this.socket = dial(server);
            this.out = socket.getOutputStream();
            out.write(request(CMD_UDP, remote));
            out.flush();
            if (fault == ClientFault.CONNECTION_PER_DATAGRAM) {
                strayFlows.add(this);
            } else {
                flows.put(remote, this);
            }
            spawn("mutant-udp-flow", this::readFrames);
        }

        /** One datagram, one frame: length (2, big-endian) and payload (UDP-1). */
        synchronized void send(byte[] payload) {
            lastActive = System.nanoTime();
            try {
                ByteBuffer frame = ByteBuffer.allocate(2 + payload.length);
                out.write(frame.putShort((short) payload.length).put(payload).array());
                out.flush();
            } catch (IOException e) {
                log("command 2 to " + remote + ": " + e);
                close();
            }
        }

        void readFrames() {
            try {
                DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
                while (true) {
                    int length = fault == ClientFault.SIGNED_FRAME_LENGTH ? in.readShort() : in.readUnsignedShort();
                    byte[] payload = in.readNBytes(length);
                    if (payload.length < length) {
                        throw new EOFException("command 2 ended inside a frame");
                    }
                    lastActive = System.nanoTime();
                    if (fault == ClientFault.DROPS_EMPTY_DATAGRAMS && length == 0) {
                        continue;
                    }
                    Association to = owner;
                    if (to.ended && lastSender != null) {
                        to = lastSender;
                    }
                    to.deliver(remote, payload);
                }
            } catch (IOException | IllegalArgumentException e) {
                // IllegalArgumentException: SIGNED_FRAME_LENGTH's negative length reaching readNBytes.
                if (!(e instanceof EOFException) || !socket.isClosed()) {
                    log("command 2 to " + remote + " ended: " + e);
                }
            } finally {
                close();
            }
        }

        void close() {
            flows.remove(remote, this);
            strayFlows.remove(this);
            quietly(socket);
        }
    }

    /** CLI-3: a command-2 connection without a datagram either way for the idle time is closed. */
    private void closeIdleFlows() {
        long now = System.nanoTime();
        for (Flow f : flows.values()) {
            if (now - f.lastActive >= TimeUnit.MILLISECONDS.toNanos(idleMillis)) {
                log("command 2 to " + f.remote + " idle: closed");
                f.close();
            }
        }
        for (Flow f : strayFlows) {
            if (now - f.lastActive >= TimeUnit.MILLISECONDS.toNanos(idleMillis)) {
                f.close();
            }
        }
    }

    // ---- UDP-MUX (§23) -------------------------------------------------------------------------------------------

    /**
     * Carries a datagram over UDP-MUX, opening the connection on the first need and queueing while it opens; false
     * when the mode is known to be unavailable and the datagram goes per remote (MUX-6).
     */
    private boolean sendMux(Association from, InetSocketAddress dest, byte[] payload, boolean newAssociation) {
        MuxConnection c;
        synchronized (muxLock) {
            c = muxConnection;
            if (c == null) {
                if (!muxPending) {
                    if (muxUnavailableAt != 0) {
                        boolean remembered = System.nanoTime() - muxUnavailableAt < MUX_MEMORY_NANOS;
                        // MUX_ASKS_AGAIN's bug: a new association is taken for a reason to try the mode again.
                        if (remembered && !(fault == ClientFault.MUX_ASKS_AGAIN && newAssociation)) {
                            return false;
                        }
                        muxUnavailableAt = 0;
                    }
                    muxPending = true;
                    spawn("mutant-mux-open", this::openMux);
                }
                if (muxQueue.size() < MUX_QUEUE_LIMIT) {
                    muxQueue.add(new Queued(from, dest, payload));
                } else {
                    log("datagram to " + dest + " dropped: " + MUX_QUEUE_LIMIT + " wait for the MUX connection");
                }
                return true;
            }
        }
        claims.put(dest, from);
        c.send(dest, payload);
        return true;
    }

    /** Opens a MUX connection (MUX-1), waits up to 5 s for 0x15 (MUX-4, MUX-5), then reads its frames. */
    private void openMux() {
        if (closed) {
            return;
        }
        Socket s;
        try {
            s = dial(server);
        } catch (IOException e) {
            // No connection at all says nothing about the mode: try again later, as for a closed one.
            log("UDP-MUX to " + server + ": " + e);
            scheduleMuxReopen();
            return;
        }
        MuxConnection c;
        try {
            c = new MuxConnection(s);
            c.out.write(shortRequest(CMD_UDP_MUX));
            c.out.flush();
            if (fault == ClientFault.MUX_FRAME_BEFORE_ACK) {
                muxReady(c); // the bug: queued and new datagrams go out as frames before the answer
            }
            s.setSoTimeout(ACK_TIMEOUT_MILLIS);
            int first = c.in.read();
            if (first != MUX_ESTABLISHED) {
                throw new ProtocolException((first < 0 ? "end of stream" : String.format("first byte 0x%02x", first))
                        + " instead of 0x15");
            }
            s.setSoTimeout(0);
        } catch (IOException e) {
            // A SocketTimeoutException too: no answer within the 5 s of MUX-5.
            quietly(s);
            muxUnavailable(e);
            return;
        }
        if (fault != ClientFault.MUX_FRAME_BEFORE_ACK) {
            muxReady(c);
        }
        log("UDP-MUX established");
        c.readFrames();
    }

    /** Makes {@code c} the connection frames go to, and sends the queued datagrams on it first, in order. */
    private void muxReady(MuxConnection c) {
        synchronized (c) { // a datagram that finds c in muxConnection waits until the queue is out
            List<Queued> queued;
            synchronized (muxLock) {
                muxConnection = c;
                muxPending = false;
                muxEstablishedAt = System.nanoTime();
                queued = List.copyOf(muxQueue);
                muxQueue.clear();
            }
            for (Queued q : queued) {
                claims.put(q.dest(), q.from());
                c.send(q.dest(), q.payload());
            }
        }
    }

    /** MUX-5: the mode is unavailable; the queued datagrams go per remote, and so does everything for 10 minutes. */
    private void muxUnavailable(IOException why) {
        List<Queued> queued;
        synchronized (muxLock) {
            muxConnection = null;
            queued = List.copyOf(muxQueue);
            muxQueue.clear();
            if (fault != ClientFault.MUX_NO_FALLBACK) {
                muxPending = false;
                muxUnavailableAt = System.nanoTime();
            }
        }
        if (fault == ClientFault.MUX_NO_FALLBACK) {
            log("UDP-MUX failed (" + why + "): " + queued.size() + " datagrams dropped; it will be tried again");
            scheduleMuxReopen();
            return;
        }
        log("UDP-MUX unavailable (" + why + "): per remote from now on (MUX-5, MUX-6)");
        for (Queued q : queued) {
            sendPerRemote(q.from(), q.dest(), q.payload());
        }
    }

    /** MUX-24: the next attempt after 1 s, 2 s, 4 s ... 60 s, like CRUMFURS (CRF-7); datagrams queue meanwhile. */
    private void scheduleMuxReopen() {
        long delay;
        synchronized (muxLock) {
            muxConnection = null;
            muxPending = true;
            long upFor = System.nanoTime() - muxEstablishedAt;
            if (muxEstablishedAt != 0 && upFor >= TimeUnit.MILLISECONDS.toNanos(MAX_BACKOFF_MILLIS)) {
                muxNextDelayMillis = MIN_BACKOFF_MILLIS;
            }
            muxEstablishedAt = 0;
            delay = fault == ClientFault.MUX_NO_BACKOFF ? NO_BACKOFF_MILLIS : muxNextDelayMillis;
            muxNextDelayMillis = Math.min(muxNextDelayMillis * 2, MAX_BACKOFF_MILLIS);
        }
        if (closed) {
            return;
        }
        log("UDP-MUX re-opens in " + delay + " ms");
        try {
            timer.schedule(() -> spawn("mutant-mux-open", this::openMux), delay, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    /** A datagram from a server frame: to the association that last sent to its source, else the last sender. */
    private void muxDatagram(InetSocketAddress source, byte[] payload) {
        Association to = claims.get(source);
        if (to == null || to.ended) {
            to = lastSender;
        }
        if (to != null) {
            to.deliver(fault == ClientFault.MUX_SERVER_LABEL ? server : source, payload);
        }
    }

    /** One UDP-MUX connection: frames out (MUX-7, MUX-8), frames in until it ends. */
    private final class MuxConnection {
        final Socket socket;
        final OutputStream out;
        final DataInputStream in;

        MuxConnection(Socket socket) throws IOException {
            this.socket = socket;
            this.out = socket.getOutputStream();
            // The same buffered stream reads 0x15 and the frames: bytes that came with 0x15 are frames (MUX-4).
            this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        }

        /** One datagram, one frame: atyp, address, port, length, payload (atyp 2 for a name the app gave). */
        synchronized void send(InetSocketAddress dest, byte[] payload) {
            ByteArrayOutputStream b = new ByteArrayOutputStream(payload.length + 24);
            writeTypeAndAddress(b, dest, 2, 3);
            b.write(dest.getPort() >> 8);
            b.write(dest.getPort());
            b.write(payload.length >> 8);
            b.write(payload.length);
            b.writeBytes(payload);
            try {
                b.writeTo(out);
                out.flush();
            } catch (IOException e) {
                log("UDP-MUX frame to " + dest + ": " + e);
                quietly(socket); // the reader sees the close and re-opens
            }
        }

        /** Reads server frames (the UMFURS layout) until the connection ends or a frame error (MUX-11); re-opens. */
        void readFrames() {
            try {
                while (true) {
                    int type = in.readUnsignedByte();
                    InetSocketAddress source;
                    int port;
                    if (type == 1 || type == 3) {
                        byte[] ip = new byte[type == 1 ? 4 : 16];
                        in.readFully(ip);
                        port = in.readUnsignedShort();
                        source = VlessAddress.canonical(new InetSocketAddress(InetAddress.getByAddress(ip), port));
                    } else if (type == 2 && fault == ClientFault.MUX_DOMAIN_ACCEPTED) {
                        byte[] name = new byte[in.readUnsignedByte()];
                        in.readFully(name);
                        port = in.readUnsignedShort();
                        String host = new String(name, StandardCharsets.US_ASCII);
                        // "Resolved" without DNS: a mutant sends nothing off loopback, a lookup included.
                        source = host.equalsIgnoreCase("localhost")
                                ? new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), port)
                                : InetSocketAddress.createUnresolved(host, port);
                    } else {
                        throw new ProtocolException("frame with address type " + type + " from the server (MUX-11)");
                    }
                    if (port == 0) {
                        throw new ProtocolException("frame from source port 0 (MUX-11)");
                    }
                    byte[] payload = new byte[in.readUnsignedShort()];
                    in.readFully(payload);
                    muxDatagram(source, payload);
                }
            } catch (IOException e) {
                log("UDP-MUX closed: " + e);
            } finally {
                quietly(socket);
                if (!closed) {
                    scheduleMuxReopen();
                }
            }
        }
    }

    // ---- VLESS connections -------------------------------------------------------------------------------------

    /** A v1 request (HDR-1): version, user ID, command, port, address (VLESS types: 1 IPv4, 2 domain, 3 IPv6). */
    private byte[] request(int command, InetSocketAddress dest) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(1);
        b.writeBytes(uuid(link.user()));
        b.write(command);
        b.write(dest.getPort() >> 8);
        b.write(dest.getPort());
        writeTypeAndAddress(b, dest, 2, 3);
        return b.toByteArray();
    }

    /** A CRUMFURS or UDP-MUX request: 01, user ID, command; 18 bytes and nothing after (HDR-9, MUX-1). */
    private byte[] shortRequest(int command) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(18);
        b.write(1);
        b.writeBytes(uuid(link.user()));
        b.write(command);
        return b.toByteArray();
    }

    private static byte[] uuid(UUID u) {
        return ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits()).array();
    }

    /** A connection to {@code to}, inside TLS when the link says so; its handshake is done before anything is sent. */
    private Socket dial(InetSocketAddress to) throws IOException {
        if (to.isUnresolved() || !to.getAddress().isLoopbackAddress()) {
            throw new IOException(to + " is not a loopback address: a mutant client connects to nothing else");
        }
        Socket raw = track(new Socket());
        try {
            raw.setKeepAlive(true);
            if (raw.supportedOptions().contains(ExtendedSocketOptions.TCP_KEEPIDLE)) {
                raw.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, 60); // TCP-4: idle time 60 s or less
            }
            raw.setTcpNoDelay(true);
            raw.connect(to, CONNECT_TIMEOUT_MILLIS);
            if (tls == null) {
                return raw;
            }
            String name = link.serverName();
            SSLSocket s = (SSLSocket) tls.createSocket(raw, name, to.getPort(), true);
            open.remove(raw); // closing s closes raw, and closes TLS properly first
            track(s);
            SSLParameters p = s.getSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            if (!isIpLiteral(name)) {
                p.setServerNames(List.of(new SNIHostName(name)));
            }
            if (link.pinnedSha256().isEmpty() && fault != ClientFault.ACCEPTS_ANY_CERTIFICATE) {
                p.setEndpointIdentificationAlgorithm("HTTPS"); // without a pin, the name must match (TLS-3)
            }
            s.setSSLParameters(p);
            s.setSoTimeout(CONNECT_TIMEOUT_MILLIS);
            s.startHandshake();
            s.setSoTimeout(0);
            return s;
        } catch (IOException | RuntimeException e) {
            quietly(raw);
            throw e;
        }
    }

    private SSLSocketFactory sslFactory() throws IOException {
        try {
            X509TrustManager trust;
            if (fault == ClientFault.ACCEPTS_ANY_CERTIFICATE) {
                trust = new TrustAll();
            } else if (!link.pinnedSha256().isEmpty()) {
                trust = new Pinned(link.pinnedSha256());
            } else {
                TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                f.init((KeyStore) null);
                trust = (X509TrustManager) f.getTrustManagers()[0];
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trust}, null);
            return context.getSocketFactory();
        } catch (GeneralSecurityException e) {
            throw new IOException("TLS: " + e.getMessage(), e);
        }
    }

    /** Trusts the leaf certificate whose DER has one of the pinned SHA-256 fingerprints, and nothing else. */
    private static final class Pinned implements X509TrustManager {
        private final List<String> pins;

        Pinned(List<String> pins) {
            this.pins = pins;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            String actual;
            try {
                actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(chain[0].getEncoded()));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new CertificateException(e);
            }
            for (String pin : pins) {
                if (pin.equalsIgnoreCase(actual)) {
                    return;
                }
            }
            throw new CertificateException("certificate SHA-256 " + actual + " matches no pin of the link");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a client does not check client certificates");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /** ACCEPTS_ANY_CERTIFICATE's trust manager. */
    private static final class TrustAll implements X509TrustManager {
        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    // ---- plumbing ----------------------------------------------------------------------------------------------

    private static boolean isIpLiteral(String host) {
        return host.indexOf(':') >= 0 || host.matches("[0-9.]+");
    }

    private static boolean contains(byte[] bytes, byte b) {
        for (byte x : bytes) {
            if (x == b) {
                return true;
            }
        }
        return false;
    }

    private <T extends Closeable> T track(T c) {
        open.add(c);
        if (closed) {
            quietly(c);
        }
        return c;
    }

    private void quietly(Closeable c) {
        open.remove(c);
        try {
            c.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    private Thread spawn(String name, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } finally {
                threads.remove(Thread.currentThread());
            }
        }, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
        return t;
    }

    private void log(String line) {
        synchronized (lines) {
            lines.addLast(LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + " " + line);
            while (lines.size() > 200) {
                lines.removeFirst();
            }
        }
    }
}
