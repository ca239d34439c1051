package dev.vless.conformance.cases;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.TcpPeer;
import dev.vless.conformance.VlessConnection;
import dev.vless.spec.Profile;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** §4 Request header and §6 Responses: the header in every shape a client may send it. */
@ConformanceCases
@Tag("header")
class RequestHeaderCases {

    private static final byte[] PING = "ping over vless".getBytes(StandardCharsets.US_ASCII);

    @Test
    @Tag("HDR-1")
    @Tag("RSP-1")
    @DisplayName("HDR-1 · RSP-1 · a v1 TCP request with its payload in the same write is relayed, no response header")
    void v1PayloadInHeaderWrite(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        VlessConnection c = h.tcp(echo.address(), PING);
        byte[] got = c.readExactly(PING.length);
        if (!Arrays.equals(got, PING)) {
            throw Expect.violation("RSP-1: the first bytes a v1 server sends on a TCP connection are target data",
                    "the echoed payload " + dev.vless.conformance.WireLog.hex(PING),
                    dev.vless.conformance.WireLog.hex(got));
        }
    }

    @Test
    @Tag("HDR-2")
    @Tag("RSP-2")
    @DisplayName("HDR-2 · RSP-2 · a v0 TCP request is answered with 00 00 right before the response data")
    void v0ResponseHeader(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        VlessConnection c = h.tcp(echo.address(), PING);
        byte[] got = c.readExactly(2 + PING.length);
        byte[] expected = VlessConnection.concat(new byte[] {0, 0}, PING);
        if (!Arrays.equals(got, expected)) {
            throw Expect.violation("RSP-2: a v0 server sends 00 00 once, immediately before the first response byte",
                    dev.vless.conformance.WireLog.hex(expected), dev.vless.conformance.WireLog.hex(got));
        }
    }

    @Test
    @Tag("HDR-11")
    @DisplayName("HDR-11 · payload sent after the header, in a later write, is relayed")
    void payloadAfterHeader(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        VlessConnection c = h.tcp(echo.address(), new byte[0]);
        Thread.sleep(50);
        c.write(PING);
        expectEcho(h, c, PING);
    }

    @Test
    @Tag("HDR-10")
    @DisplayName("HDR-10 · a header sent one byte per write is accepted")
    void headerOneBytePerWrite(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        VlessConnection c = h.connect();
        c.socket().setTcpNoDelay(true);
        byte[] header = VlessConnection.encode(h.request(h.target().user(), VlessCommand.TCP, echo.address()));
        for (byte b : header) {
            c.write(new byte[] {b});
            Thread.sleep(5);
        }
        c.write(PING);
        expectEcho(h, c, PING);
    }

    static void expectEcho(Harness h, VlessConnection c, byte[] payload) throws Exception {
        int skip = h.target().profile() == Profile.V0 ? 2 : 0;
        byte[] got = c.readExactly(skip + payload.length);
        byte[] data = Arrays.copyOfRange(got, skip, got.length);
        if (!Arrays.equals(data, payload)) {
            throw Expect.violation("TCP-1: bytes are relayed unchanged and in order",
                    dev.vless.conformance.WireLog.hex(payload), dev.vless.conformance.WireLog.hex(data));
        }
    }
}
