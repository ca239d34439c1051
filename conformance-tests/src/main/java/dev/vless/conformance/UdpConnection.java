// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.spec.Profile;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A command-2 connection: a request for one remote UDP address, then frames ({@code len(2) payload}) both ways.
 * For a v0 target the response header in front of the first frame is read and checked.
 */
public final class UdpConnection extends VlessConnection {

    private final InetSocketAddress remote;
    private boolean v0HeaderPending;

    UdpConnection(VlessTarget target, WireLog log, String label, InetSocketAddress remote) throws IOException {
        this(target, log, label, remote, null);
    }

    UdpConnection(VlessTarget target, WireLog log, String label, InetSocketAddress remote,
            java.net.InetAddress localAddress) throws IOException {
        super(target, log, label, localAddress);
        this.remote = remote;
        this.v0HeaderPending = target.profile() == Profile.V0;
    }

    /** The remote address the request named. */
    public InetSocketAddress remote() {
        return remote;
    }

    /** The request header for this connection, for the target's profile and {@code user}. */
    static VlessRequest request(VlessTarget target, java.util.UUID user, InetSocketAddress remote) {
        VlessAddress address = VlessAddress.of(remote);
        return target.profile() == Profile.V0 ? VlessRequest.v0(user, VlessCommand.UDP, address)
                : VlessRequest.v1(user, VlessCommand.UDP, address);
    }

    /** One frame carrying {@code payload}. */
    public static byte[] frame(byte[] payload) {
        byte[] f = new byte[2 + payload.length];
        f[0] = (byte) (payload.length >>> 8);
        f[1] = (byte) payload.length;
        System.arraycopy(payload, 0, f, 2, payload.length);
        return f;
    }

    /** Sends one datagram as one frame. */
    public void send(byte[] payload) throws IOException {
        write(frame(payload));
    }

    /**
     * The payload of the next frame, or {@code null} when none arrives within {@code timeout}.
     *
     * @throws java.io.EOFException when the target closes
     * @throws java.net.ProtocolException when a v0 response header is wrong
     */
    public byte[] receive(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            if (v0HeaderPending) {
                byte[] h = readExactly(2, timeout);
                if (h[0] != 0) {
                    throw new java.net.ProtocolException(String.format(
                            "v0 response header version 0x%02x (expected: 0x00, RSP-2)", h[0] & 0xff));
                }
                if (h[1] != 0) {
                    readExactly(h[1] & 0xff, remaining(deadline));
                }
                v0HeaderPending = false;
            }
            byte[] len = readExactly(2, remaining(deadline));
            int n = ((len[0] & 0xff) << 8) | (len[1] & 0xff);
            // Once a frame has begun it must finish: allow the full I/O timeout for its body.
            return readExactly(n, target.ioTimeout());
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    /** The payload of the next frame within the target's I/O timeout, or {@code null}. */
    public byte[] receive() throws IOException {
        return receive(target.ioTimeout());
    }

    private static Duration remaining(long deadline) {
        return Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime()));
    }
}
