// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec.vectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vless.codec.CrumfursAck;
import dev.vless.codec.MuxAck;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessProtocolException;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessRequestDecoder;
import dev.vless.codec.VlessResponseHeader;
import dev.vless.codec.VlessResponseHeaderDecoder;
import dev.vless.codec.VlessServerEncoder;
import dev.vless.codec.udp.CrumfursAckDecoder;
import dev.vless.codec.udp.MuxAckDecoder;
import dev.vless.codec.udp.MuxFrame;
import dev.vless.codec.udp.MuxFrameDecoder;
import dev.vless.codec.udp.MuxFrameEncoder;
import dev.vless.codec.udp.UdpFrame;
import dev.vless.codec.udp.UdpFrameDecoder;
import dev.vless.codec.udp.UdpFrameEncoder;
import dev.vless.codec.udp.UmfursDecoder;
import dev.vless.codec.udp.UmfursEncoder;
import dev.vless.codec.udp.UmfursMessage;
import dev.vless.spec.SpecRule;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.MessageToByteEncoder;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Checks the codec against the test vectors of {@code spec/vectors} (format in {@code spec/vectors/README.md}): each
 * valid vector through the static decoder and the Netty decoder, fed whole and in small pieces, and back through both
 * encoders; each invalid one for the error kind and rule it names.
 */
class VectorFileTest {

    private static final Path DIR = Path.of("vectors");
    private static final List<String> FILES = List.of("request-v1.json", "request-v0.json", "response-v0.json",
            "udp-frame.json", "crumfurs-ack.json", "umfurs.json", "mux-ack.json", "mux-frame-client.json",
            "mux-frame-server.json");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HexFormat HEX = HexFormat.of();
    private static final Pattern KEBAB = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");
    private static final Pattern LOWER_HEX = Pattern.compile("([0-9a-f]{2})*");
    private static final Pattern SPEC_SECTION = Pattern.compile("VLESS\\.md §[0-9]+");
    /** Above this many bytes a vector is fed in pieces of {@link #LARGE_PIECE} instead of byte by byte. */
    private static final int BYTE_BY_BYTE_LIMIT = 4096;
    private static final int LARGE_PIECE = 1021;
    /** Up to this many bytes a vector is also fed in two pieces, split at every position in turn. */
    private static final int SPLIT_EVERYWHERE_LIMIT = 256;
    /**
     * The rules §15.3 names in its last column: where a kind of error breaks a more specific rule than its default,
     * a vector may name that one (MUX frame errors name MUX-11 in any case, see {@link Message#errorRule}).
     */
    private static final Map<ProtocolError, SpecRule> ALSO_REPORTED_UNDER = Map.of(
            ProtocolError.COMMAND_NOT_IN_VERSION, SpecRule.MUX_1);

    @TestFactory
    Stream<DynamicContainer> codecDecodesEveryVectorAsSpecified() throws IOException {
        List<DynamicContainer> containers = new ArrayList<>();
        for (String name : FILES) {
            VectorFile file = VectorFile.read(DIR.resolve(name));
            Message message = Message.of(file.root().path("message").asText());
            List<DynamicTest> tests = new ArrayList<>();
            for (JsonNode vector : file.root().path("vectors")) {
                String id = vector.path("id").asText();
                tests.add(dynamicTest(id, file.uriOf(id), () -> {
                    if (vector.path("valid").asBoolean()) {
                        checkValid(message, vector);
                    } else {
                        checkInvalid(message, vector);
                    }
                }));
            }
            containers.add(dynamicContainer(name, file.path().toUri(), tests.stream()));
        }
        return containers.stream();
    }

    @Test
    void vectorFilesAreWellFormedAndCoverEveryErrorKind() throws IOException {
        Set<String> ids = new HashSet<>();
        Set<ProtocolError> kinds = EnumSet.noneOf(ProtocolError.class);
        int invalid = 0;
        for (String name : FILES) {
            JsonNode root = VectorFile.read(DIR.resolve(name)).root();
            String message = name.substring(0, name.length() - ".json".length());
            assertThat(root.path("message").asText()).as(name + " message").isEqualTo(message);
            Message kind = Message.of(message);
            assertThat(root.path("profile").asText()).as(name + " profile").isIn("v1", "v0", "both");
            assertThat(root.path("spec").asText()).as(name + " spec").matches(SPEC_SECTION);
            assertThat(root.path("vectors").isArray() && !root.path("vectors").isEmpty()).as(name + " vectors").isTrue();
            boolean sawValid = false;
            boolean sawInvalid = false;
            for (JsonNode v : root.path("vectors")) {
                String id = v.path("id").asText();
                String where = name + " " + id;
                assertThat(id).as(where + " id").matches(KEBAB);
                assertThat(ids.add(id)).as(where + " id unique across files").isTrue();
                assertThat(v.path("description").asText()).as(where + " description").isNotBlank();
                assertThat(v.path("hex").isTextual()).as(where + " hex").isTrue();
                assertThat(v.path("hex").asText()).as(where + " hex").matches(LOWER_HEX);
                assertThat(v.path("valid").isBoolean()).as(where + " valid").isTrue();
                if (v.path("valid").asBoolean()) {
                    sawValid = true;
                    assertThat(v.has("error") || v.has("rule") || v.has("at_eof")).as(where + " error fields").isFalse();
                    assertThat(v.path("rules").isArray() && !v.path("rules").isEmpty()).as(where + " rules").isTrue();
                    for (JsonNode rule : v.path("rules")) {
                        assertThat(SpecRule.byId(rule.asText())).as(where + " rule " + rule).isPresent();
                    }
                    if (kind.stream) {
                        assertThat(v.path("decoded").isArray()).as(where + " decoded").isTrue();
                        assertThat(v.has("trailing")).as(where + " trailing").isFalse();
                    } else {
                        assertThat(v.path("decoded").isObject()).as(where + " decoded").isTrue();
                        String trailing = v.path("trailing").asText(null);
                        assertThat(trailing).as(where + " trailing").isNotNull().matches(LOWER_HEX);
                        assertThat(v.path("hex").asText()).as(where + " hex ends with trailing").endsWith(trailing);
                    }
                    if (v.has("canonical_hex")) {
                        assertThat(v.path("canonical_hex").asText()).as(where + " canonical_hex").matches(LOWER_HEX);
                    }
                    if (kind == Message.REQUEST) {
                        assertThat(v.path("decoded").path("version").asInt())
                                .as(where + " version").isEqualTo(message.equals("request-v1") ? 1 : 0);
                    }
                } else {
                    sawInvalid = true;
                    invalid++;
                    assertThat(v.has("rules") || v.has("trailing") || v.has("canonical_hex"))
                            .as(where + " valid-only fields").isFalse();
                    ProtocolError error = ProtocolError.bySlug(v.path("error").asText());
                    kinds.add(error);
                    SpecRule rule = SpecRule.byId(v.path("rule").asText())
                            .orElseThrow(() -> new AssertionError(where + ": unknown rule " + v.path("rule")));
                    if (kind.errorRule != null) {
                        assertThat(rule).as(where + " rule of " + error.slug())
                                .isEqualTo(error == ProtocolError.TRUNCATED ? kind.truncatedRule : kind.errorRule);
                    } else if (error != ProtocolError.TRUNCATED) {
                        assertThat(rule).as(where + " rule of " + error.slug())
                                .isIn(error.defaultRule(), ALSO_REPORTED_UNDER.get(error));
                    }
                    if (v.has("at_eof")) {
                        assertThat(v.path("at_eof").asBoolean()).as(where + " at_eof is only ever true").isTrue();
                    }
                    // Only the end of the stream can show a truncation, and only a truncation needs the end, but for
                    // a UDP-MUX answer that never came (MUX-5).
                    assertThat(v.path("at_eof").asBoolean()).as(where + " at_eof").isEqualTo(
                            error == ProtocolError.TRUNCATED
                                    || error == ProtocolError.MUX_UNAVAILABLE && v.path("hex").asText().isEmpty());
                    if (v.has("decoded")) {
                        assertThat(kind.stream && v.path("decoded").isArray()).as(where + " decoded").isTrue();
                    }
                }
            }
            assertThat(sawValid && sawInvalid).as(name + " has valid and invalid vectors").isTrue();
        }
        assertThat(invalid).as("invalid vectors").isGreaterThanOrEqualTo(30);
        assertThat(kinds).as("error kinds with a vector").isEqualTo(EnumSet.allOf(ProtocolError.class));
    }

    /**
     * The worked examples of Appendix A and the vectors that say they are one must show the same bytes: each such
     * vector's bytes (without its trailing payload) start a code span in the example's subsection.
     */
    @Test
    void appendixExamplesShowTheirVectorsBytes() throws IOException {
        String doc = Files.readString(Path.of("VLESS.md"), StandardCharsets.UTF_8);
        Pattern appendix = Pattern.compile("^Appendix (A\\.[0-9]+)");
        int examples = 0;
        for (String name : FILES) {
            for (JsonNode v : VectorFile.read(DIR.resolve(name)).root().path("vectors")) {
                java.util.regex.Matcher m = appendix.matcher(v.path("description").asText());
                if (!m.find()) {
                    continue;
                }
                examples++;
                int start = doc.indexOf("\n### " + m.group(1) + " ");
                assertThat(start).as("%s: subsection %s in VLESS.md", v.path("id").asText(), m.group(1))
                        .isNotNegative();
                int end = doc.indexOf("\n##", start + 1);
                String section = doc.substring(start, end < 0 ? doc.length() : end);
                String hex = v.path("hex").asText();
                String header = hex.substring(0, hex.length() - v.path("trailing").asText("").length());
                // A code span that starts with them: A.2 shows a v0 response header with the data after it.
                assertThat(section).as("%s: its bytes in %s", v.path("id").asText(), m.group(1))
                        .contains("`" + header);
            }
        }
        assertThat(examples).as("vectors that are Appendix A examples").isGreaterThanOrEqualTo(15);
    }

    private static void checkValid(Message message, JsonNode vector) {
        byte[] wire = hex(vector.path("hex"));
        byte[] canonical = vector.has("canonical_hex") ? hex(vector.path("canonical_hex")) : wire;
        byte[] trailing = message.stream ? new byte[0] : hex(vector.path("trailing"));
        List<JsonNode> expected = expectedMessages(message, vector);

        List<Object> decoded = new ArrayList<>();
        ByteBuf in = buffer(wire, 0, wire.length);
        try {
            if (message.stream) {
                while (in.isReadable()) {
                    decoded.add(message.decode(in));
                }
            } else {
                decoded.add(message.decode(in));
                assertThat(ByteBufUtil.getBytes(in)).as("trailing bytes after the static decode").isEqualTo(trailing);
            }
            assertMessages(message, expected, decoded);
            assertThat(concat(encodeStatically(message, decoded), trailing)).as("static re-encoding")
                    .isEqualTo(canonical);
        } finally {
            in.release();
            decoded.forEach(ReferenceCountUtil::release);
        }

        for (Feed feed : Feed.of(wire)) {
            ChannelHandler decoder = message.newDecoder();
            EmbeddedChannel ch = new EmbeddedChannel(decoder);
            List<Object> out = new ArrayList<>();
            try {
                feed.write(ch, wire);
                drain(ch, out);
                List<Object> messages = new ArrayList<>(out);
                byte[] passedOn = new byte[0];
                if (!message.stream) {
                    assertThat(out).as(feed + ": header emitted").isNotEmpty();
                    messages = List.of(out.get(0));
                    ByteArrayOutputStream rest = new ByteArrayOutputStream();
                    for (Object o : out.subList(1, out.size())) {
                        assertThat(o).as(feed + ": payload after the header").isInstanceOf(ByteBuf.class);
                        rest.writeBytes(ByteBufUtil.getBytes((ByteBuf) o));
                    }
                    passedOn = rest.toByteArray();
                    assertThat(passedOn).as(feed + ": bytes passed on after the header").isEqualTo(trailing);
                    assertThat(ch.pipeline().context(decoder)).as(feed + ": the header decoder removed itself")
                            .isNull();
                }
                assertMessages(message, expected, messages);
                assertThat(concat(encodeInPipeline(message, messages), passedOn)).as(feed + ": pipeline re-encoding")
                        .isEqualTo(canonical);
                assertThat(ch.finish()).as(feed + ": nothing more at the end of the stream").isFalse();
            } finally {
                out.forEach(ReferenceCountUtil::release);
                ch.finishAndReleaseAll();
            }
        }
    }

    private static void checkInvalid(Message message, JsonNode vector) {
        byte[] wire = hex(vector.path("hex"));
        ProtocolError error = ProtocolError.bySlug(vector.path("error").asText());
        SpecRule rule = SpecRule.byId(vector.path("rule").asText()).orElseThrow();
        boolean atEof = vector.path("at_eof").asBoolean(false);
        List<JsonNode> before = expectedMessages(message, vector);

        List<Object> decoded = new ArrayList<>();
        ByteBuf in = buffer(wire, 0, wire.length);
        try {
            assertThatThrownBy(() -> {
                if (message.stream) {
                    while (in.isReadable()) {
                        decoded.add(message.decode(in));
                    }
                } else {
                    decoded.add(message.decode(in));
                }
            }).as("static decode").isInstanceOfSatisfying(VlessProtocolException.class,
                    e -> assertKind(e, error, rule));
            assertMessages(message, before, decoded);
        } finally {
            in.release();
            decoded.forEach(ReferenceCountUtil::release);
        }

        for (Feed feed : Feed.of(wire)) {
            EmbeddedChannel ch = new EmbeddedChannel(message.newDecoder());
            List<Object> out = new ArrayList<>();
            try {
                if (atEof) {
                    feed.write(ch, wire);
                    drain(ch, out);
                    assertMessages(message, before, out);
                    assertThatThrownBy(ch::finish).as(feed + ": end of stream")
                            .isInstanceOfSatisfying(VlessProtocolException.class, e -> assertKind(e, error, rule));
                } else {
                    assertThatThrownBy(() -> feed.write(ch, wire)).as(feed + ": before the end of stream")
                            .isInstanceOfSatisfying(VlessProtocolException.class, e -> assertKind(e, error, rule));
                    drain(ch, out);
                    assertMessages(message, before, out);
                }
            } finally {
                out.forEach(ReferenceCountUtil::release);
                ch.finishAndReleaseAll();
            }
        }
    }

    private static void assertKind(VlessProtocolException e, ProtocolError error, SpecRule rule) {
        assertThat(e.error().slug()).as("error kind of " + e.getMessage()).isEqualTo(error.slug());
        assertThat(e.rule().id()).as("rule of " + e.getMessage()).isEqualTo(rule.id());
    }

    private static List<JsonNode> expectedMessages(Message message, JsonNode vector) {
        List<JsonNode> expected = new ArrayList<>();
        if (!message.stream && vector.path("valid").asBoolean()) {
            expected.add(vector.path("decoded"));
        } else {
            vector.path("decoded").forEach(expected::add);
        }
        return expected;
    }

    private static void assertMessages(Message message, List<JsonNode> expected, List<Object> actual) {
        assertThat(actual).as("decoded messages").hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            message.assertDecoded(expected.get(i), actual.get(i));
        }
    }

    private static byte[] encodeStatically(Message message, List<Object> messages) {
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        try {
            for (Object m : messages) {
                message.encode(m, out);
            }
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
        }
    }

    private static byte[] encodeInPipeline(Message message, List<Object> messages) {
        EmbeddedChannel ch = new EmbeddedChannel(message.newEncoder());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            for (Object m : messages) {
                assertThat(ch.writeOutbound(message.outbound(m))).as("encoder output").isTrue();
            }
            for (ByteBuf b = ch.readOutbound(); b != null; b = ch.readOutbound()) {
                bytes.writeBytes(ByteBufUtil.getBytes(b));
                b.release();
            }
            assertThat(ch.finish()).isFalse();
        } finally {
            ch.finishAndReleaseAll();
        }
        return bytes.toByteArray();
    }

    private static void drain(EmbeddedChannel ch, List<Object> out) {
        for (Object o = ch.readInbound(); o != null; o = ch.readInbound()) {
            out.add(o);
        }
    }

    private static ByteBuf buffer(byte[] bytes, int offset, int length) {
        return ByteBufAllocator.DEFAULT.buffer(length).writeBytes(bytes, offset, length);
    }

    private static byte[] hex(JsonNode node) {
        return HEX.parseHex(node.asText());
    }

    private static String hex(ByteBuf buf) {
        return ByteBufUtil.hexDump(buf);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = new byte[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.path(field);
        assertThat(value.isTextual()).as(field + " in " + node).isTrue();
        return value.asText();
    }

    private static int number(JsonNode node, String field) {
        JsonNode value = node.path(field);
        assertThat(value.isInt()).as(field + " in " + node).isTrue();
        return value.asInt();
    }

    /** The bytes of an IP literal, by the JDK's parser rather than the codec's; never a DNS lookup. */
    private static byte[] ipBytes(String text, boolean ipv6) {
        if (ipv6) {
            assertThat(NetUtil.isValidIpV6Address(text)).as(text + " is an IPv6 literal").isTrue();
        } else {
            assertThat(NetUtil.isValidIpV4Address(text)).as(text + " is an IPv4 literal").isTrue();
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(text).getAddress();
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
        if (ipv6 && bytes.length == 4) {
            // The JDK hands ::ffff:a.b.c.d back as IPv4; the wire has all 16 bytes.
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(bytes, 0, mapped, 12, 4);
            return mapped;
        }
        return bytes;
    }

    private static void assertAddress(VlessAddress actual, JsonNode expected) {
        String type = text(expected, "address_type");
        String address = text(expected, "address");
        assertThat(actual.type().name().toLowerCase(Locale.ROOT)).as("address_type").isEqualTo(type);
        assertThat(actual.port()).as("port").isEqualTo(number(expected, "port"));
        if (actual.type() == VlessAddressType.DOMAIN) {
            assertThat(actual.host()).as("address").isEqualTo(address);
        } else {
            // IPv6 text has more than one spelling; the address is the bytes.
            boolean ipv6 = actual.type() == VlessAddressType.IPV6;
            assertThat(ipBytes(actual.host(), ipv6)).as("address " + address).isEqualTo(ipBytes(address, ipv6));
        }
    }

    private static void assertMuxFrame(JsonNode expected, Object actual) {
        assertThat(actual).isInstanceOf(MuxFrame.class);
        MuxFrame frame = (MuxFrame) actual;
        assertAddress(frame.address(), expected);
        assertThat(hex(frame.content())).as("payload").isEqualTo(text(expected, "payload"));
    }

    /** Writes a client's frames in a pipeline; the codec's encoder is static, as clients write frames directly. */
    private static final class ClientMuxFrameEncoder extends MessageToByteEncoder<MuxFrame> {

        ClientMuxFrameEncoder() {
            super(MuxFrame.class);
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, MuxFrame frame, ByteBuf out) {
            MuxFrameEncoder.encode(frame, out);
        }
    }

    /**
     * How the bytes of a vector reach the decoder: in one write, in small pieces, and (for short vectors) in two
     * pieces split at each position in turn, where a field that arrives in two parts or a header whose last byte
     * shares a write with the first payload byte shows a decoder's boundary bugs.
     *
     * @param name what the assertions call it
     * @param cuts where one write ends and the next begins, ascending
     */
    private record Feed(String name, int[] cuts) {

        static List<Feed> of(byte[] wire) {
            List<Feed> feeds = new ArrayList<>();
            feeds.add(new Feed("whole", new int[0]));
            // Byte by byte splits every field; large frames in pieces keep the run short.
            int piece = wire.length <= BYTE_BY_BYTE_LIMIT ? 1 : LARGE_PIECE;
            int[] small = new int[Math.max(0, (wire.length - 1) / piece)];
            for (int i = 0; i < small.length; i++) {
                small[i] = (i + 1) * piece;
            }
            feeds.add(new Feed(piece == 1 ? "byte by byte" : "in pieces of " + piece, small));
            if (wire.length <= SPLIT_EVERYWHERE_LIMIT) {
                for (int cut = 1; cut < wire.length; cut++) {
                    feeds.add(new Feed("split at " + cut, new int[] {cut}));
                }
            }
            return feeds;
        }

        void write(EmbeddedChannel ch, byte[] wire) {
            int from = 0;
            for (int cut : cuts) {
                ch.writeInbound(buffer(wire, from, cut - from));
                from = cut;
            }
            ch.writeInbound(buffer(wire, from, wire.length - from));
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** One message type of the vector files, with the codec entry points that handle it. */
    private enum Message {
        REQUEST(false) {
            @Override
            ChannelHandler newDecoder() {
                return new VlessRequestDecoder();
            }

            @Override
            Object decode(ByteBuf in) {
                return VlessRequestDecoder.decode(in);
            }

            @Override
            void assertDecoded(JsonNode expected, Object actual) {
                assertThat(actual).isInstanceOf(VlessRequest.class);
                VlessRequest request = (VlessRequest) actual;
                assertThat(request.version().byteValue() & 0xff).as("version").isEqualTo(number(expected, "version"));
                assertThat(request.user().toString()).as("user").isEqualTo(text(expected, "user"));
                assertThat(HEX.formatHex(request.addons())).as("addons").isEqualTo(text(expected, "addons"));
                assertThat(request.command().name().toLowerCase(Locale.ROOT).replace('_', '-')).as("command")
                        .isEqualTo(text(expected, "command"));
                if (expected.path("port").isNull()) {
                    assertThat(expected.path("address_type").isNull() && expected.path("address").isNull())
                            .as("no address fields without a port").isTrue();
                    assertThat(request.address()).as("address").isNull();
                } else {
                    assertAddress(request.address(), expected);
                }
            }

            @Override
            void encode(Object message, ByteBuf out) {
                VlessClientEncoder.encode((VlessRequest) message, out);
            }

            @Override
            ChannelHandler newEncoder() {
                return VlessClientEncoder.INSTANCE;
            }
        },
        RESPONSE_V0(false) {
            @Override
            ChannelHandler newDecoder() {
                return new VlessResponseHeaderDecoder();
            }

            @Override
            Object decode(ByteBuf in) {
                return VlessResponseHeaderDecoder.decode(in);
            }

            @Override
            void assertDecoded(JsonNode expected, Object actual) {
                assertThat(actual).isInstanceOf(VlessResponseHeader.class);
                assertThat(number(expected, "version")).as("version").isZero();
                assertThat(HEX.formatHex(((VlessResponseHeader) actual).addons())).as("addons")
                        .isEqualTo(text(expected, "addons"));
            }

            @Override
            void encode(Object message, ByteBuf out) {
                VlessServerEncoder.encode((VlessResponseHeader) message, out);
            }

            @Override
            ChannelHandler newEncoder() {
                return VlessServerEncoder.INSTANCE;
            }
        },
        UDP_FRAME(true) {
            @Override
            ChannelHandler newDecoder() {
                return new UdpFrameDecoder();
            }

            @Override
            Object decode(ByteBuf in) {
                return UdpFrameDecoder.decode(in);
            }

            @Override
            void assertDecoded(JsonNode expected, Object actual) {
                assertThat(actual).isInstanceOf(ByteBuf.class);
                assertThat(hex((ByteBuf) actual)).as("payload").isEqualTo(text(expected, "payload"));
            }

            @Override
            void encode(Object message, ByteBuf out) {
                UdpFrame.encode((ByteBuf) message, out);
            }

            @Override
            ChannelHandler newEncoder() {
                return UdpFrameEncoder.INSTANCE;
            }

            @Override
            Object outbound(Object message) {
                return ((ByteBuf) message).retainedDuplicate();
            }
        },
        CRUMFURS_ACK(false) {
            @Override
            ChannelHandler newDecoder() {
                return new CrumfursAckDecoder();
            }

            @Override
            Object decode(ByteBuf in) {
                return CrumfursAckDecoder.decode(in);
            }

            @Override
            void assertDecoded(JsonNode expected, Object actual) {
                assertThat(actual).isSameAs(CrumfursAck.INSTANCE);
                assertThat(HEX.toHexDigits(CrumfursAck.VALUE)).as("value").isEqualTo(text(expected, "value"));
            }

            @Override
            void encode(Object message, ByteBuf out) {
                // The codec has no static writer for one constant byte; VlessServerEncoder is checked in the pipeline.
                out.writeByte(CrumfursAck.VALUE);
            }

            @Override
            ChannelHandler newEncoder() {
                return VlessServerEncoder.INSTANCE;
            }
        },
        UMFURS(true) {
            @Override
            ChannelHandler newDecoder() {
                return new UmfursDecoder();
            }

            @Override
            Object decode(ByteBuf in) {
                return UmfursDecoder.decode(in);
            }

            @Override
            void assertDecoded(JsonNode expected, Object actual) {
                assertThat(actual).isInstanceOf(UmfursMessage.class);
                UmfursMessage message = (UmfursMessage) actual;
                InetSocketAddress source = message.source();
                String address = text(expected, "source_address");
                assertThat(source.getAddress().getAddress()).as("source_address " + address)
                        .isEqualTo(ipBytes(address, address.indexOf(':') >= 0));
                assertThat(source.getPort()).as("source_port").isEqualTo(number(expected, "source_port"));
                assertThat(hex(message.content())).as("payload").isEqualTo(text(expected, "payload"));
            }

            @Override
            void encode(Object message, ByteBuf out) {
                UmfursMessage umfurs = (UmfursMessage) message;
                UmfursEncoder.encode(umfurs.source(), umfurs.content(), out);
            }

            @Override
            ChannelHandler newEncoder() {
                return VlessServerEncoder.INSTANCE;
            }

            @Override
            Object outbound(Object message) {
                return ((UmfursMessage) message).retainedDuplicate();
            }
        },
        MUX_ACK(false) {
            @Override
            ChannelHandler newDecoder() {
                return new MuxAckDecoder();
            }

            @Override
            Object decode(ByteBuf in) {
                return MuxAckDecoder.decode(in);
            }

            @Override
            void assertDecoded(JsonNode expected, Object actual) {
                assertThat(actual).isSameAs(MuxAck.INSTANCE);
                assertThat(HEX.toHexDigits(MuxAck.VALUE)).as("value").isEqualTo(text(expected, "value"));
            }

            @Override
            void encode(Object message, ByteBuf out) {
                out.writeByte(MuxAck.VALUE);
            }

            @Override
            ChannelHandler newEncoder() {
                return VlessServerEncoder.INSTANCE;
            }
        },
        MUX_FRAME_CLIENT(true, SpecRule.MUX_11, SpecRule.MUX_12) {
            @Override
            ChannelHandler newDecoder() {
                return new MuxFrameDecoder(MuxFrameDecoder.Direction.FROM_CLIENT);
            }

            @Override
            Object decode(ByteBuf in) {
                return MuxFrameDecoder.decode(in, MuxFrameDecoder.Direction.FROM_CLIENT);
            }

            @Override
            void assertDecoded(JsonNode expected, Object actual) {
                assertMuxFrame(expected, actual);
            }

            @Override
            void encode(Object message, ByteBuf out) {
                MuxFrameEncoder.encode((MuxFrame) message, out);
            }

            @Override
            ChannelHandler newEncoder() {
                return new ClientMuxFrameEncoder();
            }

            @Override
            Object outbound(Object message) {
                return ((MuxFrame) message).retainedDuplicate();
            }
        },
        MUX_FRAME_SERVER(true, SpecRule.MUX_11, SpecRule.MUX_12) {
            @Override
            ChannelHandler newDecoder() {
                return new MuxFrameDecoder(MuxFrameDecoder.Direction.FROM_SERVER);
            }

            @Override
            Object decode(ByteBuf in) {
                return MuxFrameDecoder.decode(in, MuxFrameDecoder.Direction.FROM_SERVER);
            }

            @Override
            void assertDecoded(JsonNode expected, Object actual) {
                assertMuxFrame(expected, actual);
                assertThat(((MuxFrame) actual).hasIpAddress()).as("a source is an IP address").isTrue();
            }

            @Override
            void encode(Object message, ByteBuf out) {
                // The server's path: the header from the socket address a datagram came from.
                MuxFrame frame = (MuxFrame) message;
                ByteBuf payload = frame.content();
                MuxFrameEncoder.encodeHeader(frame.address().toInetSocketAddress(), payload.readableBytes(), out);
                out.writeBytes(payload, payload.readerIndex(), payload.readableBytes());
            }

            @Override
            ChannelHandler newEncoder() {
                // A server's frame is a UMFURS byte for byte (MUX-7), so the UMFURS encoder writes it.
                return VlessServerEncoder.INSTANCE;
            }

            @Override
            Object outbound(Object message) {
                MuxFrame frame = (MuxFrame) message;
                return new UmfursMessage(frame.content().retainedDuplicate(), frame.address().toInetSocketAddress());
            }
        };

        /** Whether a vector is a stream of messages (decoded is an array) rather than one header and trailing bytes. */
        final boolean stream;
        /** The rule every error but a truncation names in this file, or {@code null} for each kind's own. */
        final SpecRule errorRule;
        /** The rule a truncation names, where {@link #errorRule} is set. */
        final SpecRule truncatedRule;

        Message(boolean stream) {
            this(stream, null, null);
        }

        Message(boolean stream, SpecRule errorRule, SpecRule truncatedRule) {
            this.stream = stream;
            this.errorRule = errorRule;
            this.truncatedRule = truncatedRule;
        }

        static Message of(String name) {
            switch (name) {
                case "request-v1":
                case "request-v0":
                    return REQUEST;
                case "response-v0":
                    return RESPONSE_V0;
                case "udp-frame":
                    return UDP_FRAME;
                case "crumfurs-ack":
                    return CRUMFURS_ACK;
                case "umfurs":
                    return UMFURS;
                case "mux-ack":
                    return MUX_ACK;
                case "mux-frame-client":
                    return MUX_FRAME_CLIENT;
                case "mux-frame-server":
                    return MUX_FRAME_SERVER;
                default:
                    throw new AssertionError("unknown message: " + name);
            }
        }

        abstract ChannelHandler newDecoder();

        /** Decodes one message with the codec's static method, advancing {@code in}. */
        abstract Object decode(ByteBuf in);

        abstract void assertDecoded(JsonNode expected, Object actual);

        abstract void encode(Object message, ByteBuf out);

        abstract ChannelHandler newEncoder();

        /** What to write to the encoder: a message the encoder may release must not be the test's own copy. */
        Object outbound(Object message) {
            return message;
        }
    }

    /** A vector file, with the line of each vector for the test source URI. */
    private record VectorFile(Path path, JsonNode root, List<String> lines) {

        static VectorFile read(Path path) throws IOException {
            String text = Files.readString(path, StandardCharsets.UTF_8);
            return new VectorFile(path, JSON.readTree(text), text.lines().toList());
        }

        URI uriOf(String id) {
            String needle = "\"id\": \"" + id + "\"";
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).contains(needle)) {
                    return URI.create(path.toAbsolutePath().toUri() + "?line=" + (i + 1));
                }
            }
            return path.toAbsolutePath().toUri();
        }
    }
}
