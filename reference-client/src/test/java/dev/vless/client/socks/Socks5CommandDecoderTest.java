// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.socks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.socksx.v5.Socks5AddressType;
import io.netty.handler.codec.socksx.v5.Socks5CommandRequest;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;
import io.netty.handler.codec.socksx.v5.Socks5CommandType;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class Socks5CommandDecoderTest {

    private static final byte[] IPV4 = HexFormat.of().parseHex("050100017f0000020050");
    private static final byte[] IPV6 = HexFormat.of().parseHex("05030004" + "00000000000000000000000000000001" + "1f90");
    private static final byte[] DOMAIN = HexFormat.of().parseHex("050100030b6578616d706c652e636f6d01bb");

    @Test
    void decodesIpv4Request() {
        Socks5CommandRequest r = decode(IPV4);
        assertThat(r.type()).isEqualTo(Socks5CommandType.CONNECT);
        assertThat(r.dstAddrType()).isEqualTo(Socks5AddressType.IPv4);
        assertThat(r.dstAddr()).isEqualTo("127.0.0.2");
        assertThat(r.dstPort()).isEqualTo(80);
    }

    @Test
    void decodesIpv6Request() {
        Socks5CommandRequest r = decode(IPV6);
        assertThat(r.type()).isEqualTo(Socks5CommandType.UDP_ASSOCIATE);
        assertThat(r.dstAddrType()).isEqualTo(Socks5AddressType.IPv6);
        assertThat(r.dstAddr()).isEqualTo("::1");
        assertThat(r.dstPort()).isEqualTo(8080);
    }

    @Test
    void decodesDomainRequest() {
        Socks5CommandRequest r = decode(DOMAIN);
        assertThat(r.dstAddrType()).isEqualTo(Socks5AddressType.DOMAIN);
        assertThat(r.dstAddr()).isEqualTo("example.com");
        assertThat(r.dstPort()).isEqualTo(443);
    }

    @Test
    void decodesRequestSplitAtEveryByte() {
        for (byte[] request : new byte[][] {IPV4, IPV6, DOMAIN}) {
            for (int split = 1; split < request.length; split++) {
                EmbeddedChannel ch = new EmbeddedChannel(new Socks5CommandDecoder());
                ch.writeInbound(Unpooled.wrappedBuffer(request, 0, split));
                assertThat(ch.<Object>readInbound()).as("output after %d bytes", split).isNull();
                ch.writeInbound(Unpooled.wrappedBuffer(request, split, request.length - split));
                assertThat(ch.<Object>readInbound()).isInstanceOf(Socks5CommandRequest.class);
                assertThat(ch.finish()).isFalse();
            }
        }
    }

    @Test
    void forwardsBytesAfterTheRequest() {
        EmbeddedChannel ch = new EmbeddedChannel(new Socks5CommandDecoder());
        byte[] withPayload = HexFormat.of().parseHex("050100017f00000200506869");
        ch.writeInbound(Unpooled.wrappedBuffer(withPayload));
        assertThat(ch.<Object>readInbound()).isInstanceOf(Socks5CommandRequest.class);
        ByteBuf rest = ch.readInbound();
        assertThat(rest.toString(java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("hi");
        rest.release();
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'!'}));
        ByteBuf more = ch.readInbound();
        assertThat(more.readableBytes()).isEqualTo(1);
        more.release();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void rejectsOtherVersionWithoutReply() {
        assertThat(failure("040100017f0000020050").reply()).isNull();
    }

    @Test
    void rejectsUnknownAddressTypeWithAddressNotSupported() {
        assertThat(failure("05010002").reply()).isEqualTo(Socks5CommandStatus.ADDRESS_UNSUPPORTED);
    }

    @Test
    void rejectsEmptyDomain() {
        assertThat(failure("0501000300").reply()).isEqualTo(Socks5CommandStatus.ADDRESS_UNSUPPORTED);
    }

    @Test
    void rejectsDomainByteVlessCannotCarry() {
        // "a b": the space is outside 0x21..0x7e (ADR-3), reported as soon as it arrives.
        assertThat(failure("05010003036120").reply()).isEqualTo(Socks5CommandStatus.ADDRESS_UNSUPPORTED);
    }

    @Test
    void doesNotJudgeTheCommand() {
        Socks5CommandRequest r = decode(HexFormat.of().parseHex("050900017f0000020050"));
        assertThat(r.type().byteValue()).isEqualTo((byte) 9);
    }

    @Test
    void discardsInputAfterFailure() {
        EmbeddedChannel ch = new EmbeddedChannel(new Socks5CommandDecoder());
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {4})))
                .isInstanceOf(Socks5RequestException.class);
        ch.writeInbound(Unpooled.wrappedBuffer(IPV4));
        assertThat(ch.<Object>readInbound()).isNull();
        assertThat(ch.finish()).isFalse();
    }

    private static Socks5CommandRequest decode(byte[] request) {
        EmbeddedChannel ch = new EmbeddedChannel(new Socks5CommandDecoder());
        ch.writeInbound(Unpooled.wrappedBuffer(request));
        Socks5CommandRequest r = ch.readInbound();
        assertThat(r).isNotNull();
        assertThat(ch.finish()).isFalse();
        return r;
    }

    /** The exception the decoder throws for {@code hex}, or a placeholder with no reply when it wants more bytes. */
    private static Socks5RequestException failure(String hex) {
        EmbeddedChannel ch = new EmbeddedChannel(new Socks5CommandDecoder());
        try {
            ch.writeInbound(Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex)));
            assertThat(ch.<Object>readInbound()).isNull();
            return new Socks5RequestException(null, "incomplete");
        } catch (Socks5RequestException e) {
            return e;
        } finally {
            ch.finishAndReleaseAll();
        }
    }
}
