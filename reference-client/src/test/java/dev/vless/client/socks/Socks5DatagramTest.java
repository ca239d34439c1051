// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.socks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class Socks5DatagramTest {

    @Test
    void roundTripsEachAddressType() {
        for (VlessAddress a : new VlessAddress[] {VlessAddress.of("127.0.0.2", 4000),
                VlessAddress.of("2001:db8::1", 53), VlessAddress.of("example.com", 443)}) {
            ByteBuf buf = Unpooled.buffer();
            try {
                Socks5Datagram.encodeHeader(a, buf);
                assertThat(buf.readableBytes()).isEqualTo(Socks5Datagram.headerLength(a));
                buf.writeBytes(new byte[] {'h', 'i'});
                Socks5Datagram.Header h = Socks5Datagram.decodeHeader(buf);
                assertThat(h.address()).isEqualTo(a);
                assertThat(h.fragment()).isZero();
                assertThat(h.length()).isEqualTo(Socks5Datagram.headerLength(a));
                assertThat(buf.readerIndex()).isZero();
            } finally {
                buf.release();
            }
        }
    }

    @Test
    void writesTheRfc1928Layout() {
        ByteBuf buf = Unpooled.buffer();
        try {
            Socks5Datagram.encodeHeader(VlessAddress.of("127.0.0.2", 4000), buf);
            assertThat(ByteBufUtil.hexDump(buf)).isEqualTo("000000017f0000020fa0");
            buf.clear();
            Socks5Datagram.encodeHeader(VlessAddress.of("::1", 53), buf);
            assertThat(ByteBufUtil.hexDump(buf)).isEqualTo("00000004" + "0".repeat(31) + "10035");
        } finally {
            buf.release();
        }
    }

    @Test
    void readsTheFragmentField() {
        assertThat(header("000001017f0000020fa0").fragment()).isEqualTo(1);
    }

    @Test
    void mapsSocksDomainToVlessDomain() {
        assertThat(header("00000003016101bb").address()).isEqualTo(new VlessAddress(VlessAddressType.DOMAIN, "a",
                443));
    }

    @Test
    void rejectsMalformedHeaders() {
        for (String hex : new String[] {"000000", "000000017f00", "00000002", "000000030061", "0000000302",
                "00000003022001bb"}) {
            assertThatThrownBy(() -> header(hex)).as(hex).isInstanceOf(IllegalArgumentException.class);
        }
    }

    private static Socks5Datagram.Header header(String hex) {
        ByteBuf buf = Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex));
        try {
            return Socks5Datagram.decodeHeader(buf);
        } finally {
            buf.release();
        }
    }
}
