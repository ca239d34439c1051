// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.DefaultAddressedEnvelope;
import java.net.InetSocketAddress;

/**
 * A UMFURS: a datagram from a source the client has no connection for, with that source, as the server sends it on
 * the CRUMFURS channel. It owns its payload; the last holder releases it.
 *
 * @see "spec/VLESS.md §10"
 */
public final class UmfursMessage extends DefaultAddressedEnvelope<ByteBuf, InetSocketAddress> implements ByteBufHolder {

    /** Wraps {@code payload}, taking over its reference, as a datagram from {@code source}. */
    public UmfursMessage(ByteBuf payload, InetSocketAddress source) {
        super(requireNonNull(payload, "payload"), null, requireNonNull(source, "source"));
        if (source.isUnresolved()) {
            throw new IllegalArgumentException("source: " + source + " (expected: an IP address, never a domain)");
        }
        if (source.getPort() == 0) {
            throw new IllegalArgumentException("source: " + source + " (expected: a port in 1-65535)");
        }
        UdpFrame.checkLength(payload.readableBytes());
    }

    /** The source address and port fields: the datagram's true source. */
    public InetSocketAddress source() {
        return sender();
    }

    @Override
    public UmfursMessage copy() {
        return replace(content().copy());
    }

    @Override
    public UmfursMessage duplicate() {
        return replace(content().duplicate());
    }

    @Override
    public UmfursMessage retainedDuplicate() {
        return replace(content().retainedDuplicate());
    }

    @Override
    public UmfursMessage replace(ByteBuf content) {
        return new UmfursMessage(content, sender());
    }

    @Override
    public UmfursMessage retain() {
        super.retain();
        return this;
    }

    @Override
    public UmfursMessage retain(int increment) {
        super.retain(increment);
        return this;
    }

    @Override
    public UmfursMessage touch() {
        super.touch();
        return this;
    }

    @Override
    public UmfursMessage touch(Object hint) {
        super.touch(hint);
        return this;
    }
}
