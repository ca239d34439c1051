// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import static java.util.Objects.requireNonNull;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;
import java.net.InetSocketAddress;

/**
 * One datagram on a UDP-MUX connection with its address: the destination in a client's frame (an IP address or a
 * domain name, port 0 meaning "discard"), the true source in a server's frame (always an IP address). It owns its
 * payload; the last holder releases it.
 *
 * @see "spec/VLESS.md §23"
 */
public final class MuxFrame extends DefaultByteBufHolder {

    private final VlessAddress address;

    /**
     * Wraps {@code payload}, taking over its reference, as a datagram to or from {@code address}. Arguments it refuses
     * leave the payload to the caller, as {@link UmfursMessage} does.
     */
    public MuxFrame(VlessAddress address, ByteBuf payload) {
        super(requireNonNull(payload, "payload"));
        this.address = requireNonNull(address, "address");
        UdpFrame.checkLength(payload.readableBytes());
    }

    /** A frame for a datagram to or from an IP endpoint; an IPv4-mapped address becomes IPv4 (ADR-4). */
    public static MuxFrame of(InetSocketAddress address, ByteBuf payload) {
        return new MuxFrame(VlessAddress.of(address), payload);
    }

    /** The address and port fields: the destination (client's frame) or the true source (server's frame). */
    public VlessAddress address() {
        return address;
    }

    /** Whether the frame names an IP endpoint rather than a domain name. */
    public boolean hasIpAddress() {
        return address.type() != VlessAddressType.DOMAIN;
    }

    @Override
    public MuxFrame copy() {
        return replace(content().copy());
    }

    @Override
    public MuxFrame duplicate() {
        return replace(content().duplicate());
    }

    @Override
    public MuxFrame retainedDuplicate() {
        return replace(content().retainedDuplicate());
    }

    @Override
    public MuxFrame replace(ByteBuf content) {
        return new MuxFrame(address, content);
    }

    @Override
    public MuxFrame retain() {
        super.retain();
        return this;
    }

    @Override
    public MuxFrame retain(int increment) {
        super.retain(increment);
        return this;
    }

    @Override
    public MuxFrame touch() {
        super.touch();
        return this;
    }

    @Override
    public MuxFrame touch(Object hint) {
        super.touch(hint);
        return this;
    }

    @Override
    public String toString() {
        return "MuxFrame[" + address + ", " + content().readableBytes() + " bytes]";
    }
}
