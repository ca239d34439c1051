// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.codec.VlessRequestDecoder;
import dev.vless.codec.VlessServerEncoder;
import dev.vless.server.VlessServer;
import dev.vless.server.internal.ServerMetrics;
import dev.vless.server.internal.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.time.Duration;
import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The handshake handler on bad input, with the embedded channel's clock frozen: nothing is ever written, input is
 * consumed, and the channel closes exactly at the deadline, not a tick earlier, whatever was wrong (ERR-1..ERR-4).
 */
class HandshakeHandlerTest {

    static final UUID USER = UUID.fromString("a684455c-b14f-11ea-bf0d-42010aaa0003");
    static final Duration DEADLINE = Duration.ofMillis(500);

    private EventLoopGroup unusedWorkers;
    private ServerMetrics metrics;
    private ServerRuntime runtime;

    @BeforeEach
    void createRuntime() {
        // Bad input never reaches the NAT table or the resolver; their threads start only on first use.
        Transport transport = Transport.select(false);
        unusedWorkers = transport.newGroup(1, "unused");
        metrics = new ServerMetrics();
        runtime = new ServerRuntime(VlessServer.builder().user(USER).plaintext().handshakeTimeout(DEADLINE)
                .buildConfig(), metrics, transport, unusedWorkers, null);
    }

    @AfterEach
    void closeRuntime() {
        runtime.close();
        unusedWorkers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }

    /** A channel set up as the server sets up a plaintext connection without a fallback, its clock frozen. */
    EmbeddedChannel newChannel() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.freezeTime();
        ch.pipeline().addLast("vless-encoder", VlessServerEncoder.INSTANCE);
        ch.pipeline().addLast(HandshakeHandler.DECODER_NAME, new VlessRequestDecoder());
        ch.pipeline().addLast(HandshakeHandler.NAME, new HandshakeHandler(runtime));
        return ch;
    }

    static byte[] encode(VlessRequest r) {
        ByteBuf b = Unpooled.buffer();
        VlessClientEncoder.encode(r, b);
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        b.release();
        return out;
    }

    static byte[] validTcp() {
        return encode(VlessRequest.v1(USER, VlessCommand.TCP, VlessAddress.of("127.0.0.1", 80)));
    }

    static Stream<Arguments> badInputs() {
        byte[] portZero = validTcp();
        portZero[18] = 0;
        portZero[19] = 0;
        byte[] unknownCommand = validTcp();
        unknownCommand[17] = 9;
        byte[] unknownType = validTcp();
        unknownType[20] = 7;
        return Stream.of(
                Arguments.of("unknown user", encode(VlessRequest.v1(UUID.randomUUID(), VlessCommand.TCP,
                        VlessAddress.of("127.0.0.1", 80)))),
                Arguments.of("unknown user on CRUMFURS", encode(VlessRequest.crumfurs(UUID.randomUUID()))),
                Arguments.of("version 7", new byte[] {7, 1, 2, 3}),
                Arguments.of("Mux", encode(VlessRequest.v1(USER, VlessCommand.MUX, null))),
                Arguments.of("unknown command", unknownCommand),
                Arguments.of("unknown address type", unknownType),
                Arguments.of("port 0", portZero));
    }

    /** Advances the frozen clock to just before the deadline and then onto it, checking the channel at both. */
    static void assertClosesExactlyAtTheDeadline(EmbeddedChannel ch) {
        ch.advanceTimeBy(DEADLINE.toMillis() - 1, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("open until the deadline").isTrue();
        ch.advanceTimeBy(1, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("closed at the deadline").isFalse();
    }

    @Test
    @DisplayName("ERR-1, ERR-2, ERR-3 · bad input: nothing written, input consumed, closed exactly at the deadline")
    void badInputClosesExactlyAtTheDeadline() {
        badInputs().forEach(a -> {
            String what = (String) a.get()[0];
            long before = metrics.badInput.sum();
            EmbeddedChannel ch = newChannel();
            ch.writeInbound(Unpooled.wrappedBuffer((byte[]) a.get()[1]));
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[100])); // more input is read and discarded
            assertThat((Object) ch.readOutbound()).as("%s: no byte, ever", what).isNull();
            assertThat((Object) ch.readInbound()).as("%s: nothing passed on", what).isNull();
            assertThat(metrics.badInput.sum()).as(what).isEqualTo(before + 1);
            assertClosesExactlyAtTheDeadline(ch);
            assertThat((Object) ch.readOutbound()).as(what).isNull();
            assertThat(ch.finish()).as(what).isFalse();
        });
        assertThat(metrics.handshakeTimeouts.sum()).as("the headers were complete; bad, not late").isZero();
    }

    @Test
    @DisplayName("ERR-4 · an incomplete header times out at the deadline and is counted as such")
    void incompleteHeaderTimesOutAtTheDeadline() {
        EmbeddedChannel ch = newChannel();
        ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOf(validTcp(), 20)));
        assertThat(metrics.badInput.sum()).isZero();
        assertClosesExactlyAtTheDeadline(ch);
        assertThat(metrics.handshakeTimeouts.sum()).isEqualTo(1);
        assertThat(metrics.badInput.sum()).isEqualTo(1);
        assertThat((Object) ch.readOutbound()).isNull();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    @DisplayName("ERR-4 · bytes arriving during the handshake never move the deadline")
    void arrivingBytesDoNotExtendTheDeadline() {
        EmbeddedChannel ch = newChannel();
        byte[] header = validTcp();
        for (int i = 0; i < 4; i++) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {header[i]}));
            ch.advanceTimeBy(100, TimeUnit.MILLISECONDS);
            ch.runScheduledPendingTasks();
        }
        assertThat(ch.isOpen()).isTrue();
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {header[4]}));
        ch.advanceTimeBy(99, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).isTrue();
        ch.advanceTimeBy(1, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("closed 500 ms after accept despite the trickle").isFalse();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    @DisplayName("HDR-12, ERR-3 · a stream that ends inside the header is bad input, closed at the deadline, not at once")
    void endOfStreamInsideTheHeaderWaitsForTheDeadline() {
        EmbeddedChannel ch = newChannel();
        ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOf(validTcp(), 21)));
        ch.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(metrics.badInput.sum()).isEqualTo(1);
        assertClosesExactlyAtTheDeadline(ch);
        assertThat((Object) ch.readOutbound()).isNull();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    @DisplayName("HDR-12 · a stream that ends before its first byte is bad input too")
    void endOfStreamBeforeAnyByte() {
        EmbeddedChannel ch = newChannel();
        ch.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(metrics.badInput.sum()).isEqualTo(1);
        assertClosesExactlyAtTheDeadline(ch);
        assertThat(ch.finish()).isFalse();
    }
}
