// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import dev.vless.codec.udp.UmfursEncoder;
import dev.vless.server.DropReason;
import dev.vless.server.internal.BatchedFlush;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;

/**
 * Writes a datagram to a client connection with its true source in front, the layout CRUMFURS (a UMFURS, UMF-1) and
 * UDP-MUX (a server's frame, MUX-7) share, so both connections admit, encode and flush in one way.
 */
final class SourcedDatagrams {

    private SourcedDatagrams() {
    }

    /**
     * Writes {@code packet} as address type, source, port, length and payload, unless the connection's, its
     * context's or the server's unsent limit refuses it (DLV-5). Takes over the packet and releases it.
     *
     * @return {@code null} when it was queued, else why it was dropped
     */
    static DropReason write(ServerRuntime runtime, Channel ch, ClientBacklog backlog, BatchedFlush flush,
            DatagramPacket packet) {
        try {
            ByteBuf content = packet.content();
            InetSocketAddress source = packet.sender();
            int length = UmfursEncoder.headerLength(source) + content.readableBytes();
            DropReason refused = backlog.admit(length);
            if (refused != null) {
                AbstractUdpRelay.logCap(runtime, ch, refused, backlog);
                return refused;
            }
            // One right-sized buffer: the 64 KiB receive buffer goes back to the pool at once.
            ByteBuf out = ch.alloc().ioBuffer(length);
            try {
                UmfursEncoder.encodeHeader(source, content.readableBytes(), out);
                out.writeBytes(content);
            } catch (RuntimeException e) {
                out.release(); // a source the header cannot carry must not cost a buffer (NatContext filters, DLV-6)
                throw e;
            }
            ch.write(out, ch.voidPromise());
            flush.afterWrite(); // one flush per batch, not one TCP write each (see BatchedFlush)
            return null;
        } finally {
            packet.release();
        }
    }
}
