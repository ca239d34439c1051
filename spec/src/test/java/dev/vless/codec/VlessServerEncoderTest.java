// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static dev.vless.codec.CodecHarness.buf;
import static dev.vless.codec.CodecHarness.encode;
import static dev.vless.codec.CodecHarness.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vless.codec.udp.UmfursMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.EncoderException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The server's encoder: v0 response header, CRUMFURS acknowledgement, UMFURS without copying the payload. */
class VlessServerEncoderTest {

    private static final InetSocketAddress SOURCE = new InetSocketAddress("192.0.2.1", 8080);
    private static final InetSocketAddress LOCAL = new InetSocketAddress("198.51.100.7", 40000);

    @Test
    void writesTheV0ResponseHeader() {
        assertThat(hex(encode(VlessServerEncoder.INSTANCE, VlessResponseHeader.DEFAULT))).isEqualTo("0000");
        assertThat(hex(encode(VlessServerEncoder.INSTANCE, new VlessResponseHeader(hex("aabbcc")))))
                .isEqualTo("0003aabbcc");
    }

    @Test
    void writesTheCrumfursAcknowledgement() {
        assertThat(hex(encode(VlessServerEncoder.INSTANCE, CrumfursAck.INSTANCE))).isEqualTo("14");
    }

    @Test
    void writesUmfursHeaderAndPassesThePayloadOnWithoutCopying() {
        EmbeddedChannel ch = new EmbeddedChannel(VlessServerEncoder.INSTANCE);
        try {
            ByteBuf payload = buf("616263");
            assertThat(ch.writeOutbound(new UmfursMessage(payload, SOURCE))).isTrue();
            ByteBuf header = ch.readOutbound();
            assertThat(hex(CodecHarness.release(header))).isEqualTo("01" + "c0000201" + "1f90" + "0003");
            ByteBuf body = ch.readOutbound();
            assertThat(body).isSameAs(payload);
            // The message's reference moved to the outbound buffer: one left, for whoever writes it.
            assertThat(body.refCnt()).isEqualTo(1);
            assertThat(body.release()).isTrue();
            assertThat(ch.finish()).isFalse();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void acceptsAReceivedDatagramPacketAsAUmfursFromItsSender() {
        EmbeddedChannel ch = new EmbeddedChannel(VlessServerEncoder.INSTANCE);
        try {
            ByteBuf payload = buf("0102");
            InetSocketAddress v6 = new InetSocketAddress("2001:db8::9", 443);
            assertThat(ch.writeOutbound(new DatagramPacket(payload, LOCAL, v6))).isTrue();
            ByteBuf header = ch.readOutbound();
            assertThat(hex(CodecHarness.release(header)))
                    .isEqualTo("03" + "20010db8000000000000000000000009" + "01bb" + "0002");
            ByteBuf body = ch.readOutbound();
            assertThat(body).isSameAs(payload);
            assertThat(body.refCnt()).isEqualTo(1);
            body.release();
            assertThat(ch.finish()).isFalse();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void writesAnIpv4MappedSourceAsType1() throws Exception {
        Inet6Address mapped = Inet6Address.getByAddress(null,
                new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, (byte) 192, 0, 2, 1}, -1);
        byte[] wire = encode(VlessServerEncoder.INSTANCE,
                new DatagramPacket(buf(""), LOCAL, new InetSocketAddress(mapped, 5353)));
        assertThat(hex(wire)).isEqualTo("01" + "c0000201" + "14e9" + "0000");
    }

    @Test
    void writesEmptyAndLargestPayloads() {
        assertThat(hex(encode(VlessServerEncoder.INSTANCE, new UmfursMessage(buf(""), SOURCE))))
                .isEqualTo("01c00002011f900000");
        ByteBuf largest = ByteBufAllocator.DEFAULT.buffer(65535).writeZero(65535);
        byte[] wire = encode(VlessServerEncoder.INSTANCE, new UmfursMessage(largest, SOURCE));
        assertThat(wire).hasSize(9 + 65535);
        assertThat(hex(CodecHarness.slice(wire, 0, 9))).isEqualTo("01c00002011f90ffff");
    }

    @Test
    void rejectsAnOversizePayloadAndReleasesIt() {
        EmbeddedChannel ch = new EmbeddedChannel(VlessServerEncoder.INSTANCE);
        try {
            ByteBuf payload = ByteBufAllocator.DEFAULT.buffer(65536).writeZero(65536);
            Throwable t = catchThrowable(() -> ch.writeOutbound(new DatagramPacket(payload, LOCAL, SOURCE)));
            assertThat(t).isInstanceOf(EncoderException.class).hasRootCauseInstanceOf(IllegalArgumentException.class)
                    .hasRootCauseMessage("payload: 65536 bytes (expected: 0-65535)");
            assertThat(payload.refCnt()).isZero();
            assertThat(ch.outboundMessages()).isEmpty();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void rejectsASourceWithPortZeroOrWithoutAnAddress() {
        for (InetSocketAddress bad : new InetSocketAddress[] {
                new InetSocketAddress("192.0.2.1", 0), InetSocketAddress.createUnresolved("example.com", 53)}) {
            EmbeddedChannel ch = new EmbeddedChannel(VlessServerEncoder.INSTANCE);
            try {
                ByteBuf payload = buf("00");
                Throwable t = catchThrowable(() -> ch.writeOutbound(new DatagramPacket(payload, LOCAL, bad)));
                assertThat(t).as("%s", bad).isInstanceOf(EncoderException.class)
                        .hasRootCauseInstanceOf(IllegalArgumentException.class);
                assertThat(payload.refCnt()).isZero();
                assertThat(ch.outboundMessages()).isEmpty();
            } finally {
                ch.finishAndReleaseAll();
            }
        }
    }

    @Test
    void passesRelayedDataAndEnvelopesWithoutSenderThrough() {
        EmbeddedChannel ch = new EmbeddedChannel(VlessServerEncoder.INSTANCE);
        try {
            ByteBuf data = buf("48");
            DatagramPacket outgoing = new DatagramPacket(buf("49"), SOURCE);
            assertThat(ch.writeOutbound(VlessResponseHeader.DEFAULT, data, outgoing)).isTrue();
            assertThat(hex(CodecHarness.release(ch.readOutbound()))).isEqualTo("0000");
            assertThat((Object) ch.readOutbound()).isSameAs(data);
            assertThat((Object) ch.readOutbound()).isSameAs(outgoing);
            data.release();
            outgoing.release();
            assertThat(ch.finish()).isFalse();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void acceptsOnlyWhatItEncodes() {
        VlessServerEncoder e = VlessServerEncoder.INSTANCE;
        ByteBuf b = buf("");
        try {
            assertThat(e.acceptOutboundMessage(VlessResponseHeader.DEFAULT)).isTrue();
            assertThat(e.acceptOutboundMessage(CrumfursAck.INSTANCE)).isTrue();
            assertThat(e.acceptOutboundMessage(new DatagramPacket(b, LOCAL, SOURCE))).isTrue();
            assertThat(e.acceptOutboundMessage(new DatagramPacket(b, LOCAL))).isFalse();
            assertThat(e.acceptOutboundMessage(b)).isFalse();
            AddressedEnvelope<String, InetSocketAddress> text =
                    new io.netty.channel.DefaultAddressedEnvelope<>("x", LOCAL, SOURCE);
            assertThat(e.acceptOutboundMessage(text)).isFalse();
        } finally {
            b.release();
        }
    }

    @Test
    void isAStatelessSharableSingleton() {
        assertThat(VlessServerEncoder.INSTANCE.isSharable()).isTrue();
    }
}
