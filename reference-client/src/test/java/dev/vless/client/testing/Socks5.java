// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.testing;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import io.netty.util.NetUtil;

/** A SOCKS5 client written out byte by byte, as a test needs it: no library between the test and the wire. */
public final class Socks5 {

    /** CONNECT. */
    public static final byte CONNECT = 1;
    /** BIND, which the front does not serve. */
    public static final byte BIND = 2;
    /** UDP ASSOCIATE. */
    public static final byte UDP_ASSOCIATE = 3;

    private Socks5() {
    }

    /**
     * A reply to a request.
     *
     * @param status the REP field
     * @param bound  BND.ADDR and BND.PORT
     */
    public record Reply(int status, InetSocketAddress bound) {
    }

    /** A TCP connection to the front with a 5 s read timeout. */
    public static Socket open(InetSocketAddress socks) throws IOException {
        Socket s = new Socket();
        s.connect(socks, 5000);
        s.setSoTimeout(5000);
        s.setTcpNoDelay(true);
        return s;
    }

    /** Offers "no authentication" and checks that the front takes it. */
    public static void greet(Socket s) throws IOException {
        s.getOutputStream().write(new byte[] {5, 1, 0});
        byte[] answer = readExactly(s.getInputStream(), 2);
        if (answer[0] != 5 || answer[1] != 0) {
            throw new IOException("front answered the greeting with " + answer[0] + " " + answer[1]);
        }
    }

    /** Offers user name/password, logs in, and returns the RFC 1929 status (0 = success). */
    public static int login(Socket s, String user, String password) throws IOException {
        s.getOutputStream().write(new byte[] {5, 1, 2});
        byte[] answer = readExactly(s.getInputStream(), 2);
        if (answer[0] != 5 || answer[1] != 2) {
            throw new IOException("front answered the greeting with " + answer[0] + " " + answer[1]);
        }
        byte[] u = user.getBytes(StandardCharsets.UTF_8);
        byte[] p = password.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(3 + u.length + p.length);
        b.put((byte) 1).put((byte) u.length).put(u).put((byte) p.length).put(p);
        s.getOutputStream().write(b.array());
        byte[] status = readExactly(s.getInputStream(), 2);
        return status[1] & 0xff;
    }

    /** The bytes of a request: an IPv4 or IPv6 literal gets its type, anything else goes as a domain name. */
    public static byte[] request(byte command, String host, int port) {
        byte[] address;
        byte type;
        if (NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host)) {
            address = NetUtil.createByteArrayFromIpAddressString(host);
            type = (byte) (address.length == 4 ? 1 : 4);
        } else {
            byte[] name = host.getBytes(StandardCharsets.US_ASCII);
            address = new byte[1 + name.length];
            address[0] = (byte) name.length;
            System.arraycopy(name, 0, address, 1, name.length);
            type = 3;
        }
        ByteBuffer b = ByteBuffer.allocate(4 + address.length + 2);
        b.put((byte) 5).put(command).put((byte) 0).put(type).put(address).putShort((short) port);
        return b.array();
    }

    /** Reads one reply. */
    public static Reply readReply(InputStream in) throws IOException {
        byte[] head = readExactly(in, 4);
        if (head[0] != 5) {
            throw new IOException("reply version " + head[0]);
        }
        byte[] ip;
        switch (head[3]) {
            case 1 -> ip = readExactly(in, 4);
            case 4 -> ip = readExactly(in, 16);
            case 3 -> {
                int n = readExactly(in, 1)[0] & 0xff;
                readExactly(in, n + 2);
                return new Reply(head[1] & 0xff, null);
            }
            default -> throw new IOException("reply address type " + head[3]);
        }
        int port = new DataInputStream(in).readUnsignedShort();
        return new Reply(head[1] & 0xff, new InetSocketAddress(InetAddress.getByAddress(ip), port));
    }

    /** A CONNECT through the front, without login; fails unless the reply is success. */
    public static Socket connect(InetSocketAddress socks, String host, int port) throws IOException {
        Socket s = open(socks);
        greet(s);
        s.getOutputStream().write(request(CONNECT, host, port));
        Reply r = readReply(s.getInputStream());
        if (r.status() != 0) {
            s.close();
            throw new IOException("CONNECT to " + host + ":" + port + " answered with " + r.status());
        }
        return s;
    }

    /** Exactly {@code n} bytes, or an exception at end of stream. */
    public static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new IOException("stream ended after " + b.length + " of " + n + " bytes");
        }
        return b;
    }
}
