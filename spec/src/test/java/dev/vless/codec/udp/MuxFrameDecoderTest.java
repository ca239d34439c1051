// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.udp;

import static dev.vless.codec.CodecHarness.assertRejected;
import static dev.vless.codec.CodecHarness.assertRejectedQuietly;
import static dev.vless.codec.CodecHarness.buf;
import static dev.vless.codec.CodecHarness.concat;
import static dev.vless.codec.CodecHarness.decode;
import static dev.vless.codec.CodecHarness.decodeWhole;
import static dev.vless.codec.CodecHarness.hex;
import static dev.vless.codec.CodecHarness.slice;
import static dev.vless.codec.CodecHarness.split;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.vless.codec.CodecHarness;
import dev.vless.codec.CodecHarness.Frame;
import dev.vless.codec.CodecHarness.Outcome;
import dev.vless.codec.CodecHarness.Payload;
import dev.vless.codec.CodecHarness.TrackingAllocator;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.udp.MuxFrameDecoder.Direction;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The UDP-MUX frame decoder, both directions (MUX-7 to MUX-12). */
class MuxFrameDecoderTest {

    private static final Supplier<ChannelHandler[]> FROM_CLIENT =
            () -> new ChannelHandler[] {new MuxFrameDecoder(Direction.FROM_CLIENT)};
    private static final Supplier<ChannelHandler[]> FROM_SERVER =
            () -> new ChannelHandler[] {new MuxFrameDecoder(Direction.FROM_SERVER)};

    /** Appendix A.8: "ping" to dummy.com:5000. */
    private static final byte[] TO_DOMAIN = hex("02 09 64756d6d792e636f6d 1388 0004 70696e67");
    /** "abc" to or from 192.0.2.1:8080: also a UMFURS. */
    private static final byte[] V4 = hex("01 c0000201 1f90 0003 616263");
    /** An empty datagram to or from [2001:db8::9]:443. */
    private static final byte[] V6 = hex("03 20010db8000000000000000000000009 01bb 0000");
    /** 0xff to or from ::ffff:198.51.100.7 port 53, which decodes as IPv4 (ADR-4). */
    private static final byte[] MAPPED = hex("03 00000000000000000000ffffc6336407 0035 0001 ff");
    /** Appendix A.8's keepalive: an empty frame to 0.0.0.0 port 0. */
    private static final byte[] KEEPALIVE = hex("01 00000000 0000 0000");

    private static final Frame DOMAIN_FRAME = Frame.of("dummy.com", 5000, "70696e67");
    private static final Frame V4_FRAME = Frame.of("192.0.2.1", 8080, "616263");
    private static final Frame V6_FRAME = Frame.of("2001:db8::9", 443, "");
    private static final Frame MAPPED_FRAME = Frame.of("198.51.100.7", 53, "ff");
    private static final Frame KEEPALIVE_FRAME = Frame.of("0.0.0.0", 0, "");

    private static final byte[] CLIENT_STREAM = concat(TO_DOMAIN, V4, V6, MAPPED, KEEPALIVE);
    private static final List<Object> CLIENT_FRAMES =
            List.of(DOMAIN_FRAME, V4_FRAME, V6_FRAME, MAPPED_FRAME, KEEPALIVE_FRAME);
    private static final byte[] SERVER_STREAM = concat(V4, V6, MAPPED);
    private static final List<Object> SERVER_FRAMES = List.of(V4_FRAME, V6_FRAME, MAPPED_FRAME);

    @Test
    void decodesEveryAddressTypeFromAClientAndPortZero() {
        Outcome o = decodeWhole(FROM_CLIENT, CLIENT_STREAM);
        assertThat(o.error()).isNull();
        assertThat(o.messages()).isEqualTo(CLIENT_FRAMES);
        assertThat(((Frame) o.messages().get(0)).address().type()).isEqualTo(VlessAddressType.DOMAIN);
        assertThat(o.handlersLeft()).contains(MuxFrameDecoder.class);
    }

    @Test
    void decodesIpv4AndIpv6FromAServer() {
        Outcome o = decodeWhole(FROM_SERVER, SERVER_STREAM);
        assertThat(o.error()).isNull();
        assertThat(o.messages()).isEqualTo(SERVER_FRAMES);
    }

    @Test
    void canonicalisesAMappedAddressToIpv4InBothDirections() {
        for (Supplier<ChannelHandler[]> decoder : List.of(FROM_CLIENT, FROM_SERVER)) {
            Frame f = (Frame) decodeWhole(decoder, MAPPED).messages().get(0);
            assertThat(f.address().type()).isEqualTo(VlessAddressType.IPV4);
            assertThat(f.address().host()).isEqualTo("198.51.100.7");
        }
    }

    @Test
    void aServerFrameIsAUmfursByteForByte() {
        Outcome mux = decodeWhole(FROM_SERVER, SERVER_STREAM);
        Outcome umfurs = decodeWhole(() -> new ChannelHandler[] {new UmfursDecoder()}, SERVER_STREAM);
        assertThat(umfurs.error()).isNull();
        assertThat(mux.messages()).hasSameSizeAs(umfurs.messages());
        for (int i = 0; i < mux.messages().size(); i++) {
            Frame f = (Frame) mux.messages().get(i);
            CodecHarness.Datagram d = (CodecHarness.Datagram) umfurs.messages().get(i);
            assertThat(f.address().toInetSocketAddress()).isEqualTo(d.source());
            assertThat(f.payload()).isEqualTo(d.payload());
        }
    }

    @Test
    void splitAtEveryOffsetDecodesTheSame() {
        for (int cut = 1; cut < CLIENT_STREAM.length; cut++) {
            Outcome o = decode(FROM_CLIENT, split(CLIENT_STREAM, cut), true);
            assertThat(o.error()).as("cut at %d", cut).isNull();
            assertThat(o.messages()).as("cut at %d", cut).isEqualTo(CLIENT_FRAMES);
        }
        for (int cut = 1; cut < SERVER_STREAM.length; cut++) {
            Outcome o = decode(FROM_SERVER, split(SERVER_STREAM, cut), true);
            assertThat(o.error()).as("cut at %d", cut).isNull();
            assertThat(o.messages()).as("cut at %d", cut).isEqualTo(SERVER_FRAMES);
        }
        Outcome slow = decode(FROM_CLIENT, CodecHarness.chunks(CLIENT_STREAM, new int[] {1}), true);
        assertThat(slow.messages()).isEqualTo(CLIENT_FRAMES);
    }

    @Test
    void incompleteFrameEmitsNothingAndKeepsWaiting() {
        for (int n = 1; n < TO_DOMAIN.length; n++) {
            Outcome o = decode(FROM_CLIENT, List.of(slice(TO_DOMAIN, 0, n)), false);
            assertThat(o.error()).as("%d bytes", n).isNull();
            assertThat(o.messages()).as("%d bytes", n).isEmpty();
            assertThat(o.open()).isTrue();
        }
    }

    @Test
    void streamEndingInsideAFrameIsTruncatedAfterTheCompleteOnes() {
        for (Supplier<ChannelHandler[]> decoder : List.of(FROM_CLIENT, FROM_SERVER)) {
            for (int n = 1; n < V4.length; n++) {
                Outcome o = decode(decoder, List.of(concat(V4, slice(V6, 0, Math.min(n, V6.length - 1)))), true);
                assertRejected(o.error(), ProtocolError.TRUNCATED, SpecRule.MUX_12);
                assertThat(o.messages()).containsExactly(V4_FRAME);
                assertThat(o.laterErrors()).isEmpty();
            }
        }
        // A length past the end: only the end of the stream tells.
        byte[] long65535 = concat(hex("01 c0000201 1f90 ffff"), new byte[10]);
        Outcome waiting = decode(FROM_CLIENT, List.of(long65535), false);
        assertThat(waiting.error()).isNull();
        assertRejected(decodeWhole(FROM_CLIENT, long65535).error(), ProtocolError.TRUNCATED, SpecRule.MUX_12);
    }

    @Test
    void aClientFrameWithAnUnknownTypeFailsOnItsFirstByte() {
        for (int b = 0; b < 256; b++) {
            if (b >= 1 && b <= 3) {
                continue;
            }
            // The type byte alone, without the end of the stream: the error cannot wait for more.
            Outcome o = decode(FROM_CLIENT, List.of(concat(V4, new byte[] {(byte) b})), false);
            assertRejectedQuietly(o, ProtocolError.UNKNOWN_ADDRESS_TYPE, SpecRule.MUX_11);
            assertThat(o.messages()).as("type 0x%02x", b).containsExactly(V4_FRAME);
        }
    }

    @Test
    void aServerFrameNamingADomainOrAnUnknownTypeFailsOnItsFirstByte() {
        for (int b = 0; b < 256; b++) {
            if (b == 1 || b == 3) {
                continue;
            }
            Outcome o = decode(FROM_SERVER, List.of(new byte[] {(byte) b}), false);
            assertRejectedQuietly(o, ProtocolError.BAD_SOURCE_TYPE, SpecRule.MUX_11);
            assertThat(o.messages()).isEmpty();
        }
        // Appendix A.8's client frame, sent by a server.
        assertRejected(decodeWhole(FROM_SERVER, TO_DOMAIN).error(), ProtocolError.BAD_SOURCE_TYPE, SpecRule.MUX_11);
    }

    @Test
    void sourcePortZeroFromAServerFailsWhenThePortArrives() {
        byte[] portZero = hex("01 c0000201 0000");
        Outcome early = decode(FROM_SERVER, List.of(slice(portZero, 0, 6)), false);
        assertThat(early.error()).as("one byte of the port is not yet port 0").isNull();
        Outcome o = decode(FROM_SERVER, List.of(portZero), false);
        assertRejectedQuietly(o, ProtocolError.SOURCE_PORT_ZERO, SpecRule.MUX_11);
        assertRejected(decodeWhole(FROM_SERVER, KEEPALIVE).error(), ProtocolError.SOURCE_PORT_ZERO, SpecRule.MUX_11);
        // The same bytes from a client are a valid no-op frame (MUX-10).
        assertThat(decodeWhole(FROM_CLIENT, KEEPALIVE).messages()).containsExactly(KEEPALIVE_FRAME);
    }

    @Test
    void domainErrorsFailAsSoonAsTheByteArrives() {
        Outcome empty = decode(FROM_CLIENT, List.of(hex("02 00")), false);
        assertRejectedQuietly(empty, ProtocolError.EMPTY_DOMAIN, SpecRule.MUX_11);
        for (int bad : new int[] {0x00, 0x20, 0x7f, 0x80, 0xff}) {
            byte[] name = hex("02 0b 6578616d706c652e636f6d 1388 0000");
            name[5] = (byte) bad; // the fourth byte of the name
            // Fed byte by byte, the decoder fails on exactly the write of the bad byte.
            assertThat(failingWrite(Direction.FROM_CLIENT, name)).as("byte 0x%02x", bad).isEqualTo(5);
            assertRejected(decodeWhole(FROM_CLIENT, name).error(), ProtocolError.INVALID_DOMAIN, SpecRule.MUX_11);
        }
        assertThat(failingWrite(Direction.FROM_CLIENT, hex("05 00"))).isZero();
        assertThat(failingWrite(Direction.FROM_SERVER, hex("01 c0000201 0000 0001"))).isEqualTo(6);
    }

    @Test
    void discardsEverythingAfterAFailure() {
        Outcome o = decode(FROM_CLIENT, List.of(hex("00"), V4, CLIENT_STREAM), true);
        assertRejectedQuietly(o, ProtocolError.UNKNOWN_ADDRESS_TYPE, SpecRule.MUX_11);
        assertThat(o.messages()).as("nothing believed after a frame error").isEmpty();
        Outcome partial = decode(FROM_SERVER, List.of(concat(V4, hex("02")), slice(V4, 0, 4)), true);
        assertThat(partial.messages()).containsExactly(V4_FRAME);
        assertThat(partial.laterErrors()).as("no truncation reported at the end after a frame error").isEmpty();
    }

    @Test
    void decodesTheLongestClientFrame() {
        char[] name = new char[255];
        Arrays.fill(name, 'a');
        byte[] payload = new byte[UdpFrame.MAX_PAYLOAD];
        Arrays.fill(payload, (byte) 0x5a);
        byte[] header = concat(hex("02 ff"), new String(name).getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                hex("ffff ffff"));
        byte[] wire = concat(header, payload);
        assertThat(wire).hasSize(1 + 1 + 255 + 2 + 2 + 65535);
        Outcome o = decode(FROM_CLIENT, CodecHarness.chunks(wire, new int[] {100, 1, 4096}), true);
        assertThat(o.error()).isNull();
        assertThat(o.messages()).containsExactly(new Frame(new VlessAddress(VlessAddressType.DOMAIN,
                new String(name), 65535), Payload.of(payload)));
    }

    @Test
    void staticDecodeHoldsARetainedSliceAndFrameLengthReadsNothing() {
        TrackingAllocator alloc = new TrackingAllocator();
        ByteBuf in = CodecHarness.buf(alloc, concat(hex("ee"), TO_DOMAIN, V4));
        try {
            in.skipBytes(1); // a reader index that is not 0
            for (int n = 0; n < TO_DOMAIN.length; n++) {
                ByteBuf prefix = in.slice(in.readerIndex(), n);
                assertThat(MuxFrameDecoder.frameLength(prefix, Direction.FROM_CLIENT)).as("%d bytes", n)
                        .isEqualTo(-1);
                assertThat(prefix.readerIndex()).isZero();
            }
            assertThat(MuxFrameDecoder.frameLength(in, Direction.FROM_CLIENT)).isEqualTo(TO_DOMAIN.length);
            assertThat(in.readerIndex()).isEqualTo(1);
            MuxFrame f = MuxFrameDecoder.decode(in, Direction.FROM_CLIENT);
            try {
                assertThat(f.address()).isEqualTo(VlessAddress.of("dummy.com", 5000));
                assertThat(CodecHarness.hex(io.netty.buffer.ByteBufUtil.getBytes(f.content()))).isEqualTo("70696e67");
                assertThat(in.refCnt()).as("the frame shares the input").isEqualTo(2);
            } finally {
                f.release();
            }
            MuxFrame g = MuxFrameDecoder.decode(in, Direction.FROM_SERVER);
            g.release();
            assertThat(in.isReadable()).isFalse();
            assertRejected(catchThrowable(() -> MuxFrameDecoder.decode(in, Direction.FROM_CLIENT)),
                    ProtocolError.TRUNCATED, SpecRule.MUX_12);
        } finally {
            in.release();
        }
        alloc.assertAllReleased();
        ByteBuf bad = buf("02 09 64756d6d792e636f6d 1388 0004 70696e67");
        try {
            assertRejected(catchThrowable(() -> MuxFrameDecoder.frameLength(bad, Direction.FROM_SERVER)),
                    ProtocolError.BAD_SOURCE_TYPE, SpecRule.MUX_11);
            assertThat(bad.readerIndex()).isZero();
        } finally {
            bad.release();
        }
    }

    @Test
    void isAStatefulHandlerOfItsOwnConnection() {
        assertThat(new MuxFrameDecoder(Direction.FROM_CLIENT).isSharable()).isFalse();
        assertThat(catchThrowable(() -> new MuxFrameDecoder(null))).isInstanceOf(NullPointerException.class);
    }

    /** Writes {@code wire} one byte at a time and returns the index of the byte whose write failed, or -1. */
    private static int failingWrite(Direction direction, byte[] wire) {
        EmbeddedChannel ch = new EmbeddedChannel(new MuxFrameDecoder(direction));
        try {
            for (int i = 0; i < wire.length; i++) {
                try {
                    ch.writeInbound(buf(new byte[] {wire[i]}));
                } catch (VlessProtocolException e) {
                    return i;
                }
            }
            return -1;
        } finally {
            for (Object m; (m = ch.readInbound()) != null; ) {
                ReferenceCountUtil.release(m);
            }
            try {
                ch.finishAndReleaseAll();
            } catch (VlessProtocolException e) {
                // the stream ends inside a frame: expected when nothing failed
            }
        }
    }
}
