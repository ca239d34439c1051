// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.cases;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.ConformanceExtension;
import dev.vless.conformance.TcpPeer;
import dev.vless.conformance.cases.ProcNetTcp;
import dev.vless.conformance.WireLog;
import dev.vless.conformance.client.ClientCases;
import dev.vless.conformance.client.ClientHarness;
import dev.vless.conformance.client.ServerConnection;
import dev.vless.spec.Profile;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** §6, §7 and §18 from the client's side: TCP through the client, both directions and both ends of stream. */
@ClientCases
@Tag("relay")
public class ClientRelayCases {

    @Test
    @Tag("CLI-4")
    @DisplayName("CLI-4 · 256 KiB each way through a CONNECT arrive unchanged and in order")
    public void bytesUnchanged(ClientHarness h) throws Exception {
        TcpPeer peer = h.tcpPeer(true);
        Socket s = h.track(h.app().connect(peer.address().getAddress().getHostAddress(), peer.address().getPort()));
        s.setSoTimeout((int) h.ioTimeout().toMillis());
        byte[] out = PerRemote.pattern(256 * 1024, 7);
        Thread writer = new Thread(() -> {
            try {
                s.getOutputStream().write(out);
            } catch (java.io.IOException e) {
                // the reader reports what arrived
            }
        });
        writer.start();
        byte[] back;
        try {
            back = s.getInputStream().readNBytes(out.length);
        } catch (SocketTimeoutException e) {
            back = new byte[0];
        }
        writer.join(5000);
        if (!Arrays.equals(back, out)) {
            int at = Arrays.mismatch(back, out);
            throw new AssertionError("CLI-4: of " + out.length + " bytes echoed through the client, " + back.length
                    + " came back" + (at >= 0 && at < back.length ? ", first difference at byte " + at + ": "
                    + WireLog.hex(Arrays.copyOfRange(back, at, Math.min(back.length, at + 16))) + " instead of "
                    + WireLog.hex(Arrays.copyOfRange(out, at, Math.min(out.length, at + 16))) : ""));
        }
    }

    @Test
    @Tag("CLI-5")
    @DisplayName("CLI-5 · the application's FIN reaches the server while the other direction goes on, and the server's FIN reaches the application")
    public void halfClosePassedOn(ClientHarness h) throws Exception {
        h.script().tcpRelay(false);
        TcpPeer peer = h.tcpPeer(false);
        Socket s = h.track(h.app().connect(peer.address().getAddress().getHostAddress(), peer.address().getPort()));
        s.setSoTimeout((int) h.ioTimeout().toMillis());
        s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
        ServerConnection c = h.server().await(x -> x.is(VlessCommand.TCP), h.ioTimeout());
        if (c == null || !c.awaitTcpBytes(4, h.ioTimeout())) {
            throw new AssertionError("CLI-4: the application's 4 bytes did not reach the server; connections: "
                    + h.server().connections());
        }
        s.shutdownOutput();
        if (!c.awaitEnded(h.ioTimeout())) {
            throw new AssertionError("CLI-5: the application ended its side, but no end of stream reached the server"
                    + " within " + h.ioTimeout().toMillis() + " ms");
        }
        byte[] late = "after your FIN".getBytes(StandardCharsets.US_ASCII);
        try {
            c.write(late);
        } catch (java.io.IOException e) {
            throw new AssertionError("CLI-5: the client closed the whole connection when the application ended its"
                    + " side: the server could not write (" + e.getMessage() + ")");
        }
        InputStream in = s.getInputStream();
        byte[] got;
        try {
            got = in.readNBytes(late.length);
        } catch (SocketTimeoutException e) {
            got = new byte[0];
        }
        if (!Arrays.equals(got, late)) {
            throw new AssertionError("CLI-5: after the application's FIN, the server's " + late.length + " bytes did"
                    + " not reach the application (got " + WireLog.hex(got) + ")");
        }
        c.shutdownOutput();
        int end;
        try {
            end = in.read();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("CLI-5: the server ended its side, but the application saw no end of stream"
                    + " within " + h.ioTimeout().toMillis() + " ms");
        } catch (java.io.IOException e) {
            end = -1; // a reset also ends it, if less politely
        }
        if (end != -1) {
            throw new AssertionError("CLI-5: after the server's FIN the application read another byte");
        }
    }

    @Test
    @Tag("TCP-4")
    @DisplayName("TCP-4 · the client's connection to the server keeps alive with an idle time of 60 s or less")
    public void keepalive(ClientHarness h) throws Exception {
        String unavailable = ProcNetTcp.unavailableReason();
        if (unavailable != null) {
            throw new TestAbortedException(ConformanceExtension.NOT_OBSERVABLE + "keepalive shows only in the first"
                    + " probe, 60 s or more away, or in the kernel's socket table, and " + unavailable);
        }
        TcpPeer peer = h.tcpPeer(true);
        Socket s = h.track(h.app().connect(peer.address().getAddress().getHostAddress(), peer.address().getPort()));
        s.setSoTimeout((int) h.ioTimeout().toMillis());
        s.getOutputStream().write("keepalive".getBytes(StandardCharsets.US_ASCII));
        s.getInputStream().readNBytes(9);
        ServerConnection c = h.server().await(x -> x.is(VlessCommand.TCP), h.ioTimeout());
        if (c == null) {
            throw new AssertionError("HDR-1: no request reached the server; connections: " + h.server().connections());
        }
        Thread.sleep(200); // the ACKs land, so that no retransmit timer stands in for the keepalive timer
        ProcNetTcp.Timer t = ProcNetTcp.timerOf(c.client(), h.server().address());
        if (t == null) {
            throw new TestAbortedException(ConformanceExtension.NOT_OBSERVABLE + "the client's socket "
                    + c.client() + " → " + h.server().address() + " is not in this machine's socket table (is the"
                    + " client in another network namespace, a container?)");
        }
        h.log().note("the client's socket " + c.client() + " → " + h.server().address() + ": timer " + t.timer()
                + ", due in " + t.whenMs() + " ms");
        String problem = t.keepaliveProblem();
        if (problem != null) {
            throw new AssertionError("TCP-4: the client's connection to the server (in /proc/net/tcp): " + problem);
        }
    }

    @Test
    @Tag("RSP-3")
    @DisplayName("RSP-3 · a v0 response header with 5 addon bytes (Addons, Seed = 0a 0b 0c) is skipped: the application gets only the data")
    public void v0AddonsSkipped(ClientHarness h) throws Exception {
        if (h.profile() != Profile.V0) {
            throw new TestAbortedException(ConformanceExtension.NOT_APPLICABLE + "v0 only");
        }
        // A well-formed Addons message (protobuf: field 2, Seed, 3 bytes), as a v0 server would send: v0 clients
        // parse addons, and bytes that are no Addons message would test the parser, not RSP-3.
        h.script().v0Addons(new byte[] {0x12, 0x03, 0x0a, 0x0b, 0x0c}).tcpRelay(false);
        TcpPeer peer = h.tcpPeer(false);
        Socket s = h.track(h.app().connect(peer.address().getAddress().getHostAddress(), peer.address().getPort()));
        s.setSoTimeout((int) h.ioTimeout().toMillis());
        s.getOutputStream().write('x');
        ServerConnection c = h.server().await(x -> x.is(VlessCommand.TCP), h.ioTimeout());
        if (c == null) {
            throw new AssertionError("HDR-2: no request reached the server; connections: " + h.server().connections());
        }
        byte[] data = "data after the header".getBytes(StandardCharsets.US_ASCII);
        c.awaitTcpBytes(1, h.ioTimeout());
        c.write(data);
        byte[] got;
        try {
            got = s.getInputStream().readNBytes(data.length);
        } catch (SocketTimeoutException e) {
            got = new byte[0];
        }
        if (!Arrays.equals(got, data)) {
            throw new AssertionError("RSP-3: after the response header 00 05 12 03 0a 0b 0c the server sent "
                    + WireLog.hex(data) + ", and the application got " + WireLog.hex(got));
        }
    }
}
