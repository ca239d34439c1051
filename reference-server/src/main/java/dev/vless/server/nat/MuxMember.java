// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;

/**
 * One UDP-MUX connection's membership in its NAT context: how its frames leave (by the mapping rules, exactly as a
 * command-2 connection's would, MUX-13) and whether the context may still deliver to it. Every method runs on the
 * context's event loop.
 *
 * @see "spec/VLESS.md §23.3"
 */
public final class MuxMember {

    final NatContext context;
    final MuxLink link;
    /** Cleared when the connection leaves; a closed MUX is never chosen (MUX-19). Context loop only. */
    boolean open = true;

    MuxMember(NatContext context, MuxLink link) {
        this.context = context;
        this.link = link;
    }

    /**
     * Sends {@code payload} to the IPv4 endpoint {@code ip}:{@code port}, taking the buffer over; a destination the
     * context dialed before costs one table lookup and no allocation besides the datagram's own.
     *
     * @param ip the address's 32 bits, most significant first
     * @return {@code true} to go on; {@code false} when the socket is full (or still binding): stop reading the client
     *         until {@link #whenReady} runs
     */
    public boolean sendIpv4(int ip, int port, ByteBuf payload) {
        return context.muxSendIpv4(this, ip, port, payload);
    }

    /** As {@link #sendIpv4} for any resolved destination. */
    public boolean send(InetSocketAddress destination, ByteBuf payload) {
        return context.muxSend(this, destination, payload);
    }

    /** After a send returned {@code false}: runs {@code r} on the loop once that socket can take datagrams again. */
    public void whenReady(Runnable r) {
        context.muxWhenReady(r);
    }

    /** Whether the context has a live dialed entry for {@code destination} (MUX-15: how long a name's answer holds). */
    public boolean dialed(InetSocketAddress destination) {
        return context.hasDialed(destination);
    }

    /** The connection closed: the context forgets it. Idempotent. */
    public void leave() {
        context.detachMux(this);
    }

    /** The context this connection belongs to. */
    public NatContext context() {
        return context;
    }
}
