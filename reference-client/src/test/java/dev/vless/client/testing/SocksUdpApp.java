// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.testing;

import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/**
 * An application using a SOCKS5 UDP association: the TCP control connection, a UDP socket, and the datagram header
 * written and read by hand.
 */
public final class SocksUdpApp implements AutoCloseable {

    private final Socket control;
    private final DatagramSocket udp;
    private final InetSocketAddress relay;

    private SocksUdpApp(Socket control, DatagramSocket udp, InetSocketAddress relay) {
        this.control = control;
        this.udp = udp;
        this.relay = relay;
    }

    /** Opens an association, telling the front 0.0.0.0:0 (where the application sends from is not known yet). */
    public static SocksUdpApp open(InetSocketAddress socks) throws IOException {
        return open(socks, "0.0.0.0", 0);
    }

    /**
     * Opens an association, naming {@code hintHost}:{@code hintPort} as where the application sends from. The UDP
     * socket binds the address the control connection comes from, so an IPv6 front gets an IPv6 application.
     */
    public static SocksUdpApp open(InetSocketAddress socks, String hintHost, int hintPort) throws IOException {
        Socket control = Socks5.open(socks);
        DatagramSocket udp = new DatagramSocket(new InetSocketAddress(control.getLocalAddress(), 0));
        udp.setReceiveBufferSize(1 << 20);
        Socks5.greet(control);
        control.getOutputStream().write(Socks5.request(Socks5.UDP_ASSOCIATE, hintHost, hintPort));
        Socks5.Reply r = Socks5.readReply(control.getInputStream());
        if (r.status() != 0) {
            control.close();
            udp.close();
            throw new IOException("UDP ASSOCIATE answered with " + r.status());
        }
        return new SocksUdpApp(control, udp, r.bound());
    }

    /** The relay address the front answered with. */
    public InetSocketAddress relay() {
        return relay;
    }

    /** The application's own UDP address. */
    public InetSocketAddress local() {
        return (InetSocketAddress) udp.getLocalSocketAddress();
    }

    /** The application's UDP socket, for loops that write and read datagrams themselves. */
    public DatagramSocket socket() {
        return udp;
    }

    /** The TCP control connection. */
    public Socket control() {
        return control;
    }

    /** Sends {@code text} to {@code host}:{@code port} through the association. */
    public void send(String host, int port, String text) throws IOException {
        sendRaw(datagram(0, host, port, text.getBytes(StandardCharsets.UTF_8)));
    }

    /** Sends {@code text} to {@code to} through the association. */
    public void send(InetSocketAddress to, String text) throws IOException {
        send(NetUtil.toAddressString(to.getAddress()), to.getPort(), text);
    }

    /** Sends a whole SOCKS5 UDP datagram, header included, to the relay. */
    public void sendRaw(byte[] datagram) throws IOException {
        udp.send(new DatagramPacket(datagram, datagram.length, relay));
    }

    /** A SOCKS5 UDP datagram: RSV, FRAG, the address as {@link Socks5#request} writes it, then the payload. */
    public static byte[] datagram(int fragment, String host, int port, byte[] payload) {
        byte[] request = Socks5.request((byte) 0, host, port);
        ByteBuffer b = ByteBuffer.allocate(request.length + payload.length);
        b.put((byte) 0).put((byte) 0).put((byte) fragment).put(request, 3, request.length - 3).put(payload);
        return b.array();
    }

    /** The next datagram from the relay; fails if none comes within 5 s. */
    public Received receive() throws IOException {
        Received r = poll(Duration.ofSeconds(5));
        if (r == null) {
            throw new AssertionError("the application received no datagram within 5 s");
        }
        return r;
    }

    /** The next datagram from the relay within {@code timeout}, or {@code null}. */
    public Received poll(Duration timeout) throws IOException {
        udp.setSoTimeout((int) Math.max(1, timeout.toMillis()));
        byte[] buf = new byte[65536 + 512];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        try {
            udp.receive(p);
        } catch (SocketTimeoutException e) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(p.getData(), p.getOffset(), p.getLength());
        b.getShort();
        int fragment = b.get() & 0xff;
        int type = b.get();
        String host;
        switch (type) {
            case 1, 4 -> {
                byte[] ip = new byte[type == 1 ? 4 : 16];
                b.get(ip);
                host = NetUtil.bytesToIpAddress(ip);
            }
            case 3 -> {
                byte[] name = new byte[b.get() & 0xff];
                b.get(name);
                host = new String(name, StandardCharsets.US_ASCII);
            }
            default -> throw new AssertionError("address type " + type + " in a datagram from the front");
        }
        int port = b.getShort() & 0xffff;
        byte[] payload = Arrays.copyOfRange(b.array(), b.position(), b.limit());
        return new Received(type, host, port, fragment, payload, (InetSocketAddress) p.getSocketAddress());
    }

    @Override
    public void close() throws IOException {
        udp.close();
        control.close();
    }

    /**
     * One datagram the application received.
     *
     * @param addressType the ATYP of its header
     * @param host        the source address in the header
     * @param port        the source port in the header
     * @param fragment    FRAG
     * @param payload     the payload
     * @param from        where the UDP datagram itself came from (the relay)
     */
    public record Received(int addressType, String host, int port, int fragment, byte[] payload,
            InetSocketAddress from) {
        /** The labelled source as a socket address (IP sources only). */
        public InetSocketAddress source() {
            return new InetSocketAddress(NetUtil.createInetAddressFromIpAddressString(host), port);
        }

        /** The payload as text. */
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }
}
