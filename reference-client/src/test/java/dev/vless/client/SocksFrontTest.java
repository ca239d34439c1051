// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.client.testing.Rig;
import dev.vless.client.testing.Socks5;
import dev.vless.client.testing.TcpEchoServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The SOCKS5 front's answers to requests it cannot serve (RFC 1928 §6), and its login (RFC 1929). One server and two
 * clients for the whole class: one without and one with a login.
 */
class SocksFrontTest {

    private static Rig open;
    private static Rig login;

    @BeforeAll
    static void start() {
        open = Rig.plaintext();
        login = Rig.of(false, s -> { }, c -> c.socksAuth("alice", "secret"));
    }

    @AfterAll
    static void stop() {
        open.close();
        login.close();
    }

    @Test
    void answersBindWithCommandNotSupported() throws Exception {
        assertThat(requestReply(Socks5.request(Socks5.BIND, "127.0.0.2", 80))).isEqualTo(7);
    }

    @Test
    void answersUnknownCommandWithCommandNotSupported() throws Exception {
        assertThat(requestReply(Socks5.request((byte) 9, "127.0.0.2", 80))).isEqualTo(7);
    }

    @Test
    void answersUnknownAddressTypeWithAddressTypeNotSupported() throws Exception {
        assertThat(requestReply(new byte[] {5, 1, 0, 2, 1, 2, 3, 4, 0, 80})).isEqualTo(8);
    }

    @Test
    void answersDomainVlessCannotCarryWithAddressTypeNotSupported() throws Exception {
        byte[] name = "bad name".getBytes(StandardCharsets.US_ASCII); // a space: ADR-3
        byte[] request = new byte[5 + name.length + 2];
        request[0] = 5;
        request[1] = 1;
        request[3] = 3;
        request[4] = (byte) name.length;
        System.arraycopy(name, 0, request, 5, name.length);
        request[request.length - 1] = 80;
        assertThat(requestReply(request)).isEqualTo(8);
    }

    @Test
    void answersConnectToPortZeroWithGeneralFailure() throws Exception {
        assertThat(requestReply(Socks5.request(Socks5.CONNECT, "127.0.0.2", 0))).isEqualTo(1);
    }

    @Test
    void closesOnAnotherProtocolVersion() throws Exception {
        try (Socket s = Socks5.open(open.socks())) {
            s.getOutputStream().write(new byte[] {4, 1, 0, 80, 127, 0, 0, 2, 0}); // SOCKS4 CONNECT
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void closesOnAWrongVersionInTheRequest() throws Exception {
        try (Socket s = Socks5.open(open.socks())) {
            Socks5.greet(s);
            byte[] request = Socks5.request(Socks5.CONNECT, "127.0.0.2", 80);
            request[0] = 4;
            s.getOutputStream().write(request);
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void refusesAClientThatOffersNoAcceptableMethod() throws Exception {
        try (Socket s = Socks5.open(login.socks())) {
            s.getOutputStream().write(new byte[] {5, 1, 0}); // "no authentication" only, but a login is required
            assertThat(Socks5.readExactly(s.getInputStream(), 2)).containsExactly(5, 0xff);
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void answersAWrongPasswordWithFailure() throws Exception {
        try (Socket s = Socks5.open(login.socks())) {
            assertThat(Socks5.login(s, "alice", "guess")).isEqualTo(1);
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void acceptsTheRightPassword() throws Exception {
        try (TcpEchoServer echo = TcpEchoServer.bind("127.0.0.2"); Socket s = Socks5.open(login.socks())) {
            assertThat(Socks5.login(s, "alice", "secret")).isZero();
            s.getOutputStream().write(Socks5.request(Socks5.CONNECT, "127.0.0.2", echo.address().getPort()));
            assertThat(Socks5.readReply(s.getInputStream()).status()).isZero();
            s.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
            assertThat(Socks5.readExactly(s.getInputStream(), 2)).containsExactly('h', 'i');
        }
    }

    @Test
    void acceptsAHandshakeSentInOnePiece() throws Exception {
        // Greeting, login and request back to back, without waiting for the answers in between.
        try (TcpEchoServer echo = TcpEchoServer.bind("127.0.0.2"); Socket s = Socks5.open(login.socks())) {
            byte[] greeting = {5, 1, 2};
            byte[] auth = {1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', 'e', 'c', 'r', 'e', 't'};
            byte[] request = Socks5.request(Socks5.CONNECT, "127.0.0.2", echo.address().getPort());
            OutputStream out = s.getOutputStream();
            out.write(concat(greeting, auth, request, "x".getBytes(StandardCharsets.US_ASCII)));
            InputStream in = s.getInputStream();
            assertThat(Socks5.readExactly(in, 2)).containsExactly(5, 2);
            assertThat(Socks5.readExactly(in, 2)).containsExactly(1, 0);
            assertThat(Socks5.readReply(in).status()).isZero();
            assertThat(Socks5.readExactly(in, 1)).containsExactly('x');
        }
    }

    /** Greets without login, sends {@code request}, and returns the reply's status once the front has closed. */
    private static int requestReply(byte[] request) throws Exception {
        try (Socket s = Socks5.open(open.socks())) {
            Socks5.greet(s);
            s.getOutputStream().write(request);
            int status = Socks5.readReply(s.getInputStream()).status();
            assertThat(s.getInputStream().read()).isEqualTo(-1);
            return status;
        }
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] all = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }
}
