// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.cases;

import static dev.vless.conformance.client.cases.Waits.bytes;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.Expect;
import dev.vless.conformance.TcpPeer;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.conformance.client.ClientCases;
import dev.vless.conformance.client.ClientHarness;
import dev.vless.conformance.client.ServerConnection;
import dev.vless.conformance.client.SocksApplication;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** §17 TLS, the client's side: it speaks TLS, preferably 1.3, and sends no request to a server it cannot verify. */
@ClientCases
@Tag("tls")
public class ClientTlsCases {

    static final String TLS_1 = "TLS-1: v1 runs inside TLS";
    static final String TLS_2 = "TLS-2: implementations SHOULD use TLS 1.3";
    static final String TLS_3 = "TLS-3: a client checks the server's certificate against the CAs it trusts or a"
            + " pinned SHA-256, and sends no request over a connection whose certificate matches neither";

    @Test
    @Tag("TLS-1")
    @DisplayName("TLS-1 · the client speaks TLS to a TLS server")
    public void speaksTls(ClientHarness h) throws Exception {
        ServerConnection c = tcpRequest(h);
        if (c.tlsProtocol() == null) {
            throw Expect.violation(TLS_1, "a TLS handshake before the request", "the request came without TLS ("
                    + c.label() + ")");
        }
        h.fact("TLS version", c.tlsProtocol());
    }

    @Test
    @Tag("TLS-2")
    @DisplayName("TLS-2 · the client negotiates TLS 1.3")
    public void tls13(ClientHarness h) throws Exception {
        ServerConnection c = tcpRequest(h);
        if (!"TLSv1.3".equals(c.tlsProtocol())) {
            throw Expect.violation(TLS_2, "TLSv1.3 (the scripted server offers it)", String.valueOf(c.tlsProtocol()));
        }
    }

    /** A TCP CONNECT through the client, and the command-1 connection it made. */
    private static ServerConnection tcpRequest(ClientHarness h) throws Exception {
        requireTls(h);
        TcpPeer peer = h.tcpPeer(true);
        try (Socket s = h.app().connect(peer.address().getAddress().getHostAddress(), peer.address().getPort())) {
            s.getOutputStream().write(bytes("TLS: a TCP exchange"));
            ServerConnection c = h.awaitConnection(VlessCommand.TCP);
            if (c == null) {
                throw Expect.blocked("CLI-4", "a TCP CONNECT carried to the server as command 1",
                        "no command-1 request within " + h.ioTimeout().toMillis() + " ms; connections: "
                                + h.server().connections());
            }
            return c;
        }
    }

    private static void requireTls(ClientHarness h) {
        if (!h.tls()) {
            throw Expect.notRun("the run is plaintext (--plaintext)");
        }
    }

    @Test
    @Tag("TLS-3")
    @DisplayName("TLS-3 · a server with a certificate neither pinned nor trusted gets no request header")
    public void strangerGetsNoRequest(ClientHarness h) throws Exception {
        requireTls(h);
        // Only connections from now on: a client the harness cannot restart may keep a CRUMFURS from before.
        long since = System.nanoTime();
        h.script().strangerCertificate(true);
        TcpPeer peer = h.tcpPeer(true);
        UdpPeer udpPeer = h.udpPeer(0);
        try (Socket s = h.app().connect(peer.address().getAddress().getHostAddress(), peer.address().getPort())) {
            s.getOutputStream().write(bytes("TLS-3: must not reach an impostor"));
        } catch (IOException e) {
            h.log().note("application: the CONNECT failed, as it may: " + e.getMessage());
        }
        try {
            SocksApplication.Udp app = h.udp();
            app.send(udpPeer.address(), bytes("TLS-3: a datagram that must not reach an impostor"));
        } catch (IOException e) {
            h.log().note("application: the UDP association failed, as it may: " + e.getMessage());
        }
        ServerConnection any = h.server().await(c -> c.acceptedNanos() >= since, h.ioTimeout());
        if (any == null) {
            throw Expect.notObservable("the client made no connection to the server within "
                    + h.ioTimeout().toMillis() + " ms of the application's CONNECT and datagram");
        }
        // Time for every attempt the two requests caused (and a re-try or two) to end or send its header.
        Thread.sleep(1500);
        List<String> seen = new ArrayList<>();
        List<ServerConnection> attempts = h.server().connections().stream().filter(c -> c.acceptedNanos() >= since)
                .toList();
        for (ServerConnection c : attempts) {
            byte[] header = c.header();
            // A partial header counts too: its first bytes are the user ID.
            boolean partial = c.headerError() != null && !"no byte".equals(c.headerError());
            if (header != null || partial) {
                byte[] got = header != null ? header : new byte[0];
                throw Expect.violation(TLS_3, "every handshake with the impostor's certificate fails, and no request"
                        + " header follows", c.label() + " completed TLS (" + c.tlsProtocol() + ") with a"
                        + " certificate neither pinned nor trusted and sent a request"
                        + (header != null ? ": " + WireLog.hex(got) : " (" + c.headerError() + ")"));
            }
            seen.add("connection " + c.id() + ": " + (c.tlsFailure() != null ? "handshake failed ("
                    + c.tlsFailure() + ")" : c.tlsProtocol() != null ? "TLS " + c.tlsProtocol()
                    + " completed, no header" : "handshake not finished"));
        }
        // A handshake that completed without a header yet: give it the I/O timeout to show its header.
        for (ServerConnection c : attempts) {
            if (c.tlsProtocol() != null) {
                c.awaitEnded(h.ioTimeout());
                if (c.header() != null) {
                    throw Expect.violation(TLS_3, "no request over a connection with the impostor's certificate",
                            c.label() + " sent " + WireLog.hex(c.header()));
                }
            }
        }
        h.fact("TLS-3 connections", String.join("; ", seen));
    }
}
