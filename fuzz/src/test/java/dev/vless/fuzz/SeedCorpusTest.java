// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vless.codec.ProtocolError;
import dev.vless.codec.VlessRequestDecoder;
import dev.vless.codec.VlessResponseHeaderDecoder;
import dev.vless.codec.udp.CrumfursAckDecoder;
import dev.vless.codec.udp.MuxAckDecoder;
import dev.vless.codec.udp.MuxFrameDecoder;
import dev.vless.codec.udp.MuxFrameDecoder.Direction;
import dev.vless.codec.udp.UdpFrameDecoder;
import dev.vless.codec.udp.UmfursDecoder;
import io.netty.channel.ChannelHandler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The committed seed corpus is a selection of the spec's test vectors ({@code spec/vectors/*.json}), each with a
 * split pattern appended. Checks that every seed file still holds its vector's bytes, and that the fuzz harness
 * decodes it as the vector says. Run with {@code -Dvless.fuzz.writeSeeds=true} to (re)write the files into
 * {@code src/test/resources} instead.
 *
 * <p>Seeds go where Jazzer's JUnit integration looks in regression mode and where it writes its findings:
 * {@code <package>/<TestClass>Inputs/<testMethod>/}, one file per vector, named by its ID. Vectors over a few
 * kilobytes are left out: the largest seed sets libFuzzer's input size limit, and long inputs slow every run.
 */
class SeedCorpusTest {

    static final String METHOD = "decodesOrRejectsCleanly";

    /**
     * Split patterns the seeds of a vector file cycle through: whole, byte by byte, at the UUID's end with an empty
     * chunk, ragged.
     */
    private static final int[][] SPLITS = {{}, {1, 1, 1, 1, 1, 1}, {17, 0, 1, 2}, {2, 3, 5, 7, 11}};

    /**
     * A fuzz target and the vectors, by file and ID, that seed it.
     *
     * @param decoders the decoder that reads a vector file's bytes, where it is not {@code decoder}: the UDP-MUX
     *                 frame target reads client and server streams
     */
    private record Target(Class<?> fuzzTest, Supplier<? extends ChannelHandler> decoder, boolean stream,
                          Map<String, List<String>> vectors, Map<String, Supplier<? extends ChannelHandler>> decoders) {

        Target(Class<?> fuzzTest, Supplier<? extends ChannelHandler> decoder, boolean stream,
               Map<String, List<String>> vectors) {
            this(fuzzTest, decoder, stream, vectors, Map.of());
        }

        Supplier<? extends ChannelHandler> decoderOf(String file) {
            return decoders.getOrDefault(file, decoder);
        }
    }

    private static final List<Target> TARGETS = List.of(
            new Target(VlessRequestDecoderFuzzTest.class, VlessRequestDecoder::new, true, Map.of(
                    "request-v1", List.of("v1-tcp-domain-with-payload", "v1-tcp-ipv6-ipv4-mapped",
                            "v1-tcp-domain-255-bytes", "v1-udp-with-empty-frame", "v1-mux-with-payload",
                            "v1-crumfurs-with-trailing", "v1-bad-version-tls-client-hello", "v1-unknown-command-06",
                            "v1-port-zero-before-address", "v1-unknown-address-type-04",
                            "v1-empty-domain-with-payload", "v1-domain-bad-byte-before-end",
                            "v1-truncated-inside-domain", "v1-udp-mux-with-frame"),
                    "request-v0", List.of("v0-tcp-domain-with-payload", "v0-addons-flow", "v0-longest-header",
                            "v0-mux", "v0-crumfurs-command-after-addons", "v0-socks5-domain-type",
                            "v0-truncated-inside-addons", "v0-udp-mux-command"))),
            new Target(VlessResponseHeaderDecoderFuzzTest.class, VlessResponseHeaderDecoder::new, true, Map.of(
                    "response-v0", List.of("v0rsp-empty", "v0rsp-with-data", "v0rsp-before-udp-frame",
                            "v0rsp-with-addons", "v0rsp-addons-255", "v0rsp-bad-version-01",
                            "v0rsp-v1-server-data", "v0rsp-truncated-after-version",
                            "v0rsp-truncated-inside-addons"))),
            new Target(UdpFrameDecoderFuzzTest.class, UdpFrameDecoder::new, false, Map.of(
                    "udp-frame", List.of("udp-empty-frame", "udp-ping", "udp-one-byte", "udp-several-frames",
                            "udp-truncated-inside-length", "udp-truncated-inside-length-high",
                            "udp-truncated-before-payload", "udp-truncated-inside-payload",
                            "udp-truncated-inside-32768-payload", "udp-truncated-after-frames"))),
            new Target(CrumfursAckDecoderFuzzTest.class, CrumfursAckDecoder::new, true, Map.of(
                    "crumfurs-ack", List.of("ack-alone", "ack-then-umfurs", "ack-then-byte-14", "ack-byte-00",
                            "ack-byte-15", "ack-byte-ff"))),
            new Target(UmfursDecoderFuzzTest.class, UmfursDecoder::new, false, Map.of(
                    "umfurs", List.of("umfurs-ipv4", "umfurs-ipv6", "umfurs-ipv4-empty-payload",
                            "umfurs-ipv4-mapped-source", "umfurs-several", "umfurs-domain-type", "umfurs-type-00",
                            "umfurs-port-before-address", "umfurs-source-port-zero-ipv6",
                            "umfurs-source-port-zero-before-length", "umfurs-bad-type-after-valid",
                            "umfurs-truncated-inside-length", "umfurs-truncated-ipv6-inside-payload",
                            "umfurs-truncated-after-valid"))),
            new Target(MuxAckDecoderFuzzTest.class, MuxAckDecoder::new, true, Map.of(
                    "mux-ack", List.of("mux-ack-alone", "mux-ack-then-frame", "mux-ack-then-byte-15",
                            "mux-ack-empty-stream", "mux-ack-byte-14", "mux-ack-http-answer",
                            "mux-ack-frame-without-answer"))),
            new Target(MuxFrameDecoderFuzzTest.class, () -> new MuxFrameDecoder(Direction.FROM_CLIENT), false,
                    Map.of("mux-frame-client", List.of("muxc-domain", "muxc-ipv6", "muxc-ipv4-mapped",
                                    "muxc-keepalive", "muxc-port-zero-padding", "muxc-several", "muxc-type-04",
                                    "muxc-after-request-command-2-frame", "muxc-empty-domain",
                                    "muxc-domain-byte-80", "muxc-domain-bad-byte-before-end",
                                    "muxc-bad-domain-after-keepalive", "muxc-truncated-inside-domain",
                                    "muxc-length-past-end", "muxc-truncated-after-valid"),
                            "mux-frame-server", List.of("muxs-ipv4", "muxs-ipv4-mapped-source",
                                    "muxs-ipv6-empty-payload", "muxs-several", "muxs-domain-type", "muxs-type-ff",
                                    "muxs-source-port-zero-before-length", "muxs-client-keepalive",
                                    "muxs-bad-type-after-valid", "muxs-truncated-inside-port-zero-high-byte",
                                    "muxs-truncated-after-valid")),
                    Map.of("mux-frame-server", () -> new MuxFrameDecoder(Direction.FROM_SERVER))));

    @Test
    void seedsAreTheirVectorsAndDecodeAsTheVectorsSay() throws IOException {
        boolean write = Boolean.getBoolean("vless.fuzz.writeSeeds");
        Map<String, JsonNode> vectors = readVectors();
        for (Target target : TARGETS) {
            String dir = target.fuzzTest().getPackageName().replace('.', '/') + "/"
                    + target.fuzzTest().getSimpleName() + "Inputs/" + METHOD;
            for (Map.Entry<String, List<String>> file : target.vectors().entrySet()) {
                int i = 0;
                for (String id : file.getValue()) {
                    JsonNode vector = vectors.get(file.getKey() + "/" + id);
                    assertThat(vector).as("vector %s in %s.json", id, file.getKey()).isNotNull();
                    FuzzSupport.Input input = new FuzzSupport.Input(
                            HexFormat.of().parseHex(vector.get("hex").asText()), SPLITS[i++ % SPLITS.length]);
                    checkDecoding(target, file.getKey(), input, vector);
                    Path relative = Path.of(dir, id);
                    if (write) {
                        Path path = Path.of("src/test/resources").resolve(relative);
                        Files.createDirectories(path.getParent());
                        Files.write(path, input.toSeed());
                        continue;
                    }
                    try (InputStream in = SeedCorpusTest.class.getResourceAsStream("/" + dir + "/" + id)) {
                        assertThat(in).as("%s (write it with -Dvless.fuzz.writeSeeds=true)", relative).isNotNull();
                        assertThat(in.readAllBytes()).as("%s", relative).isEqualTo(input.toSeed());
                    }
                }
            }
        }
    }

    private static void checkDecoding(Target target, String file, FuzzSupport.Input input, JsonNode vector) {
        FuzzSupport.Outcome outcome = FuzzSupport.decode(target.decoderOf(file), input, target.stream());
        String id = vector.get("id").asText();
        if (vector.get("valid").asBoolean()) {
            assertThat(outcome.error()).as("error decoding %s", id).isNull();
        } else {
            assertThat(outcome.error()).as("error decoding %s", id)
                    .isEqualTo(ProtocolError.bySlug(vector.get("error").asText()));
            assertThat(outcome.rule().id()).as("rule broken by %s", id).isEqualTo(vector.get("rule").asText());
        }
    }

    /** Every vector of the spec, keyed by file name (without {@code .json}) and ID. */
    private static Map<String, JsonNode> readVectors() throws IOException {
        // Surefire runs in the module's directory; the vectors are the spec module's, not packaged in a jar.
        Path dir = Path.of(System.getProperty("basedir", ".")).resolve("../spec/vectors").normalize();
        ObjectMapper json = new ObjectMapper();
        Map<String, JsonNode> vectors = new HashMap<>();
        for (Target target : TARGETS) {
            for (String file : target.vectors().keySet()) {
                for (JsonNode vector : json.readTree(dir.resolve(file + ".json").toFile()).get("vectors")) {
                    vectors.put(file + "/" + vector.get("id").asText(), vector);
                }
            }
        }
        return vectors;
    }
}
