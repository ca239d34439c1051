// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import static dev.vless.codec.CodecHarness.buf;
import static dev.vless.codec.CodecHarness.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.vless.codec.CodecHarness;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The static UMFURS encoder and the message record it writes. */
class UmfursEncoderTest {

    private static final InetSocketAddress V4 = new InetSocketAddress("192.0.2.1", 8080);
    private static final InetSocketAddress V6 = new InetSocketAddress("2001:db8::9", 443);

    @Test
    void putsTheAddressBeforeThePort() {
        assertThat(header(V4, 3)).isEqualTo("01" + "c0000201" + "1f90" + "0003");
        assertThat(header(V6, 65535)).isEqualTo("03" + "20010db8000000000000000000000009" + "01bb" + "ffff");
    }

    @Test
    void writesAMappedSourceAsIpv4() throws Exception {
        InetSocketAddress mapped = new InetSocketAddress(Inet6Address.getByAddress(null,
                new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, (byte) 198, 51, 100, 7}, -1), 53);
        assertThat(mapped.getAddress()).isInstanceOf(Inet6Address.class);
        assertThat(UmfursEncoder.headerLength(mapped)).isEqualTo(UmfursDecoder.IPV4_HEADER_LENGTH);
        assertThat(header(mapped, 0)).isEqualTo("01" + "c6336407" + "0035" + "0000");
    }

    @Test
    void headerLengthDependsOnTheFamily() {
        assertThat(UmfursEncoder.headerLength(V4)).isEqualTo(9);
        assertThat(UmfursEncoder.headerLength(V6)).isEqualTo(21);
    }

    @Test
    void rejectsAnUnresolvedSourcePortZeroAndOversizeLength() {
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        try {
            assertThatIllegalArgumentException().isThrownBy(() -> UmfursEncoder.encodeHeader(
                    InetSocketAddress.createUnresolved("example.com", 53), 0, out))
                    .withMessageEndingWith("(expected: an IP address, never a domain)");
            assertThatIllegalArgumentException().isThrownBy(() -> UmfursEncoder.encodeHeader(
                    new InetSocketAddress("192.0.2.1", 0), 0, out))
                    .withMessageEndingWith("(expected: a port in 1-65535)");
            assertThatIllegalArgumentException().isThrownBy(() -> UmfursEncoder.encodeHeader(V4, 65536, out))
                    .withMessage("payload: 65536 bytes (expected: 0-65535)");
            assertThat(out.writerIndex()).as("nothing written before the checks").isZero();
        } finally {
            out.release();
        }
    }

    @Test
    void encodeCopiesThePayloadAndLeavesItAsItWas() {
        ByteBuf payload = buf("616263");
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        try {
            UmfursEncoder.encode(V4, payload, out);
            assertThat(hex(CodecHarness.release(out.retain()))).isEqualTo("01c00002011f900003616263");
            assertThat(payload.readerIndex()).isZero();
        } finally {
            payload.release();
            out.release();
        }
    }

    @Test
    void messageRejectsWhatTheWireCannotCarry() {
        ByteBuf payload = buf("00");
        try {
            assertThatIllegalArgumentException()
                    .isThrownBy(() -> new UmfursMessage(payload, InetSocketAddress.createUnresolved("a.example", 1)))
                    .withMessageEndingWith("(expected: an IP address, never a domain)");
            assertThatIllegalArgumentException()
                    .isThrownBy(() -> new UmfursMessage(payload, new InetSocketAddress("192.0.2.1", 0)))
                    .withMessageEndingWith("(expected: a port in 1-65535)");
        } finally {
            payload.release();
        }
        ByteBuf big = ByteBufAllocator.DEFAULT.buffer(65536).writeZero(65536);
        try {
            assertThatIllegalArgumentException().isThrownBy(() -> new UmfursMessage(big, V4))
                    .withMessage("payload: 65536 bytes (expected: 0-65535)");
        } finally {
            big.release();
        }
    }

    @Test
    void messageDuplicatesKeepTheSourceAndShareReferencesCorrectly() {
        UmfursMessage m = new UmfursMessage(buf("0102"), V6);
        try {
            UmfursMessage copy = m.copy();
            assertThat(copy.source()).isEqualTo(V6);
            assertThat(copy.content()).isNotSameAs(m.content());
            copy.release();
            UmfursMessage dup = m.retainedDuplicate();
            assertThat(m.refCnt()).isEqualTo(2);
            assertThat(dup.source()).isEqualTo(V6);
            dup.release();
            assertThat(m.retain()).isSameAs(m);
            assertThat(m.refCnt()).isEqualTo(2);
            m.release();
        } finally {
            m.release();
        }
        assertThat(m.refCnt()).isZero();
    }

    private static String header(InetSocketAddress source, int length) {
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        UmfursEncoder.encodeHeader(source, length, out);
        assertThat(out.readableBytes()).isEqualTo(UmfursEncoder.headerLength(source));
        return hex(CodecHarness.release(out));
    }
}
