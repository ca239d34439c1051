// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.testing;

import static java.util.Objects.requireNonNull;

import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.server.DestinationFilter;
import dev.vless.server.ServerStats;
import dev.vless.server.VlessServer;
import dev.vless.server.VlessServerBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts a reference server for a test class (or, after {@link #runForEachTest()}, for each test) and stops it
 * afterwards. Register it as a static field:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final VlessServerExtension server = new VlessServerExtension(b -> b.handshakeTimeout(SHORT_HANDSHAKE));
 * }</pre>
 *
 * <p>The server listens on {@code 127.0.0.1:0}, in plaintext, serves {@link #USER} (and {@link #OTHER_USER}), and
 * allows loopback destinations, so that tests can use peers on 127.0.0.0/8 and ::1. Subclasses may override
 * {@link #configure(VlessServerBuilder)} instead of passing a customiser.
 */
public class VlessServerExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback {

    /** The user every test server serves. */
    public static final UUID USER = UUID.fromString("a684455c-b14f-11ea-bf0d-42010aaa0003");
    /** A second user, for isolation tests. */
    public static final UUID OTHER_USER = UUID.fromString("0b6e2a3f-5c1d-4e8f-9a7b-123456789abc");
    /** A handshake deadline short enough to wait for in a test (ERR-4 allows the deadline plus 1 s). */
    public static final Duration SHORT_HANDSHAKE = Duration.ofMillis(500);

    private final Consumer<VlessServerBuilder> customiser;
    private boolean perTest;
    private VlessServer server;

    /** A server with the test defaults. */
    public VlessServerExtension() {
        this(b -> { });
    }

    /** A server with the test defaults, then {@code customiser}'s settings. */
    public VlessServerExtension(Consumer<VlessServerBuilder> customiser) {
        this.customiser = requireNonNull(customiser, "customiser");
    }

    /** Starts a fresh server for each test instead of one for the class: for tests that compare counters. */
    public VlessServerExtension runForEachTest() {
        this.perTest = true;
        return this;
    }

    /** Adjusts the builder after the test defaults were applied; the default applies the customiser. */
    protected void configure(VlessServerBuilder builder) {
        customiser.accept(builder);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (!perTest) {
            start();
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        if (perTest || server == null) {
            start(); // also covers registration on an instance field, where beforeAll is not called
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        if (perTest) {
            stop();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        stop();
    }

    private void start() throws Exception {
        VlessServerBuilder b = VlessServer.builder()
                .listen(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
                .plaintext()
                .user(USER)
                .user(OTHER_USER)
                .destinations(DestinationFilter.allowingLoopback())
                .ioThreads(2);
        configure(b);
        server = b.build().start().get(10, TimeUnit.SECONDS);
    }

    private void stop() throws Exception {
        VlessServer s = server;
        server = null;
        if (s != null) {
            s.stop().get(10, TimeUnit.SECONDS);
        }
    }

    /** The running server. */
    public VlessServer server() {
        if (server == null) {
            throw new IllegalStateException("server not started (register the extension on a static field)");
        }
        return server;
    }

    /** Where the server listens. */
    public InetSocketAddress address() {
        return server().localAddress();
    }

    /** The server's counters now. */
    public ServerStats stats() {
        return server().stats();
    }

    /** A new plaintext connection to the server. */
    public TestClient connect() throws IOException {
        return TestClient.connect(address());
    }

    /** A new plaintext connection to the server from {@code localIp} (such as 127.0.0.2): another client IP. */
    public TestClient connectFrom(String localIp) throws IOException {
        return TestClient.connect(address(), InetAddress.getByName(localIp));
    }

    /** A new connection that has sent {@code request} and {@code payload} in one write. */
    public TestClient open(VlessRequest request, byte[]... payload) throws IOException {
        return connect().sendHeader(request, payload);
    }

    /** A v1 command-2 connection of {@link #USER} to {@code target}. */
    public TestClient openUdp(InetSocketAddress target) throws IOException {
        return open(TestClient.v1(USER, VlessCommand.UDP, target));
    }

    /** A UDP-MUX connection (command 5) of {@link #USER}, its 0x15 already read. */
    public TestClient openMux() throws IOException {
        return open(VlessRequest.mux(USER)).expectMuxAck();
    }

    /** A CRUMFURS connection of {@link #USER}, its acknowledgement already read. */
    public TestClient openCrumfurs() throws IOException {
        return open(VlessRequest.crumfurs(USER)).expectCrumfursAck();
    }
}
