// SPDX-License-Identifier: Apache-2.0
package dev.vless.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessClientEncoder;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class SmokeTest {
    static final UUID USER = UUID.randomUUID();

    static byte[] header(VlessRequest r) {
        ByteBuf b = Unpooled.buffer();
        VlessClientEncoder.encode(r, b);
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        b.release();
        return out;
    }

    @Test
    void tcpAndUdpAndCrumfurs() throws Exception {
        try (VlessServer server = VlessServer.builder().user(USER).plaintext()
                .destinations(DestinationFilter.allowingLoopback()).build().start().get();
             ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             DatagramSocket udpEcho = new DatagramSocket(new InetSocketAddress("127.0.0.2", 0));
             DatagramSocket stranger = new DatagramSocket(new InetSocketAddress("127.0.0.3", 0))) {
            Thread t = new Thread(() -> {
                try (Socket s = echo.accept()) {
                    s.getInputStream().transferTo(s.getOutputStream());
                } catch (Exception e) {
                    // test ends
                }
            });
            t.setDaemon(true);
            t.start();
            try (Socket c = new Socket()) {
                c.connect(server.localAddress());
                OutputStream out = c.getOutputStream();
                out.write(header(VlessRequest.v1(USER, VlessCommand.TCP,
                        VlessAddress.of("127.0.0.1", echo.getLocalPort()))));
                out.write("hello".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                byte[] got = new DataInputStream(c.getInputStream()).readNBytes(5);
                assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo("hello");
            }
            // CRUMFURS then UDP
            try (Socket crf = new Socket(); Socket udp = new Socket()) {
                crf.connect(server.localAddress());
                crf.getOutputStream().write(header(VlessRequest.crumfurs(USER)));
                assertThat(crf.getInputStream().read()).isEqualTo(0x14);
                udp.connect(server.localAddress());
                OutputStream uo = udp.getOutputStream();
                uo.write(header(VlessRequest.v1(USER, VlessCommand.UDP,
                        VlessAddress.of("127.0.0.2", udpEcho.getLocalPort()))));
                uo.write(new byte[] {0, 2, 'h', 'i'});
                uo.flush();
                DatagramPacket p = new DatagramPacket(new byte[100], 100);
                udpEcho.setSoTimeout(3000);
                udpEcho.receive(p);
                assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII)).isEqualTo("hi");
                InetSocketAddress mapped = (InetSocketAddress) p.getSocketAddress();
                udpEcho.send(new DatagramPacket("yo".getBytes(), 2, mapped));
                DataInputStream ui = new DataInputStream(udp.getInputStream());
                assertThat(ui.readUnsignedShort()).isEqualTo(2);
                assertThat(new String(ui.readNBytes(2), StandardCharsets.US_ASCII)).isEqualTo("yo");
                // a stranger sends to the mapped port: UMFURS on CRUMFURS
                stranger.send(new DatagramPacket("xyz".getBytes(), 3,
                        new InetSocketAddress("127.0.0.1", mapped.getPort())));
                DataInputStream ci = new DataInputStream(crf.getInputStream());
                assertThat(ci.readUnsignedByte()).isEqualTo(1);
                byte[] ip = ci.readNBytes(4);
                assertThat(InetAddress.getByAddress(ip).getHostAddress()).isEqualTo("127.0.0.3");
                assertThat(ci.readUnsignedShort()).isEqualTo(stranger.getLocalPort());
                assertThat(ci.readUnsignedShort()).isEqualTo(3);
                assertThat(new String(ci.readNBytes(3), StandardCharsets.US_ASCII)).isEqualTo("xyz");
            }
            assertThat(server.stats().badInput()).isZero();
        }
    }
}
