// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.udp.MuxFrame;
import dev.vless.codec.udp.UmfursMessage;
import dev.vless.spec.SpecRule;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;

/**
 * Shared plumbing of the codec tests: feeding bytes through decoders in chunks, turning what comes out into plain
 * values that compare by content, and releasing every buffer on the way, also when a decoder throws.
 */
public final class CodecHarness {

    private static final HexFormat HEX = HexFormat.of();

    private CodecHarness() {
    }

    /** A buffer that came out of a pipeline, compared by its bytes. */
    public record Payload(String hex) {

        /** The payload holding {@code bytes}. */
        public static Payload of(byte[] bytes) {
            return new Payload(HEX.formatHex(bytes));
        }

        /** The payload's bytes. */
        public byte[] bytes() {
            return HEX.parseHex(hex);
        }

        /** The number of bytes. */
        public int length() {
            return hex.length() / 2;
        }

        @Override
        public String toString() {
            // A 64 KiB payload in full would drown the assertion message.
            return "Payload[" + length() + " bytes: " + (hex.length() > 80 ? hex.substring(0, 80) + "…" : hex) + "]";
        }
    }

    /** A decoded UMFURS, compared by its source and payload bytes. */
    public record Datagram(InetSocketAddress source, Payload payload) {
    }

    /** A decoded UDP-MUX frame, compared by its address (type, host, port) and payload bytes. */
    public record Frame(VlessAddress address, Payload payload) {

        /** The frame to or from {@code host:port} (an IP literal or a name) carrying {@code hex}. */
        public static Frame of(String host, int port, String hex) {
            return new Frame(VlessAddress.of(host, port), Payload.of(CodecHarness.hex(hex)));
        }
    }

    /**
     * What a pipeline of decoders made of some input.
     *
     * @param messages     the inbound messages in order, as plain values ({@link Payload}, {@link Datagram}, records)
     * @param error        the first exception, from a write or from the end of stream; {@code null} if none
     * @param laterErrors  exceptions after the first (a failed decoder must stay quiet)
     * @param wroteNothing whether nothing was written outbound while the input was fed
     * @param open         whether the channel was open after the input was fed
     * @param handlersLeft the handler types in the pipeline after the input was fed
     */
    public record Outcome(List<Object> messages, Throwable error, List<Throwable> laterErrors, boolean wroteNothing,
            boolean open, List<Class<?>> handlersLeft) {

        /** The messages with runs of adjacent payloads joined, as a stream reader sees them. */
        public List<Object> joined() {
            return joinPayloads(messages);
        }
    }

    /**
     * An allocator that remembers every buffer it hands out, so a test can check exactly that all were released.
     * Its buffers are not leak-aware: Netty's detector records a stack trace on every access at PARANOID, which
     * makes thousands of decodes per property too slow, and this check is exact where the detector samples.
     */
    public static final class TrackingAllocator extends AbstractByteBufAllocator {

        private static final ByteBufAllocator UNTRACKED = new UnpooledByteBufAllocator(false, true);

        private final List<ByteBuf> allocated = new ArrayList<>();

        /** Creates an allocator with nothing handed out yet. */
        public TrackingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return track(UNTRACKED.heapBuffer(initialCapacity, maxCapacity));
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return track(UNTRACKED.directBuffer(initialCapacity, maxCapacity));
        }

        @Override
        public CompositeByteBuf compositeHeapBuffer(int maxNumComponents) {
            return track(new CompositeByteBuf(this, false, maxNumComponents));
        }

        @Override
        public CompositeByteBuf compositeDirectBuffer(int maxNumComponents) {
            return track(new CompositeByteBuf(this, true, maxNumComponents));
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        private <B extends ByteBuf> B track(B buf) {
            allocated.add(buf);
            return buf;
        }

        /** Fails if any buffer handed out since the last call is still referenced; then forgets them all. */
        public void assertAllReleased() {
            List<String> live = new ArrayList<>();
            for (ByteBuf b : allocated) {
                if (b.refCnt() != 0) {
                    live.add(b + " refCnt=" + b.refCnt());
                }
            }
            allocated.clear();
            assertThat(live).as("buffers never released").isEmpty();
        }
    }

    /**
     * One edit of a valid encoding, as a fuzzer would make it. Positions wrap around the input's length, so one
     * generated edit applies to input of any size.
     *
     * @param kind     flip a bit, replace, insert or delete a byte, or truncate
     * @param position where, modulo the length
     * @param value    the bit to flip (0-7) or the byte to write
     */
    public record Mutation(Kind kind, int position, int value) {

        /** What the edit does. */
        public enum Kind { FLIP, REPLACE, INSERT, DELETE, TRUNCATE }

        /** The edited copy of {@code in}. */
        public byte[] apply(byte[] in) {
            if (in.length == 0) {
                return kind == Kind.INSERT ? new byte[] {(byte) value} : in;
            }
            int at = Math.floorMod(position, in.length);
            byte[] out;
            switch (kind) {
                case FLIP:
                    out = in.clone();
                    out[at] ^= (byte) (1 << (value & 7));
                    return out;
                case REPLACE:
                    out = in.clone();
                    out[at] = (byte) value;
                    return out;
                case INSERT:
                    return concat(slice(in, 0, at), new byte[] {(byte) value}, slice(in, at, in.length - at));
                case DELETE:
                    return concat(slice(in, 0, at), slice(in, at + 1, in.length - at - 1));
                case TRUNCATE:
                    return slice(in, 0, at);
                default:
                    throw new AssertionError(kind);
            }
        }

        /** {@code in} after every edit of {@code edits}, in order. */
        public static byte[] applyAll(List<Mutation> edits, byte[] in) {
            byte[] out = in;
            for (Mutation m : edits) {
                out = m.apply(out);
            }
            return out;
        }
    }

    /** One to four edits; written bytes lean towards the values decoders branch on. */
    public static Gen<List<Mutation>> mutations() {
        Gen<Integer> values = Generate.frequency(
                Pair.of(1, Generate.pick(List.of(0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x20, 0x7f, 0x80, 0xff))),
                Pair.of(1, Generate.range(0, 255)));
        Gen<Mutation> one = Generate.enumValues(Mutation.Kind.class)
                .zip(Generate.range(0, Integer.MAX_VALUE), values, Mutation::new);
        return SourceDSL.lists().of(one).ofSizeBetween(1, 4);
    }

    /** Chunk sizes for splitting input into a random sequence of writes, mostly small. */
    public static Gen<int[]> chunkSizes() {
        Gen<Integer> size = Generate.frequency(Pair.of(4, Generate.range(1, 8)), Pair.of(2, Generate.range(9, 64)),
                Pair.of(1, Generate.range(65, 8192)));
        return Generate.intArrays(Generate.range(1, 12), size);
    }

    /** Arrays of random bytes of the generated sizes. */
    public static Gen<byte[]> byteArrays(Gen<Integer> sizes) {
        return Generate.byteArrays(sizes, Generate.bytes(Byte.MIN_VALUE, Byte.MAX_VALUE, (byte) 0));
    }

    /** Bytes from hex, ignoring spaces. */
    public static byte[] hex(String hex) {
        return HEX.parseHex(hex.replaceAll("\\s+", ""));
    }

    /** Hex of {@code bytes}. */
    public static String hex(byte[] bytes) {
        return HEX.formatHex(bytes);
    }

    /** A pooled buffer holding {@code bytes}; pooled so that the leak detector tracks it. */
    public static ByteBuf buf(byte[] bytes) {
        return buf(ByteBufAllocator.DEFAULT, bytes);
    }

    /** A buffer of {@code alloc} holding {@code bytes}. */
    public static ByteBuf buf(ByteBufAllocator alloc, byte[] bytes) {
        return alloc.buffer(bytes.length).writeBytes(bytes);
    }

    /** A pooled buffer holding the bytes of {@code hex}. */
    public static ByteBuf buf(String hex) {
        return buf(hex(hex));
    }

    /** The readable bytes of {@code buf}, releasing it. */
    public static byte[] release(ByteBuf buf) {
        try {
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    /** The arrays one after the other. */
    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** {@code n} bytes from index {@code from} of {@code bytes}. */
    public static byte[] slice(byte[] bytes, int from, int n) {
        byte[] b = new byte[n];
        System.arraycopy(bytes, from, b, 0, n);
        return b;
    }

    /** Turns a pipeline message into a plain value and releases it. */
    public static Object normalise(Object msg) {
        try {
            if (msg instanceof ByteBuf b) {
                return Payload.of(ByteBufUtil.getBytes(b));
            }
            if (msg instanceof UmfursMessage m) {
                return new Datagram(m.source(), Payload.of(ByteBufUtil.getBytes(m.content())));
            }
            if (msg instanceof MuxFrame f) {
                return new Frame(f.address(), Payload.of(ByteBufUtil.getBytes(f.content())));
            }
            return msg;
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    /** Every inbound message of {@code ch}, normalised and released. */
    public static List<Object> readInbound(EmbeddedChannel ch) {
        List<Object> out = new ArrayList<>();
        for (Object m; (m = ch.readInbound()) != null; ) {
            out.add(normalise(m));
        }
        return out;
    }

    /** Every outbound buffer of {@code ch} joined into one array, released. */
    public static byte[] readOutbound(EmbeddedChannel ch) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object m; (m = ch.readOutbound()) != null; ) {
            try {
                assertThat(m).isInstanceOf(ByteBuf.class);
                out.writeBytes(ByteBufUtil.getBytes((ByteBuf) m));
            } finally {
                ReferenceCountUtil.release(m);
            }
        }
        return out.toByteArray();
    }

    /** The bytes a stateless encoder writes for {@code msgs}, sent through a channel of its own. */
    public static byte[] encode(ChannelHandler encoder, Object... msgs) {
        return encode(ByteBufAllocator.DEFAULT, encoder, msgs);
    }

    /** The bytes a stateless encoder writes for {@code msgs} through a channel allocating from {@code alloc}. */
    public static byte[] encode(ByteBufAllocator alloc, ChannelHandler encoder, Object... msgs) {
        EmbeddedChannel ch = new EmbeddedChannel(encoder);
        ch.config().setAllocator(alloc);
        try {
            assertThat(ch.writeOutbound(msgs)).isTrue();
            return readOutbound(ch);
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    /** {@code data} cut at the given ascending positions. */
    public static List<byte[]> split(byte[] data, int... cuts) {
        List<byte[]> chunks = new ArrayList<>();
        int from = 0;
        for (int cut : cuts) {
            chunks.add(slice(data, from, cut - from));
            from = cut;
        }
        chunks.add(slice(data, from, data.length - from));
        return chunks;
    }

    /** {@code data} cut into chunks of the given sizes, cycling through them until the data ends. */
    public static List<byte[]> chunks(byte[] data, int[] sizes) {
        List<byte[]> chunks = new ArrayList<>();
        int from = 0;
        for (int i = 0; from < data.length; i++) {
            int n = Math.min(Math.max(1, sizes.length == 0 ? data.length : sizes[i % sizes.length]),
                    data.length - from);
            chunks.add(slice(data, from, n));
            from += n;
        }
        return chunks;
    }

    /**
     * Feeds {@code chunks} one write at a time into a fresh channel with the handlers {@code pipeline} makes, then
     * ends the stream if {@code endOfStream}. Catches every exception; releases every buffer.
     */
    public static Outcome decode(Supplier<ChannelHandler[]> pipeline, List<byte[]> chunks, boolean endOfStream) {
        return decode(ByteBufAllocator.DEFAULT, pipeline, chunks, endOfStream);
    }

    /** As {@link #decode(Supplier, List, boolean)}, with input and cumulation buffers from {@code alloc}. */
    public static Outcome decode(ByteBufAllocator alloc, Supplier<ChannelHandler[]> pipeline, List<byte[]> chunks,
            boolean endOfStream) {
        EmbeddedChannel ch = new EmbeddedChannel(pipeline.get());
        ch.config().setAllocator(alloc);
        List<Object> messages = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        boolean wroteNothing;
        boolean open;
        List<Class<?>> handlersLeft = new ArrayList<>();
        try {
            for (byte[] chunk : chunks) {
                try {
                    ch.writeInbound(buf(alloc, chunk));
                } catch (Throwable t) {
                    errors.add(t);
                }
                messages.addAll(readInbound(ch));
            }
            wroteNothing = ch.outboundMessages().isEmpty();
            open = ch.isOpen();
            ch.pipeline().toMap().values().forEach(h -> handlersLeft.add(h.getClass()));
            if (endOfStream) {
                try {
                    ch.finish();
                } catch (Throwable t) {
                    errors.add(t);
                }
                messages.addAll(readInbound(ch));
            }
        } finally {
            try {
                ch.finishAndReleaseAll();
            } catch (Throwable t) {
                // Without endOfStream this close is the harness tidying up, not input: a TRUNCATED here is expected.
                if (endOfStream) {
                    errors.add(t);
                }
            }
        }
        Throwable first = errors.isEmpty() ? null : errors.get(0);
        List<Throwable> later = errors.size() > 1 ? errors.subList(1, errors.size()) : List.of();
        return new Outcome(messages, first, later, wroteNothing, open, handlersLeft);
    }

    /** Feeds {@code data} in one write and ends the stream. */
    public static Outcome decodeWhole(Supplier<ChannelHandler[]> pipeline, byte[] data) {
        return decode(pipeline, List.of(data), true);
    }

    /**
     * Joins runs of adjacent {@link Payload}s and drops empty ones: once a header decoder has left, chunk boundaries
     * of the payload mean nothing.
     */
    public static List<Object> joinPayloads(List<Object> messages) {
        List<Object> out = new ArrayList<>();
        for (Object m : messages) {
            if (m instanceof Payload p && p.length() == 0) {
                continue;
            }
            if (m instanceof Payload p && !out.isEmpty() && out.get(out.size() - 1) instanceof Payload q) {
                out.set(out.size() - 1, Payload.of(concat(q.bytes(), p.bytes())));
            } else {
                out.add(m);
            }
        }
        return out;
    }

    /** The error as a comparable word: "none", the kind and rule of a {@link VlessProtocolException}, or itself. */
    public static String errorKind(Throwable t) {
        if (t == null) {
            return "none";
        }
        if (t instanceof VlessProtocolException e) {
            return e.error().slug() + " " + e.rule().id();
        }
        return t.toString();
    }

    /** Asserts that {@code t} is a {@link VlessProtocolException} of the given kind and rule, and returns it. */
    public static VlessProtocolException assertRejected(Throwable t, ProtocolError error, SpecRule rule) {
        assertThat(t).isInstanceOf(VlessProtocolException.class);
        VlessProtocolException e = (VlessProtocolException) t;
        assertThat(e.error()).as("error of %s", e.getMessage()).isEqualTo(error);
        assertThat(e.rule()).as("rule of %s", e.getMessage()).isEqualTo(rule);
        assertThat(e.getMessage()).startsWith(rule.id() + " " + error.slug() + ": ");
        return e;
    }

    /** Asserts the outcome of bad input: rejected as stated, nothing emitted or written, channel left open. */
    public static void assertRejectedQuietly(Outcome o, ProtocolError error, SpecRule rule) {
        assertRejected(o.error(), error, rule);
        assertThat(o.laterErrors()).as("errors after the first").isEmpty();
        assertThat(o.wroteNothing()).as("decoder wrote nothing").isTrue();
        assertThat(o.open()).as("channel still open").isTrue();
    }
}
