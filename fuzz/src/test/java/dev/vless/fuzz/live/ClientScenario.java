// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz.live;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessRequestDecoder;
import dev.vless.server.testing.TestClient;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * The client side of the server as a fuzzer sees it: batches of connections, each writing its input in chunks (so
 * that headers, frames and CRUMFURS bytes arrive split at the chunk boundaries, in separate TCP segments or TLS
 * records), then closing or half-closing. Checked per input: an input whose header is bad (by the spec's codec, or an
 * unknown user) or incomplete gets no byte back (ERR-1). Checked per batch by the caller: a valid client is still
 * served, and nothing is logged at WARN or above.
 */
final class ClientScenario {

    /** How an input ends once written. */
    enum End { CLOSE, HALF_CLOSE }

    /** One connection's input: its chunks in order, then its end. */
    record Input(List<byte[]> chunks, End end) {

        /** The corpus line: {@code input: close|half-close HEX/HEX/...}. */
        String line() {
            StringBuilder s = new StringBuilder("input: ").append(end == End.CLOSE ? "close" : "half-close").append(' ');
            for (int i = 0; i < chunks.size(); i++) {
                s.append(i > 0 ? "/" : "").append(HexFormat.of().formatHex(chunks.get(i)));
            }
            return s.toString();
        }

        static Input parse(String line) {
            String[] f = line.substring("input:".length()).trim().split(" ", 2);
            List<byte[]> chunks = new ArrayList<>();
            for (String c : (f.length > 1 ? f[1] : "").split("/", -1)) {
                chunks.add(HexFormat.of().parseHex(c));
            }
            return new Input(chunks, f[0].equals("close") ? End.CLOSE : End.HALF_CLOSE);
        }

        byte[] bytes() {
            return TestClient.concat(chunks.toArray(new byte[0][]));
        }
    }

    /** What the spec says of an input's request header, as far as the client can tell. */
    enum Header { BAD, INCOMPLETE, VALID }

    /** How long after its last chunk an input's connection is watched for a byte that must not come. */
    private static final long WATCH_MILLIS = 150;

    private final LiveRig rig;
    private final Set<java.util.UUID> users = Set.of(LiveRig.USER, LiveRig.OTHER_USER);

    ClientScenario(LiveRig rig) {
        this.rig = rig;
    }

    /** The header's class by the spec's own decoder; an unknown user is bad input too (HDR-3). */
    Header classify(byte[] bytes) {
        try {
            int length = VlessRequestDecoder.headerLength(Unpooled.wrappedBuffer(bytes));
            if (length < 0) {
                return Header.INCOMPLETE;
            }
            VlessRequest r = VlessRequestDecoder.decode(Unpooled.wrappedBuffer(bytes));
            return users.contains(r.user()) ? Header.VALID : Header.BAD;
        } catch (VlessProtocolException e) {
            return Header.BAD;
        }
    }

    /**
     * Whether the server may be given this input here: a valid header must name a loopback IP or {@code localhost},
     * since the server would otherwise resolve a random name or send to a random address off this machine.
     */
    boolean staysOnThisMachine(byte[] bytes) {
        if (classify(bytes) != Header.VALID) {
            return true;
        }
        io.netty.buffer.ByteBuf in = Unpooled.wrappedBuffer(bytes);
        VlessRequest r = VlessRequestDecoder.decode(in);
        if (r.command() == dev.vless.codec.VlessCommand.UDP_MUX) {
            return muxFramesStayOnThisMachine(in); // the bytes after a UDP-MUX header are frames, each a destination
        }
        if (r.address() == null) {
            return true;
        }
        return staysOnThisMachine(r.address());
    }

    private static boolean staysOnThisMachine(dev.vless.codec.VlessAddress a) {
        if (a.type() == VlessAddressType.DOMAIN) {
            return a.host().equalsIgnoreCase("localhost");
        }
        try {
            return InetAddress.getByName(a.host()).isLoopbackAddress();
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether every whole frame up to the first frame error names port 0 (a no-op) or a destination on this host. */
    private static boolean muxFramesStayOnThisMachine(io.netty.buffer.ByteBuf in) {
        try {
            while (dev.vless.codec.udp.MuxFrameDecoder.frameLength(in,
                    dev.vless.codec.udp.MuxFrameDecoder.Direction.FROM_CLIENT) >= 0) {
                dev.vless.codec.udp.MuxFrame f = dev.vless.codec.udp.MuxFrameDecoder.decode(in,
                        dev.vless.codec.udp.MuxFrameDecoder.Direction.FROM_CLIENT);
                try {
                    if (f.address().port() != 0 && !staysOnThisMachine(f.address())) {
                        return false;
                    }
                } finally {
                    f.release();
                }
            }
        } catch (VlessProtocolException e) {
            // a frame error: the server closes there and sends nothing further
        }
        return true;
    }

    /** Runs a batch of inputs at once, each on its own connection; throws naming the input that broke a rule. */
    void run(List<Input> batch, String name) throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < batch.size(); i++) {
                sockets.add(rig.rawSocket());
            }
            int rounds = batch.stream().mapToInt(in -> in.chunks().size()).max().orElse(0);
            for (int round = 0; round < rounds; round++) {
                for (int i = 0; i < batch.size(); i++) {
                    List<byte[]> chunks = batch.get(i).chunks();
                    if (round < chunks.size() && chunks.get(round).length > 0) {
                        write(sockets.get(i), chunks.get(round));
                    }
                }
                Thread.sleep(1); // so that the next chunks arrive as separate reads at the server
            }
            for (int i = 0; i < batch.size(); i++) {
                if (batch.get(i).end() == End.HALF_CLOSE) {
                    halfClose(sockets.get(i));
                }
            }
            Thread.sleep(WATCH_MILLIS);
            for (int i = 0; i < batch.size(); i++) {
                Input in = batch.get(i);
                Header h = classify(in.bytes());
                byte[] got = readAvailable(sockets.get(i));
                if (h != Header.VALID && got.length > 0) {
                    throw new AssertionError(name + ": ERR-1 broken: " + got.length + " B came back ("
                            + HexFormat.of().formatHex(got, 0, Math.min(got.length, 32)) + ") to an input whose"
                            + " header is " + h + ": " + in.line());
                }
            }
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        rig.assertNoInternalErrors();
        assertThat(rig.server.stats()).isNotNull();
    }

    private static void write(Socket s, byte[] chunk) {
        try {
            s.getOutputStream().write(chunk);
            s.getOutputStream().flush();
        } catch (IOException e) {
            // The server may close a bad input's connection at once; what it sent before is what is checked.
        }
    }

    private static void halfClose(Socket s) {
        try {
            s.shutdownOutput(); // on TLS 1.3, a close_notify with the socket left open for reading
        } catch (IOException | UnsupportedOperationException e) {
            // already closed by the server
        }
    }

    /** What the server sent so far, without waiting beyond a few milliseconds. */
    private static byte[] readAvailable(Socket s) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        try {
            s.setSoTimeout(5);
            InputStream in = s.getInputStream();
            for (int n; (n = in.read(buf)) > 0 && out.size() < 1 << 20; ) {
                out.write(buf, 0, n);
            }
        } catch (SocketTimeoutException e) {
            // nothing more for now
        } catch (IOException e) {
            // reset or TLS alert: no more bytes
        }
        return out.toByteArray();
    }
}
