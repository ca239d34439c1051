// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import static dev.vless.codec.CodecHarness.buf;
import static dev.vless.codec.CodecHarness.encode;
import static dev.vless.codec.CodecHarness.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vless.codec.CodecHarness;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.EncoderException;
import org.junit.jupiter.api.Test;

/** The UDP frame encoder: a two-byte length buffer in front of the untouched payload buffer. */
class UdpFrameEncoderTest {

    @Test
    void prefixesThePayloadWithItsLength() {
        assertThat(hex(encode(UdpFrameEncoder.INSTANCE, buf("68656c6c6f")))).isEqualTo("000568656c6c6f");
        assertThat(hex(encode(UdpFrameEncoder.INSTANCE, buf("")))).isEqualTo("0000");
    }

    @Test
    void writesLengthsAbove32767Unsigned() {
        for (int length : new int[] {32768, 65535}) {
            ByteBuf payload = ByteBufAllocator.DEFAULT.buffer(length).writeZero(length);
            byte[] wire = encode(UdpFrameEncoder.INSTANCE, payload);
            assertThat(wire).hasSize(2 + length);
            assertThat(hex(CodecHarness.slice(wire, 0, 2))).isEqualTo(String.format("%04x", length));
        }
    }

    @Test
    void passesThePayloadOnWithoutCopying() {
        EmbeddedChannel ch = new EmbeddedChannel(UdpFrameEncoder.INSTANCE);
        try {
            ByteBuf payload = buf("0102030405");
            payload.skipBytes(1);
            assertThat(ch.writeOutbound(payload)).isTrue();
            assertThat(hex(CodecHarness.release(ch.readOutbound()))).isEqualTo("0004");
            ByteBuf body = ch.readOutbound();
            assertThat(body).isSameAs(payload);
            assertThat(body.readerIndex()).isEqualTo(1);
            // The written reference is the one the caller gave away; nothing else holds the buffer.
            assertThat(body.refCnt()).isEqualTo(1);
            assertThat(body.release()).isTrue();
            assertThat(ch.finish()).isFalse();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void emptyPayloadStillGoesOutAsAnEmptyFrame() {
        EmbeddedChannel ch = new EmbeddedChannel(UdpFrameEncoder.INSTANCE);
        try {
            ByteBuf empty = buf("");
            ch.writeOutbound(empty);
            assertThat(hex(CodecHarness.release(ch.readOutbound()))).isEqualTo("0000");
            assertThat((Object) ch.readOutbound()).isSameAs(empty);
            empty.release();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void rejectsAnOversizePayloadAndReleasesIt() {
        EmbeddedChannel ch = new EmbeddedChannel(UdpFrameEncoder.INSTANCE);
        try {
            ByteBuf payload = ByteBufAllocator.DEFAULT.buffer(65536).writeZero(65536);
            Throwable t = catchThrowable(() -> ch.writeOutbound(payload));
            assertThat(t).isInstanceOf(EncoderException.class)
                    .hasRootCauseMessage("payload: 65536 bytes (expected: 0-65535)");
            assertThat(payload.refCnt()).isZero();
            assertThat(ch.outboundMessages()).isEmpty();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void staticEncodeCopiesAndLeavesThePayloadAsItWas() {
        ByteBuf payload = buf("616263");
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        try {
            UdpFrame.encode(payload, out);
            assertThat(hex(CodecHarness.release(out.retain()))).isEqualTo("0003616263");
            assertThat(payload.readerIndex()).isZero();
            assertThat(payload.refCnt()).isEqualTo(1);
        } finally {
            payload.release();
            out.release();
        }
        ByteBuf big = ByteBufAllocator.DEFAULT.buffer(65536).writeZero(65536);
        ByteBuf sink = ByteBufAllocator.DEFAULT.buffer();
        try {
            assertThatIllegalArgumentException().isThrownBy(() -> UdpFrame.encode(big, sink))
                    .withMessage("payload: 65536 bytes (expected: 0-65535)");
            assertThat(sink.writerIndex()).isZero();
        } finally {
            big.release();
            sink.release();
        }
    }

    @Test
    void sizesFollowTheSpec() {
        assertThat(UdpFrame.HEADER_LENGTH).isEqualTo(2);
        assertThat(UdpFrame.MAX_PAYLOAD).isEqualTo(65535);
        assertThat(UdpFrame.MAX_IPV4_PAYLOAD).isEqualTo(65535 - 20 - 8);
        assertThat(UdpFrame.MAX_IPV6_PAYLOAD).isEqualTo(65535 - 8);
    }

    @Test
    void passesOtherMessagesThroughAndIsSharable() {
        assertThat(UdpFrameEncoder.INSTANCE.isSharable()).isTrue();
        EmbeddedChannel ch = new EmbeddedChannel(UdpFrameEncoder.INSTANCE);
        ch.writeOutbound("not a buffer");
        assertThat((Object) ch.readOutbound()).isEqualTo("not a buffer");
        assertThat(ch.finish()).isFalse();
    }
}
