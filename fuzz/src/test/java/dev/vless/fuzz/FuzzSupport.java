// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.udp.MuxFrame;
import dev.vless.spec.SpecRule;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What the decoder fuzz targets share: reading the fuzzer's input, feeding it through a decoder in an
 * {@link EmbeddedChannel} in chunks and in one piece, and checking the invariants every decoder owes its pipeline.
 *
 * <p>Input layout (what a seed file holds): the bytes to decode, then one byte per chunk length in reverse order,
 * then the number of chunk lengths (0-16). {@link FuzzedDataProvider} reads numbers from the end of the data, so a
 * fuzzer's mutation of the message bytes leaves the split points alone and the other way round.
 */
final class FuzzSupport {

    /** The most split points one input chooses; more add little once every field boundary can be hit. */
    static final int MAX_CUTS = 16;

    private FuzzSupport() {
    }

    /** The bytes to decode and where to split them, both chosen by the fuzzer. */
    record Input(byte[] bytes, int[] chunkLengths) {

        /** Reads an input laid out as the class comment describes. */
        static Input from(FuzzedDataProvider data) {
            int[] lengths = new int[data.consumeInt(0, MAX_CUTS)];
            for (int i = 0; i < lengths.length; i++) {
                lengths[i] = data.consumeInt(0, 255);
            }
            return new Input(data.consumeRemainingAsBytes(), lengths);
        }

        /** The seed-file form of this input, the inverse of {@link #from}. */
        byte[] toSeed() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(bytes);
            for (int i = chunkLengths.length - 1; i >= 0; i--) {
                out.write(chunkLengths[i]);
            }
            out.write(chunkLengths.length);
            return out.toByteArray();
        }
    }

    /** A copy of a {@code ByteBuf} a decoder emitted, compared by content. */
    record Payload(byte[] bytes) {

        @Override
        public boolean equals(Object o) {
            return o instanceof Payload p && Arrays.equals(bytes, p.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Payload[" + HexFormat.of().formatHex(bytes) + "]";
        }
    }

    /** A copy of an {@link AddressedEnvelope} a decoder emitted: its sender and its content. */
    record Datagram(SocketAddress sender, Payload payload) {
    }

    /** A copy of a {@link MuxFrame} a decoder emitted: its address and its content. */
    record Frame(VlessAddress address, Payload payload) {
    }

    /**
     * What a decoder made of one input, with every buffer copied out and released.
     *
     * @param messages what reached the end of the pipeline, in order; buffers as {@link Payload}, envelopes as
     *                 {@link Datagram}, UDP-MUX frames as {@link Frame}
     * @param error    the kind of the one {@link VlessProtocolException} thrown, or {@code null}
     * @param rule     the rule that exception named, or {@code null}
     * @param removed  whether the decoder had left the pipeline before the stream ended
     */
    record Outcome(List<Object> messages, ProtocolError error, SpecRule rule, boolean removed) {

        /** The messages from {@code index} on, which must all be payload, as one byte array. */
        byte[] payloadFrom(int index) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Object m : messages.subList(index, messages.size())) {
                assertThat(m).as("message after the header").isInstanceOf(Payload.class);
                out.writeBytes(((Payload) m).bytes());
            }
            return out.toByteArray();
        }
    }

    /**
     * Decodes {@code input} twice with fresh decoders, split as the fuzzer chose and in one piece, checks that both
     * give the same outcome and that neither wrote, closed or leaked, and returns it.
     *
     * @param stream whether the decoder's buffer output is one byte stream (payload after a header), whose
     *               division into buffers means nothing; otherwise each buffer is a message of its own
     */
    static Outcome decode(Supplier<? extends ChannelHandler> decoder, Input input, boolean stream) {
        Outcome split = decode(decoder.get(), input.bytes(), input.chunkLengths(), stream);
        Outcome whole = decode(decoder.get(), input.bytes(), new int[0], stream);
        assertThat(split).as("the same input in one piece").isEqualTo(whole);
        return whole;
    }

    /** Checks that a rejection names a kind of bad input this decoder can meet. */
    static void assertErrorIsOneOf(Outcome outcome, Set<ProtocolError> expected) {
        if (outcome.error() != null) {
            assertThat(outcome.error()).isIn(expected);
        }
    }

    /** The bytes {@code encoder} writes into a fresh buffer. */
    static byte[] encode(Consumer<ByteBuf> encoder) {
        ByteBuf buf = Unpooled.buffer();
        try {
            encoder.accept(buf);
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    private static Outcome decode(ChannelHandler decoder, byte[] bytes, int[] chunkLengths, boolean stream) {
        TrackingAllocator alloc = new TrackingAllocator();
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(alloc); // the decoder's cumulation buffers are counted too
        ch.pipeline().addLast(decoder);

        List<Object> received = new ArrayList<>();
        VlessProtocolException error = null;
        int receivedAtError = -1; // how many messages had come out when the decoder rejected its input
        int offset = 0;
        for (int i = 0; i <= chunkLengths.length; i++) {
            int length = i < chunkLengths.length ? Math.min(chunkLengths[i], bytes.length - offset)
                    : bytes.length - offset;
            ByteBuf chunk = alloc.buffer(length).writeBytes(bytes, offset, length);
            offset += length;
            try {
                ch.writeInbound(chunk);
            } catch (VlessProtocolException e) {
                assertThat(error).as("a second exception after %s", error).isNull();
                error = e;
            }
            drain(ch, received);
            if (error != null && receivedAtError < 0) {
                receivedAtError = received.size();
            }
            assertThat(ch.outboundMessages()).as("a decoder never writes").isEmpty();
            assertThat(ch.isOpen()).as("a decoder never closes").isTrue();
        }
        boolean removed = ch.pipeline().context(decoder) == null;
        try {
            ch.finish();
        } catch (VlessProtocolException e) {
            assertThat(error).as("a second exception after %s", error).isNull();
            error = e;
        }
        drain(ch, received);
        assertThat(ch.outboundMessages()).as("a decoder never writes").isEmpty();
        if (receivedAtError >= 0) {
            assertThat(received).as("output after %s, which is final", error).hasSize(receivedAtError);
        }
        alloc.assertAllReleased();
        return new Outcome(stream ? joinPayloads(received) : received, error == null ? null : error.error(),
                error == null ? null : error.rule(), removed);
    }

    /** Copies and releases everything that reached the end of the pipeline. */
    private static void drain(EmbeddedChannel ch, List<Object> received) {
        for (Object msg = ch.readInbound(); msg != null; msg = ch.readInbound()) {
            try {
                if (msg instanceof ByteBuf buf) {
                    received.add(new Payload(ByteBufUtil.getBytes(buf)));
                } else if (msg instanceof MuxFrame frame) {
                    received.add(new Frame(frame.address(), new Payload(ByteBufUtil.getBytes(frame.content()))));
                } else if (msg instanceof AddressedEnvelope<?, ?> envelope && envelope.content() instanceof ByteBuf) {
                    ByteBuf content = (ByteBuf) envelope.content();
                    received.add(new Datagram(envelope.sender(), new Payload(ByteBufUtil.getBytes(content))));
                } else {
                    received.add(msg);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    /** Joins adjacent payloads and drops empty ones: how a byte stream is cut into buffers carries no meaning. */
    private static List<Object> joinPayloads(List<Object> messages) {
        List<Object> joined = new ArrayList<>();
        ByteArrayOutputStream pending = new ByteArrayOutputStream();
        for (Object m : messages) {
            if (m instanceof Payload p) {
                pending.writeBytes(p.bytes());
                continue;
            }
            if (pending.size() > 0) {
                joined.add(new Payload(pending.toByteArray()));
                pending.reset();
            }
            joined.add(m);
        }
        if (pending.size() > 0) {
            joined.add(new Payload(pending.toByteArray()));
        }
        return joined;
    }

    /**
     * An unpooled allocator that remembers every buffer it hands out. Checking that each has reached reference count
     * 0 catches a leak at the very input that caused it, also while fuzzing, where the GC-driven leak detector only
     * reports long after the input is gone. Unpooled, so a released buffer is never recycled into a live one; leak
     * aware, so the leak detector still sees these buffers too.
     */
    private static final class TrackingAllocator extends AbstractByteBufAllocator {

        private final List<ByteBuf> allocated = new ArrayList<>();

        TrackingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return track(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity));
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return track(new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity));
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        private ByteBuf track(ByteBuf buf) {
            ByteBuf leakAware = toLeakAwareBuffer(buf);
            allocated.add(leakAware);
            return leakAware;
        }

        void assertAllReleased() {
            for (int i = 0; i < allocated.size(); i++) {
                assertThat(allocated.get(i).refCnt()).as("reference count of buffer %d of %d", i + 1,
                        allocated.size()).isZero();
            }
        }
    }
}
