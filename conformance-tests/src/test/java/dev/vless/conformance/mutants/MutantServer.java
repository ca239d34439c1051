// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.mutants;

import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessRequestDecoder;
import dev.vless.codec.VlessVersion;
import dev.vless.codec.udp.UmfursEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A small plaintext VLESS v1 server (with v0 on the same listener) on blocking sockets, for mutation testing: without
 * a {@link Fault} it is correct as far as the conformance suite can see; with one it has exactly that bug. A thread per
 * TCP connection, one receiver thread per UDP socket, one sweeper. Test code only: the reference server has no fault
 * switches.
 */
public final class MutantServer implements Closeable {

    private static final byte[] V0_RESPONSE = {0, 0};

    final Fault fault;
    final Duration lifetime;
    final boolean perDestination;
    private final Duration handshakeTimeout;
    private final Duration coolDown;
    private final List<UUID> users = List.of(UUID.randomUUID(), UUID.randomUUID());
    private final ServerSocket listener;
    private final Map<Object, NatContext> contexts = new ConcurrentHashMap<>();
    private final Set<Closeable> open = ConcurrentHashMap.newKeySet();
    private final Map<DatagramSocket, Long> coolingDown = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper;
    private volatile boolean closed;

    /**
     * @param fault            the bug, or {@code null} for a correct server
     * @param handshakeTimeout the handshake deadline from accept (ERR-4)
     * @param lifetime         L: how long sockets, entries and idle command-2 connections live without traffic
     * @param coolDown         how long a released port stays bound, discarding (LIF-7)
     * @param perDestination   a new socket per new destination instead of one per family (NAT-5, a valid variant)
     */
    public MutantServer(Fault fault, Duration handshakeTimeout, Duration lifetime, Duration coolDown,
            boolean perDestination) throws IOException {
        this.fault = fault;
        this.handshakeTimeout = handshakeTimeout;
        this.lifetime = lifetime;
        this.coolDown = coolDown;
        this.perDestination = perDestination;
        listener = track(new ServerSocket(0, 200, InetAddress.getByName("127.0.0.1")));
        sweeper = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "mutant-sweeper"));
        long every = Math.max(10, lifetime.toMillis() / 8);
        sweeper.scheduleAtFixedRate(this::sweep, every, every, TimeUnit.MILLISECONDS);
        daemon(this::accept, "mutant-accept").start();
    }

    /** A server with the usual test settings: 1 s handshake deadline, the given lifetime, 30 s cool-down. */
    public static MutantServer start(Fault fault, Duration lifetime, boolean perDestination) throws IOException {
        return new MutantServer(fault, Duration.ofSeconds(1), lifetime, Duration.ofSeconds(30), perDestination);
    }

    /** The plaintext share link of the first user. */
    public String link() {
        return "vless://" + users.get(0) + "@127.0.0.1:" + listener.getLocalPort() + "?security=none#mutant-"
                + (fault == null ? "clean" : fault.name());
    }

    public UUID user2() {
        return users.get(1);
    }

    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    @Override
    public void close() {
        closed = true;
        sweeper.shutdownNow();
        for (Closeable c : open) {
            quietClose(c);
        }
    }

    // ---- accepting and reading the header ----

    private void accept() {
        while (!closed) {
            try {
                Socket s = track(listener.accept());
                long deadline = System.nanoTime() + handshakeTimeout.toNanos();
                daemon(() -> serve(s, deadline), "mutant-conn").start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s, long deadline) {
        try {
            s.setTcpNoDelay(true);
            keepAlive(s);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[16384];
            int n = 0;
            int reads = 0;
            int length;
            while (true) {
                if (fault != Fault.NO_DEADLINE) {
                    long left = (deadline - System.nanoTime()) / 1_000_000;
                    if (left <= 0) {
                        throw new SocketTimeoutException("handshake deadline");
                    }
                    s.setSoTimeout((int) left);
                }
                int r = in.read(buf, n, buf.length - n);
                if (r < 0) {
                    hold(s, deadline, true); // truncated header (HDR-12)
                    return;
                }
                n += r;
                reads++;
                length = VlessRequestDecoder.headerLength(Unpooled.wrappedBuffer(buf, 0, n));
                if (length >= 0) {
                    break;
                }
                if (fault == Fault.SPLIT_HEADER_REFUSED && reads == 1) {
                    hold(s, deadline, false);
                    return;
                }
            }
            VlessRequest req = VlessRequestDecoder.decode(Unpooled.wrappedBuffer(buf, 0, length));
            byte[] rest = fault == Fault.TRAILING_BYTES_DROPPED ? new byte[0] : Arrays.copyOfRange(buf, length, n);
            if (!knownUser(req.user()) && fault != Fault.ANY_UUID) {
                if (fault == Fault.ANSWER_ON_BAD_UUID) {
                    s.getOutputStream().write(0xff);
                }
                hold(s, deadline, false);
                return;
            }
            if (req.command() == VlessCommand.MUX) {
                hold(s, deadline, false); // refused exactly like an unknown command (HDR-7)
                return;
            }
            s.setSoTimeout(0);
            boolean v0 = req.version() == VlessVersion.V0;
            byte[] responseHeader = v0 || fault == Fault.V1_RESPONSE_HEADER ? V0_RESPONSE : null;
            switch (req.command()) {
                case TCP -> relayTcp(s, req, rest, responseHeader);
                case UDP -> udp(s, req, rest, responseHeader, v0);
                case UDP_MUX -> mux(s, req, rest);
                default -> crumfurs(s, req, rest);
            }
        } catch (VlessProtocolException e) {
            if (fault == Fault.IMMEDIATE_CLOSE_ON_ONE_KIND && e.error() == ProtocolError.INVALID_DOMAIN) {
                quietClose(s);
            } else {
                hold(s, deadline, false);
            }
        } catch (SocketTimeoutException e) {
            quietClose(s); // the deadline passed with the header incomplete (ERR-4)
        } catch (IOException | RuntimeException e) {
            quietClose(s);
        } finally {
            open.remove(s);
        }
    }

    private boolean knownUser(UUID user) {
        byte[] candidate = bytes(user);
        boolean found = false;
        for (UUID u : users) {
            found |= MessageDigest.isEqual(candidate, bytes(u)); // no early exit (HDR-4)
        }
        return found;
    }

    private static byte[] bytes(UUID u) {
        return ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits()).array();
    }

    /** Bad input: no byte, read and discard until the deadline, then close (ERR-1, ERR-2, ERR-3). */
    private void hold(Socket s, long deadline, boolean ended) {
        try {
            InputStream in = s.getInputStream();
            byte[] sink = new byte[4096];
            long left;
            while ((left = (deadline - System.nanoTime()) / 1_000_000) > 0) {
                if (ended) {
                    Thread.sleep(left);
                    break;
                }
                s.setSoTimeout((int) left);
                try {
                    if (in.read(sink) < 0) {
                        ended = true;
                    }
                } catch (SocketTimeoutException e) {
                    break;
                }
            }
            // Read out what is left, so that the close is a FIN, not a reset, whatever the input was.
            while (!ended && in.available() > 0 && in.read(sink) > 0) {
                // discard
            }
        } catch (IOException | InterruptedException e) {
            // closing anyway
        } finally {
            quietClose(s);
        }
    }

    // ---- command 1: TCP ----

    private void relayTcp(Socket client, VlessRequest req, byte[] rest, byte[] responseHeader) throws IOException {
        InetAddress ip = resolve(req.address());
        if (ip == null || refused(ip)) {
            quietClose(client);
            return;
        }
        Socket target = track(new Socket());
        try {
            target.connect(new InetSocketAddress(ip, req.address().port()), 5000);
            target.setTcpNoDelay(true);
            keepAlive(target);
        } catch (IOException e) {
            quietClose(target);
            quietClose(client); // no byte (TCP-2)
            return;
        }
        AtomicBoolean clientEnded = new AtomicBoolean();
        Thread up = daemon(() -> {
            try {
                OutputStream out = target.getOutputStream();
                out.write(rest);
                copy(client.getInputStream(), out, null, null);
                clientEnded.set(true);
                if (fault == Fault.HALF_CLOSE_KILLS_BOTH) {
                    quietClose(client);
                    quietClose(target);
                } else {
                    target.shutdownOutput();
                }
            } catch (IOException e) {
                quietClose(target);
            }
        }, "mutant-tcp-up");
        up.start();
        try {
            copy(target.getInputStream(), client.getOutputStream(), responseHeader,
                    fault == Fault.HALF_CLOSED_REPLY_CUT ? clientEnded : null);
            client.shutdownOutput(); // each direction's end on its own (TCP-3)
            up.join();
        } catch (IOException | InterruptedException e) {
            // one side is gone
        } finally {
            quietClose(target);
            quietClose(client);
            open.remove(target);
        }
    }

    /**
     * Copies until the end of {@code in}, writing {@code first} (if any) before the first byte. Once {@code cutAfter}
     * (if any) is true, only 256 KiB more get through; then it fails.
     */
    private static void copy(InputStream in, OutputStream out, byte[] first, AtomicBoolean cutAfter)
            throws IOException {
        byte[] b = new byte[16384];
        long afterCut = 0;
        int r;
        while ((r = in.read(b)) >= 0) {
            if (first != null && r > 0) {
                out.write(first);
                first = null;
            }
            if (cutAfter != null && cutAfter.get() && (afterCut += r) > 256 << 10) {
                throw new IOException("cut off after the client's end");
            }
            out.write(b, 0, r);
        }
    }

    // ---- command 2: UDP ----

    /** A command-2 connection: v1 in a context, or v0 with a socket of its own. */
    final class UdpConn {
        final Socket client;
        final InetSocketAddress target;
        final ClientOut out;
        final NatContext context;
        volatile NatContext.CtxSocket socket;
        volatile long lastActivity = System.nanoTime();

        UdpConn(Socket client, InetSocketAddress target, NatContext context, byte[] responseHeader) {
            this.client = client;
            this.target = target;
            this.context = context;
            this.out = new ClientOut(client, responseHeader, "mutant-udp-out");
        }

        void deliver(byte[] datagram) {
            lastActivity = System.nanoTime();
            out.offer(frame(datagram));
        }

        void close() {
            out.close();
        }
    }

    private byte[] frame(byte[] p) {
        byte[] f = new byte[2 + p.length];
        boolean little = fault == Fault.LITTLE_ENDIAN;
        f[little ? 1 : 0] = (byte) (p.length >>> 8);
        f[little ? 0 : 1] = (byte) p.length;
        System.arraycopy(p, 0, f, 2, p.length);
        return f;
    }

    private void udp(Socket client, VlessRequest req, byte[] rest, byte[] responseHeader, boolean v0)
            throws IOException {
        InetAddress ip = resolve(req.address());
        if (ip == null || refused(ip)) {
            quietClose(client); // refused at once, without a byte (DST-2)
            return;
        }
        InetSocketAddress target = new InetSocketAddress(ip, req.address().port());
        NatContext ctx = v0 ? null : contexts.computeIfAbsent(contextKey(req.user(), client.getInetAddress()),
                k -> new NatContext(this));
        UdpConn c = new UdpConn(client, target, ctx, responseHeader);
        DatagramSocket own = v0 ? ownSocket(c) : null;
        if (ctx != null) {
            ctx.add(c);
        }
        int max = ip instanceof Inet4Address ? 65507 : 65527;
        try {
            DataInputStream in = new DataInputStream(new SequenceInputStream(new ByteArrayInputStream(rest),
                    client.getInputStream()));
            while (true) {
                int b0 = in.read();
                if (b0 < 0) {
                    break; // the client's end closes the connection (UDP-8)
                }
                int b1 = in.readUnsignedByte();
                int length = fault == Fault.LITTLE_ENDIAN ? b1 << 8 | b0 : b0 << 8 | b1;
                if (fault == Fault.SIGNED_LENGTH) {
                    length = (short) length; // negative from 32768 on: the array below throws
                }
                byte[] p = new byte[length];
                in.readFully(p);
                if (length > max) {
                    if (fault == Fault.OVERSIZE_CLOSES) {
                        throw new IOException("message too long");
                    }
                    continue; // dropped, and the stream stays in sync (UDP-5)
                }
                c.lastActivity = System.nanoTime();
                if (own != null) {
                    own.send(new DatagramPacket(p, p.length, target));
                } else {
                    ctx.send(c, p);
                }
            }
        } catch (IOException | RuntimeException e) {
            // EOF inside a frame, a reset, or a fault's exception: the connection ends
        } finally {
            if (ctx != null) {
                ctx.remove(c);
            }
            if (own != null) {
                quietClose(own);
                open.remove(own);
            }
            c.close();
        }
    }

    private Object contextKey(UUID user, InetAddress client) {
        if (fault == Fault.GLOBAL_CONTEXT) {
            return "everyone";
        }
        if (fault == Fault.UUID_ONLY_CONTEXT) {
            return user;
        }
        return List.of(user, VlessAddress.canonical(client)); // NAT-1
    }

    /** A v0 connection's own socket: it hears only its target (UDP-7). */
    private DatagramSocket ownSocket(UdpConn c) throws IOException {
        DatagramSocket s = track(new DatagramSocket(outboundFor(c.target)));
        daemon(() -> {
            byte[] buf = new byte[fault == Fault.TRUNCATION ? 2048 : 65535];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            while (!s.isClosed()) {
                try {
                    p.setData(buf);
                    s.receive(p);
                } catch (IOException e) {
                    return;
                }
                if (c.target.equals(VlessAddress.canonical((InetSocketAddress) p.getSocketAddress()))) {
                    c.deliver(Arrays.copyOf(buf, p.getLength()));
                }
            }
        }, "mutant-v0-udp").start();
        return s;
    }

    // ---- command 4: CRUMFURS ----

    /** A CRUMFURS connection. */
    final class CrumfursConn {
        final ClientOut out;

        CrumfursConn(Socket client) {
            out = new ClientOut(client, null, "mutant-crumfurs-out", false);
        }

        void deliver(InetSocketAddress source, byte[] datagram) {
            ByteBuf b = Unpooled.buffer(UmfursEncoder.headerLength(source) + datagram.length);
            UmfursEncoder.encode(source, Unpooled.wrappedBuffer(datagram), b);
            out.offer(ByteBufUtil.getBytes(b));
            b.release();
        }

        void close() {
            out.close();
        }
    }

    private void crumfurs(Socket client, VlessRequest req, byte[] rest) throws IOException {
        NatContext ctx = contexts.computeIfAbsent(contextKey(req.user(), client.getInetAddress()),
                k -> new NatContext(this));
        if (fault == Fault.CLOSES_AFTER_ACK) {
            client.getOutputStream().write(0x14);
            quietClose(client);
            return;
        }
        // The acknowledgement is queued first and the channel attached before anything is written: a datagram that
        // arrives once the client has seen 0x14 finds the channel, and its UMFURS follows the 0x14 (CRF-1).
        CrumfursConn c = new CrumfursConn(client);
        if (fault != Fault.NO_ACK) {
            c.out.offer(new byte[] {0x14});
        }
        ctx.attach(c);
        c.out.start();
        try {
            if (fault == Fault.JUNK_CLOSES && rest.length > 0) {
                return;
            }
            InputStream in = client.getInputStream();
            byte[] sink = new byte[4096];
            int r;
            while ((r = in.read(sink)) >= 0) {
                if (fault == Fault.JUNK_CLOSES && r > 0) {
                    return;
                }
                // discarded (CRF-4)
            }
        } catch (IOException e) {
            // the client is gone
        } finally {
            ctx.detach(c);
            c.close();
        }
    }

    // ---- command 5: UDP-MUX ----

    /** A MUX connection: frames from the context's datagrams go out through its queue. */
    final class MuxConn {
        final ClientOut out;
        volatile long lastActivity = System.nanoTime();
        volatile boolean closed;
        /** The socket of its own that {@link Fault#MUX_OWN_SOCKET} gives it; opened on first use. */
        NatContext.CtxSocket own;

        MuxConn(Socket client) {
            out = new ClientOut(client, null, "mutant-mux-out", false);
        }

        void deliver(InetSocketAddress source, byte[] datagram) {
            lastActivity = System.nanoTime();
            ByteBuf b = Unpooled.buffer(UmfursEncoder.headerLength(source) + datagram.length);
            UmfursEncoder.encode(source, Unpooled.wrappedBuffer(datagram), b);
            out.offer(ByteBufUtil.getBytes(b));
            b.release();
        }

        void close() {
            closed = true;
            out.close();
        }
    }

    /** Thrown for a frame error (MUX-11): the connection closes at once. */
    private static final class FrameError extends IOException {
        FrameError(String message) {
            super(message);
        }
    }

    private void mux(Socket client, VlessRequest req, byte[] rest) throws IOException {
        NatContext ctx = contexts.computeIfAbsent(contextKey(req.user(), client.getInetAddress()),
                k -> new NatContext(this));
        MuxConn m = new MuxConn(client);
        // As for CRUMFURS: 0x15 is queued and the connection attached before anything is written (MUX-3).
        m.out.offer(new byte[] {0x15});
        if (fault == Fault.MUX_ACK_TWICE) {
            m.out.offer(new byte[] {0x15});
        }
        if (fault == Fault.MUX_ACK_BEFORE_ATTACH) {
            m.out.start();
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ctx.attachMux(m);
        } else {
            ctx.attachMux(m);
            m.out.start();
        }
        Map<String, InetAddress> names = new java.util.HashMap<>();
        try {
            DataInputStream in = new DataInputStream(new SequenceInputStream(new ByteArrayInputStream(rest),
                    client.getInputStream()));
            while (!m.closed) {
                int atyp = in.read();
                if (atyp < 0) {
                    break; // the client's end closes the MUX connection (MUX-12)
                }
                InetAddress ip;
                String name = null;
                if (atyp == 1 || atyp == 3) {
                    byte[] a = new byte[atyp == 1 ? 4 : 16];
                    in.readFully(a);
                    ip = VlessAddress.canonical(InetAddress.getByAddress(a));
                } else if (atyp == 2) {
                    int n = in.readUnsignedByte();
                    byte[] a = new byte[n];
                    in.readFully(a);
                    boolean valid = n > 0;
                    for (byte b : a) {
                        valid &= b >= 0x21 && b <= 0x7e;
                    }
                    if (!valid) {
                        if (fault != Fault.MUX_FRAME_ERROR_IGNORED) {
                            throw new FrameError("bad domain");
                        }
                        in.readUnsignedShort();
                        in.readFully(new byte[in.readUnsignedShort()]);
                        continue; // skipped: the stream is out of sync from here on
                    }
                    name = new String(a, java.nio.charset.StandardCharsets.US_ASCII).toLowerCase(java.util.Locale.ROOT);
                    if (name.endsWith(".")) {
                        name = name.substring(0, name.length() - 1);
                    }
                    ip = null;
                } else {
                    if (fault == Fault.MUX_FRAME_ERROR_IGNORED) {
                        continue; // the byte skipped, as if it were padding
                    }
                    throw new FrameError("address type " + atyp);
                }
                int port = in.readUnsignedShort();
                int length = in.readUnsignedShort();
                byte[] p = new byte[length];
                in.readFully(p);
                m.lastActivity = System.nanoTime();
                if (port == 0) {
                    continue; // a no-op frame (MUX-10)
                }
                if (name != null) {
                    String key = name;
                    ip = names.computeIfAbsent(key, k -> resolve(VlessAddress.of(k, port)));
                    if (ip == null) {
                        names.remove(key);
                        continue; // not resolved: dropped
                    }
                }
                if (refused(ip)) {
                    if (fault == Fault.MUX_REFUSED_CLOSES) {
                        return;
                    }
                    continue; // dropped, the connection goes on (MUX-14)
                }
                if (length > (ip instanceof Inet4Address ? 65507 : 65527)) {
                    continue; // too big to send: dropped, in sync (UDP-5)
                }
                try {
                    ctx.sendMux(m, new InetSocketAddress(ip, port), p);
                } catch (IOException e) {
                    // a datagram the socket cannot send is dropped
                }
            }
        } catch (IOException | RuntimeException e) {
            // a frame error, EOF inside a frame, or a reset: the connection closes at once, without a byte
        } finally {
            ctx.detachMux(m);
            m.close();
        }
    }

    /** The destination policy: the unspecified address, multicast and broadcast are refused (DST-1). */
    static boolean refused(InetAddress ip) {
        return ip.isAnyLocalAddress() || ip.isMulticastAddress()
                || (ip instanceof Inet4Address && Arrays.equals(ip.getAddress(), new byte[] {-1, -1, -1, -1}));
    }

    // ---- shared ----

    /** The target's IP: a literal as it is (canonical), a name resolved once, first IPv4 else IPv6 (NAT-7). */
    private static InetAddress resolve(VlessAddress a) {
        if (a.type() != VlessAddressType.DOMAIN) {
            return a.inetAddress();
        }
        try {
            InetAddress[] all = InetAddress.getAllByName(a.host());
            for (InetAddress ip : all) {
                if (ip instanceof Inet4Address) {
                    return ip;
                }
            }
            return all.length > 0 ? VlessAddress.canonical(all[0]) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The outbound address of the target's family (NAT-10): loopback, since tests only ever use loopback. */
    InetSocketAddress outboundFor(InetSocketAddress target) throws IOException {
        return new InetSocketAddress(InetAddress.getByName(target.getAddress() instanceof Inet4Address
                ? "127.0.0.1" : "::1"), 0);
    }

    void coolDown(DatagramSocket s) {
        coolingDown.put(s, System.nanoTime() + coolDown.toNanos());
    }

    private void sweep() {
        long now = System.nanoTime();
        try {
            for (NatContext ctx : contexts.values()) {
                ctx.sweep(now);
            }
            coolingDown.forEach((s, until) -> {
                if (now - until > 0) {
                    coolingDown.remove(s);
                    quietClose(s);
                    open.remove(s);
                }
            });
        } catch (RuntimeException e) {
            // a sweep must never stop the scheduler
        }
    }

    <T extends Closeable> T track(T c) {
        open.add(c);
        if (closed) {
            quietClose(c);
        }
        return c;
    }

    static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    static void quietClose(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // already closed or broken: nothing to do
        }
    }

    /** TCP-4: keepalive on, first probe after 60 s of silence. */
    private static void keepAlive(Socket s) throws IOException {
        s.setKeepAlive(true);
        if (s.supportedOptions().contains(jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE)) {
            s.setOption(jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE, 60);
        }
    }
}
