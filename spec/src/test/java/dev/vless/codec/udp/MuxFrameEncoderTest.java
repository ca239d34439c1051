// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import static dev.vless.codec.CodecHarness.buf;
import static dev.vless.codec.CodecHarness.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import dev.vless.codec.CodecHarness;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The static UDP-MUX frame encoder and the frame it writes (MUX-7, MUX-8, MUX-10). */
class MuxFrameEncoderTest {

    private static final InetSocketAddress V4 = new InetSocketAddress("192.0.2.1", 8080);
    private static final InetSocketAddress V6 = new InetSocketAddress("2001:db8::9", 443);

    @Test
    void writesAClientHeaderForEveryAddressTypeAddressBeforePort() {
        assertThat(clientHeader(VlessAddress.of("dummy.com", 5000), 4))
                .isEqualTo("02" + "09" + "64756d6d792e636f6d" + "1388" + "0004");
        assertThat(clientHeader(VlessAddress.of("192.0.2.1", 8080), 3)).isEqualTo("01" + "c0000201" + "1f90" + "0003");
        assertThat(clientHeader(VlessAddress.of("2001:db8::9", 443), 65535))
                .isEqualTo("03" + "20010db8000000000000000000000009" + "01bb" + "ffff");
    }

    @Test
    void aClientMayWriteAKeepaliveToPortZero() {
        // Appendix A.8's keepalive: an empty frame to 0.0.0.0 port 0, which the server discards (MUX-10).
        assertThat(clientHeader(VlessAddress.of("0.0.0.0", 0), 0)).isEqualTo("01" + "00000000" + "0000" + "0000");
    }

    @Test
    void headerLengthsMatchWhatIsWritten() {
        for (VlessAddress a : new VlessAddress[] {VlessAddress.of("a", 1), VlessAddress.of("dummy.com", 5000),
                VlessAddress.of("192.0.2.1", 53), VlessAddress.of("2001:db8::1", 53),
                VlessAddress.of("a".repeat(255), 65535)}) {
            assertThat(MuxFrameEncoder.headerLength(a)).as("%s", a).isEqualTo(clientHeader(a, 0).length() / 2);
        }
        assertThat(MuxFrameEncoder.headerLength(VlessAddress.of("a".repeat(255), 1))).isEqualTo(1 + 256 + 4);
        assertThat(MuxFrameEncoder.headerLength(V4)).isEqualTo(9);
        assertThat(MuxFrameEncoder.headerLength(V6)).isEqualTo(21);
    }

    @Test
    void aServerHeaderIsTheUmfursHeader() {
        for (InetSocketAddress source : new InetSocketAddress[] {V4, V6}) {
            for (int length : new int[] {0, 1, 32768, 65535}) {
                assertThat(hexOf(out -> MuxFrameEncoder.encodeHeader(source, length, out)))
                        .isEqualTo(hexOf(out -> UmfursEncoder.encodeHeader(source, length, out)));
            }
        }
        assertThat(hexOf(out -> MuxFrameEncoder.encodeHeader(new InetSocketAddress("127.0.0.3", 5000), 4, out)))
                .as("Appendix A.8's server frame header").isEqualTo("017f00000313880004");
    }

    @Test
    void aServerWritesAMappedSourceAsIpv4() throws Exception {
        InetSocketAddress mapped = new InetSocketAddress(Inet6Address.getByAddress(null,
                new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, (byte) 198, 51, 100, 7}, -1), 53);
        assertThat(MuxFrameEncoder.headerLength(mapped)).isEqualTo(9);
        assertThat(hexOf(out -> MuxFrameEncoder.encodeHeader(mapped, 0, out))).isEqualTo("01c633640700350000");
        // A frame made from the socket address is canonical too (ADR-4), so the generic encode agrees.
        MuxFrame f = MuxFrame.of(mapped, buf(""));
        try {
            assertThat(f.address().type()).isEqualTo(VlessAddressType.IPV4);
            assertThat(hexOf(out -> MuxFrameEncoder.encode(f, out))).isEqualTo("01c633640700350000");
        } finally {
            f.release();
        }
    }

    @Test
    void rejectsWhatTheWireCannotCarryBeforeWritingAnything() {
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        try {
            assertThatIllegalArgumentException().isThrownBy(() -> MuxFrameEncoder.encodeHeader(
                    VlessAddress.of("dummy.com", 53), 65536, out)).withMessage("payload: 65536 bytes (expected: 0-65535)");
            assertThatIllegalArgumentException().isThrownBy(() -> MuxFrameEncoder.encodeHeader(V4, 65536, out));
            // A server's frame never names a domain or port 0 (MUX-8, MUX-11).
            assertThatIllegalArgumentException().isThrownBy(() -> MuxFrameEncoder.encodeHeader(
                    InetSocketAddress.createUnresolved("dummy.com", 53), 0, out));
            assertThatIllegalArgumentException().isThrownBy(() -> MuxFrameEncoder.encodeHeader(
                    new InetSocketAddress("192.0.2.1", 0), 0, out));
            assertThat(out.writerIndex()).as("nothing written before the checks").isZero();
        } finally {
            out.release();
        }
    }

    @Test
    void encodeCopiesThePayloadAndLeavesTheFrameAsItWas() {
        MuxFrame f = new MuxFrame(VlessAddress.of("dummy.com", 5000), buf("70696e67"));
        try {
            assertThat(hexOf(out -> MuxFrameEncoder.encode(f, out)))
                    .as("Appendix A.8's client frame").isEqualTo("020964756d6d792e636f6d1388000470696e67");
            assertThat(f.content().readerIndex()).isZero();
            assertThat(f.refCnt()).isEqualTo(1);
        } finally {
            f.release();
        }
    }

    @Test
    void frameRejectsAnOversizePayloadAndNulls() {
        ByteBuf big = ByteBufAllocator.DEFAULT.buffer(65536).writeZero(65536);
        try {
            assertThatIllegalArgumentException().isThrownBy(() -> new MuxFrame(VlessAddress.of("a", 1), big))
                    .withMessage("payload: 65536 bytes (expected: 0-65535)");
        } finally {
            big.release();
        }
        ByteBuf payload = buf("00");
        try {
            assertThatNullPointerException().isThrownBy(() -> new MuxFrame(null, payload));
            assertThatNullPointerException().isThrownBy(() -> new MuxFrame(VlessAddress.of("a", 1), null));
        } finally {
            payload.release();
        }
    }

    @Test
    void frameDuplicatesKeepTheAddressAndShareReferencesCorrectly() {
        VlessAddress to = VlessAddress.of("dummy.com", 5000);
        MuxFrame f = new MuxFrame(to, buf("0102"));
        try {
            assertThat(f.hasIpAddress()).isFalse();
            assertThat(f).hasToString("MuxFrame[dummy.com:5000, 2 bytes]");
            MuxFrame copy = f.copy();
            assertThat(copy.address()).isEqualTo(to);
            assertThat(copy.content()).isNotSameAs(f.content());
            copy.release();
            MuxFrame dup = f.retainedDuplicate();
            assertThat(f.refCnt()).isEqualTo(2);
            assertThat(dup.address()).isEqualTo(to);
            dup.release();
            assertThat(f.duplicate().address()).isEqualTo(to);
            assertThat(f.retain()).isSameAs(f);
            assertThat(f.touch()).isSameAs(f);
            assertThat(f.touch("hint")).isSameAs(f);
            f.release();
        } finally {
            f.release();
        }
        assertThat(f.refCnt()).isZero();
        MuxFrame v6 = MuxFrame.of(V6, buf(""));
        try {
            assertThat(v6.hasIpAddress()).isTrue();
            assertThat(v6).hasToString("MuxFrame[[2001:db8::9]:443, 0 bytes]");
        } finally {
            v6.release();
        }
    }

    private static String clientHeader(VlessAddress destination, int length) {
        return hexOf(out -> MuxFrameEncoder.encodeHeader(destination, length, out));
    }

    private static String hexOf(Consumer<ByteBuf> writer) {
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        try {
            writer.accept(out);
            return hex(CodecHarness.release(out.retain()));
        } finally {
            out.release();
        }
    }
}
