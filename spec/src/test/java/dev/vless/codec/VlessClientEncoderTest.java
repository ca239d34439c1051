// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static dev.vless.codec.CodecHarness.buf;
import static dev.vless.codec.CodecHarness.encode;
import static dev.vless.codec.CodecHarness.hex;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The client's request encoder: exact bytes for known requests, and payload passing through. */
class VlessClientEncoderTest {

    private static final String U = "a684455cb14f11eabf0d42010aaa0003";
    private static final UUID USER = UUID.fromString("a684455c-b14f-11ea-bf0d-42010aaa0003");

    @Test
    void writesTheV0ExampleOfWireFacts() {
        VlessRequest r = VlessRequest.v0(USER, VlessCommand.TCP, VlessAddress.of("dummy.com", 80));
        assertThat(hex(encode(VlessClientEncoder.INSTANCE, r)))
                .isEqualTo("00" + U + "00" + "01" + "0050" + "02" + "09" + "64756d6d792e636f6d");
    }

    @Test
    void writesV1WithoutAddonsByte() {
        VlessRequest r = VlessRequest.v1(USER, VlessCommand.TCP, VlessAddress.of("192.0.2.1", 443));
        assertThat(hex(encode(VlessClientEncoder.INSTANCE, r))).isEqualTo("01" + U + "01" + "01bb" + "01" + "c0000201");
    }

    @Test
    void writesCrumfursAsExactly18Bytes() {
        byte[] wire = encode(VlessClientEncoder.INSTANCE, VlessRequest.crumfurs(USER));
        assertThat(hex(wire)).isEqualTo("01" + U + "04");
        assertThat(wire).hasSize(VlessRequest.CRUMFURS_LENGTH);
    }

    @Test
    void writesIpv6AndMappedAddressesAsSixteenBytes() {
        assertThat(hex(encode(VlessClientEncoder.INSTANCE,
                VlessRequest.v1(USER, VlessCommand.UDP, VlessAddress.of("2001:db8::1", 53)))))
                .isEqualTo("01" + U + "02" + "0035" + "03" + "20010db8000000000000000000000001");
        // The request keeps what its builder said; only UMFURS sources are canonicalised on the wire.
        assertThat(hex(encode(VlessClientEncoder.INSTANCE,
                VlessRequest.v1(USER, VlessCommand.TCP, VlessAddress.of("::ffff:192.0.2.1", 65535)))))
                .isEqualTo("01" + U + "01" + "ffff" + "03" + "00000000000000000000ffffc0000201");
    }

    @Test
    void writesV0AddonsAndMux() {
        VlessRequest r = new VlessRequest(VlessVersion.V0, USER, hex("0a00"), VlessCommand.MUX, null);
        assertThat(hex(encode(VlessClientEncoder.INSTANCE, r))).isEqualTo("00" + U + "02" + "0a00" + "03");
    }

    @Test
    void staticEncodeWritesEncodedLengthBytes() {
        VlessRequest longest = new VlessRequest(VlessVersion.V0, USER, new byte[255], VlessCommand.UDP,
                VlessAddress.of("q".repeat(255), 65535));
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        try {
            VlessClientEncoder.encode(longest, out);
            assertThat(out.readableBytes()).isEqualTo(longest.encodedLength()).isEqualTo(VlessRequest.MAX_LENGTH);
        } finally {
            out.release();
        }
    }

    @Test
    void sendsHeaderAndFirstPayloadInOneFlushWithThePayloadUntouched() {
        EmbeddedChannel ch = new EmbeddedChannel(VlessClientEncoder.INSTANCE);
        try {
            ByteBuf payload = buf("474554202f");
            ch.write(VlessRequest.crumfurs(USER));
            ch.write(payload);
            assertThat(ch.outboundMessages()).isEmpty();
            ch.flush();
            ByteBuf header = ch.readOutbound();
            assertThat(hex(CodecHarness.release(header))).isEqualTo("01" + U + "04");
            ByteBuf passed = ch.readOutbound();
            assertThat(passed).isSameAs(payload);
            assertThat(passed.refCnt()).isEqualTo(1);
            passed.release();
            assertThat(ch.finish()).isFalse();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void isAStatelessSharableSingleton() {
        assertThat(VlessClientEncoder.INSTANCE.isSharable()).isTrue();
        EmbeddedChannel a = new EmbeddedChannel(VlessClientEncoder.INSTANCE);
        EmbeddedChannel b = new EmbeddedChannel(VlessClientEncoder.INSTANCE);
        assertThat(a.finish()).isFalse();
        assertThat(b.finish()).isFalse();
    }
}
