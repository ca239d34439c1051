// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static dev.vless.codec.CodecHarness.assertRejected;
import static dev.vless.codec.CodecHarness.buf;
import static dev.vless.codec.CodecHarness.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import org.junit.jupiter.api.Test;

/** The address field codec shared by the request and UMFURS codecs. */
class VlessAddressCodecTest {

    private static final VlessAddressCodec CODEC = VlessAddressCodec.DEFAULT;

    @Test
    void ipLengthsAreFixedWithoutLookingAtTheBuffer() {
        ByteBuf in = buf("");
        try {
            assertThat(CODEC.addressLength(VlessAddressType.IPV4, in, 0, 0)).isEqualTo(4);
            assertThat(CODEC.addressLength(VlessAddressType.IPV6, in, 0, 0)).isEqualTo(16);
        } finally {
            in.release();
        }
    }

    @Test
    void domainLengthIsUnknownUntilTheLengthByteArrives() {
        ByteBuf in = buf("ff 09");
        try {
            assertThat(CODEC.addressLength(VlessAddressType.DOMAIN, in, 1, 1)).isEqualTo(-1);
            assertThat(CODEC.addressLength(VlessAddressType.DOMAIN, in, 1, 2)).isEqualTo(10);
            assertThat(in.readerIndex()).isZero();
        } finally {
            in.release();
        }
    }

    @Test
    void domainOf255BytesIs256BytesLong() {
        ByteBuf in = ByteBufAllocator.DEFAULT.buffer().writeByte(255).writeBytes("z".repeat(255).getBytes());
        try {
            assertThat(CODEC.addressLength(VlessAddressType.DOMAIN, in, 0, in.writerIndex())).isEqualTo(256);
            assertThat(CODEC.readAddress(VlessAddressType.DOMAIN, in)).isEqualTo("z".repeat(255));
            assertThat(in.isReadable()).isFalse();
        } finally {
            in.release();
        }
    }

    @Test
    void rejectsAnEmptyDomain() {
        ByteBuf in = buf("00");
        try {
            assertRejected(catchThrowable(() -> CODEC.addressLength(VlessAddressType.DOMAIN, in, 0, 1)),
                    ProtocolError.EMPTY_DOMAIN, SpecRule.ADR_2);
        } finally {
            in.release();
        }
    }

    @Test
    void rejectsABadDomainByteAsSoonAsItArrives() {
        // Length 9 announced, only "ab" and a space have arrived: the space alone decides.
        ByteBuf in = buf("09 61 62 20");
        try {
            VlessProtocolException e = assertRejected(
                    catchThrowable(() -> CODEC.addressLength(VlessAddressType.DOMAIN, in, 0, 4)),
                    ProtocolError.INVALID_DOMAIN, SpecRule.ADR_3);
            assertThat(e).hasMessageContaining("byte 0x20 at 2 of the domain name");
            assertThat(CODEC.addressLength(VlessAddressType.DOMAIN, in, 0, 3)).isEqualTo(10);
        } finally {
            in.release();
        }
    }

    @Test
    void looksOnlyAtTheDomainsOwnBytes() {
        // The byte after the name is payload, not name: a space there is fine.
        ByteBuf in = buf("02 61 62 20");
        try {
            assertThat(CODEC.addressLength(VlessAddressType.DOMAIN, in, 0, 4)).isEqualTo(3);
        } finally {
            in.release();
        }
    }

    @Test
    void domainBytesArePrintableAsciiWithoutSpace() {
        for (int c = 0; c < 0x10000; c++) {
            assertThat(VlessAddressCodec.isDomainByte((char) c)).as("U+%04X", c).isEqualTo(c >= 0x21 && c <= 0x7e);
        }
        for (int b : new int[] {0x00, 0x20, 0x7f, 0x80, 0xff}) {
            ByteBuf in = ByteBufAllocator.DEFAULT.buffer().writeByte(1).writeByte(b);
            try {
                assertRejected(catchThrowable(() -> CODEC.addressLength(VlessAddressType.DOMAIN, in, 0, 2)),
                        ProtocolError.INVALID_DOMAIN, SpecRule.ADR_3);
            } finally {
                in.release();
            }
        }
    }

    @Test
    void writesAndReadsIpv4() {
        assertRoundTrip(VlessAddressType.IPV4, "192.0.2.1", "c0000201");
        assertRoundTrip(VlessAddressType.IPV4, "255.255.255.255", "ffffffff");
        assertRoundTrip(VlessAddressType.IPV4, "0.0.0.0", "00000000");
    }

    @Test
    void writesAndReadsIpv6() {
        assertRoundTrip(VlessAddressType.IPV6, "2001:db8::1", "20010db8000000000000000000000001");
        assertRoundTrip(VlessAddressType.IPV6, "::", "00000000000000000000000000000000");
        // A mapped address is written as sixteen bytes: the record keeps what the wire said.
        assertRoundTrip(VlessAddressType.IPV6, new VlessAddress(VlessAddressType.IPV6, "::ffff:10.0.0.1", 1).host(),
                "00000000000000000000ffff0a000001");
    }

    @Test
    void writesAndReadsDomains() {
        assertRoundTrip(VlessAddressType.DOMAIN, "dummy.com", "09 64756d6d792e636f6d");
        assertRoundTrip(VlessAddressType.DOMAIN, "a", "01 61");
    }

    private static void assertRoundTrip(VlessAddressType type, String host, String wire) {
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        try {
            CODEC.writeAddress(type, host, out);
            assertThat(ByteBufUtil.hexDump(out)).isEqualTo(ByteBufUtil.hexDump(hex(wire)));
            assertThat(CODEC.encodedLength(type, host)).isEqualTo(out.readableBytes());
            assertThat(CODEC.addressLength(type, out, out.readerIndex(), out.writerIndex()))
                    .isEqualTo(out.readableBytes());
            assertThat(CODEC.readAddress(type, out)).isEqualTo(host);
            assertThat(out.isReadable()).isFalse();
        } finally {
            out.release();
        }
    }
}
