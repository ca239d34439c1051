// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.cases;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.ConformanceExtension;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.conformance.client.ClientCases;
import dev.vless.conformance.client.ClientHarness;
import dev.vless.conformance.client.ScriptedServer;
import dev.vless.conformance.client.ServerConnection;
import dev.vless.conformance.client.SocksApplication;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** §8 and §18 from the client's side: frames on command-2 connections, and the connections themselves. */
@ClientCases
@Tag("udp")
public class ClientUdpCases {

    @Test
    @Tag("UDP-1")
    @Tag("CLI-4")
    @DisplayName("UDP-1 · CLI-4 · each application datagram is one frame with exactly its payload, and each reply reaches the application whole")
    public void framesCarryDatagrams(ClientHarness h) throws Exception {
        PerRemote.refuseMux(h);
        UdpPeer peer = h.udpPeer(0).echo();
        SocksApplication.Udp app = h.udp();
        int[] sizes = {1, 100, 1200, 4000, 1};
        for (int i = 0; i < sizes.length; i++) {
            roundTrip(h, app, peer, PerRemote.pattern(sizes[i], i), "UDP-1");
        }
        ServerConnection udp = h.server().await(c -> c.is(VlessCommand.UDP), Duration.ZERO);
        if (udp != null) {
            h.log().note("frames on " + udp.label() + ": " + udp.frames().size());
        }
    }

    @Test
    @Tag("UDP-2")
    @DisplayName("UDP-2 · empty, 40 000- and 65 000-byte datagrams cross the client whole both ways, and a 65 535-byte frame is skipped whole (lengths are unsigned)")
    public void emptyAndLargeDatagrams(ClientHarness h) throws Exception {
        PerRemote.refuseMux(h);
        UdpPeer peer = h.udpPeer(0).echo();
        SocksApplication.Udp app = h.udp();
        roundTrip(h, app, peer, "warm-up".getBytes(), "UDP-1");
        roundTrip(h, app, peer, new byte[0], "UDP-2");
        roundTrip(h, app, peer, PerRemote.pattern(40_000, 5), "UDP-2");
        roundTrip(h, app, peer, PerRemote.pattern(65_000, 6), "UDP-2");
        // The largest frame a server may write: 65 535 bytes, more than a UDP datagram to the application can hold.
        // The client cannot hand it over whole; it must read it as one frame and stay in step with the next.
        ServerConnection udp = h.server().await(c -> c.is(VlessCommand.UDP) && !c.ended(), Duration.ZERO);
        if (udp == null) {
            return; // the datagrams went another way (UDP-MUX): the frame layout above is all there is to see
        }
        byte[] after = "after the 65535-byte frame".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        java.io.ByteArrayOutputStream two = new java.io.ByteArrayOutputStream();
        two.writeBytes(ServerConnection.frame(PerRemote.pattern(65_535, 8)));
        two.writeBytes(ServerConnection.frame(after));
        udp.write(two.toByteArray());
        SocksApplication.Udp.Received next = app.receive(h.ioTimeout());
        if (next != null && next.payload().length != after.length) {
            throw new AssertionError("CLI-4: the application got " + next.payload().length + " B of the server's"
                    + " 65 535-byte datagram, which no UDP datagram to it can hold whole: a cut datagram is not the"
                    + " datagram (the client should drop it)");
        }
        PerRemote.expectDatagram("UDP-2", "the frame after a 65 535-byte frame (the length read as unsigned, the"
                + " big frame skipped whole)", next, peer.address(), after);
    }

    /**
     * Sends {@code payload} to the echo {@code peer}: the server must get it as one datagram with exactly that
     * payload, the peer must get it, and the echo must come back to the application whole, labelled with the peer.
     */
    private static void roundTrip(ClientHarness h, SocksApplication.Udp app, UdpPeer peer, byte[] payload, String rule)
            throws Exception {
        int before = h.server().datagrams().size();
        app.send(peer.address(), payload);
        ScriptedServer.ClientDatagram d = h.server().awaitDatagram(x -> h.server().datagrams().indexOf(x) >= before,
                h.ioTimeout());
        if (d == null) {
            throw new AssertionError((payload.length == 0 || payload.length > 32767 ? rule : "CLI-4") + ": the"
                    + " application's " + payload.length + "-byte datagram to " + peer.address() + " never reached"
                    + " the server within " + h.ioTimeout().toMillis() + " ms");
        }
        if (!Arrays.equals(d.payload(), payload)) {
            throw new AssertionError("CLI-4: the application sent " + payload.length + " B " + WireLog.hex(payload)
                    + " but the server got a frame of " + d.payload().length + " B " + WireLog.hex(d.payload())
                    + " (" + d.path() + ")");
        }
        UdpPeer.Datagram atPeer = peer.receive(h.ioTimeout());
        if (atPeer == null) {
            throw new AssertionError("the harness's server did not deliver to the peer (a harness fault)");
        }
        SocksApplication.Udp.Received back = app.receive(h.ioTimeout());
        if (back == null) {
            throw new AssertionError(rule + ": the peer's " + payload.length + "-byte reply did not reach the"
                    + " application within " + h.ioTimeout().toMillis() + " ms (the server wrote it as a frame)");
        }
        PerRemote.expectDatagram(payload.length > 0 && payload.length < 32768 ? "CLI-4" : rule, "the peer's "
                + payload.length + "-byte reply", back, peer.address(), payload);
    }

    @Test
    @Tag("CLI-1")
    @DisplayName("CLI-1 · one command-2 connection per remote, reused for every datagram to it")
    public void oneConnectionPerRemote(ClientHarness h) throws Exception {
        PerRemote.refuseMux(h);
        UdpPeer a = h.udpPeer(0).echo();
        UdpPeer b = h.udpPeer(1).echo();
        SocksApplication.Udp app = h.udp();
        for (int i = 0; i < 3; i++) {
            roundTrip(h, app, a, PerRemote.pattern(20, i), "UDP-1");
            roundTrip(h, app, b, PerRemote.pattern(30, i), "UDP-1");
        }
        List<ServerConnection> udp = h.server().connections().stream().filter(c -> c.is(VlessCommand.UDP)).toList();
        if (udp.size() != 2) {
            throw new AssertionError("CLI-1: 6 datagrams to 2 remotes (" + a.address() + ", " + b.address()
                    + ") took " + udp.size() + " command-2 connections: " + udp);
        }
    }

    @Test
    @Tag("CLI-3")
    @DisplayName("CLI-3 · an idle command-2 connection is closed after the client's idle time (--udp-idle)")
    public void idleClose(ClientHarness h) throws Exception {
        Duration idle = h.udpIdle();
        if (idle == null) {
            throw new TestAbortedException(ConformanceExtension.NOT_APPLICABLE + "the client's idle time is not known"
                    + " (give --udp-idle with the value the client is configured with)");
        }
        PerRemote.refuseMux(h);
        UdpPeer peer = h.udpPeer(0).echo();
        SocksApplication.Udp app = h.udp();
        roundTrip(h, app, peer, "idle".getBytes(), "UDP-1");
        ServerConnection udp = h.server().await(c -> c.is(VlessCommand.UDP), Duration.ZERO);
        if (udp == null) {
            throw new TestAbortedException(ConformanceExtension.NOT_APPLICABLE + "the client sent its datagram without"
                    + " a command-2 connection (UDP-MUX)");
        }
        long lastUse = System.nanoTime();
        Duration limit = idle.plus(idle.dividedBy(4)).plus(h.ioTimeout());
        boolean ended = udp.awaitEnded(limit);
        long after = (udp.endedNanos() - lastUse) / 1_000_000;
        if (!ended) {
            throw new AssertionError("CLI-3: the command-2 connection idle since " + limit.toMillis()
                    + " ms is still open (declared idle time " + idle.toMillis() + " ms)");
        }
        h.fact("client.udpIdleCloseMs", String.valueOf(after));
        if (after < idle.toMillis() * 9 / 10) {
            throw new AssertionError("CLI-3: the command-2 connection was closed " + after + " ms after its last use,"
                    + " before the declared idle time of " + idle.toMillis() + " ms");
        }
    }
}
