// SPDX-License-Identifier: Apache-2.0
package dev.vless.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.client.testing.Rig;
import dev.vless.client.testing.SocksUdpApp;
import dev.vless.client.testing.UdpPeer;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * SOCKS5-UDP round trips per second: one 64-byte datagram out, its echo back, then the next, for about 5 s; direct to
 * a UDP echo peer on loopback, and through client and reference server (plaintext and TLS, per remote address and over
 * UDP-MUX). Not part of the normal
 * run (tag "measurement", excluded by the module's surefire set-up); start it with {@code mvn -pl reference-client -am
 * test -Dclient.excludedGroups=none -Dtest=UdpRoundTripMeasurement -Dsurefire.failIfNoSpecifiedTests=false
 * -DleakDetectionLevel=disabled} (the paranoid leak detector slows every buffer).
 */
@Tag("measurement")
class UdpRoundTripMeasurement {

    private static final int PAYLOAD = 64;
    private static final long WARM_UP_MILLIS = 1000;
    private static final long MEASURE_MILLIS = 5000;

    @Test
    void measuresRoundTrips() throws Exception {
        try (UdpPeer echo = UdpPeer.bind("127.0.0.2").echoing()) {
            double direct;
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
                byte[] out = new byte[PAYLOAD];
                direct = measure(s, out, echo.address(), PAYLOAD);
            }
            double plaintext = throughClient(Rig.plaintext(), echo);
            double tls = throughClient(Rig.tls(), echo);
            double muxPlaintext = throughClient(Rig.of(false, s -> { }, c -> c.udpMode(UdpMode.MUX)), echo);
            double muxTls = throughClient(Rig.of(true, s -> { }, c -> c.udpMode(UdpMode.MUX)), echo);
            String report = String.format(Locale.ROOT,
                    "UDP ping-pong, %d-byte payload, %d s each:%n"
                            + "  direct to the echo peer       %,10.0f round trips/s%n"
                            + "  SOCKS5 -> client -> server, plaintext %,10.0f round trips/s (%.1f%% of direct)%n"
                            + "  SOCKS5 -> client -> server, TLS       %,10.0f round trips/s (%.1f%% of direct)%n"
                            + "  the same over UDP-MUX, plaintext      %,10.0f round trips/s (%.1f%% of direct)%n"
                            + "  the same over UDP-MUX, TLS            %,10.0f round trips/s (%.1f%% of direct)",
                    PAYLOAD, MEASURE_MILLIS / 1000, direct, plaintext, 100 * plaintext / direct, tls,
                    100 * tls / direct, muxPlaintext, 100 * muxPlaintext / direct, muxTls, 100 * muxTls / direct);
            System.out.println(report);
            assertThat(tls).isPositive();
        }
    }

    private static double throughClient(Rig rig, UdpPeer echo) throws Exception {
        try (rig; SocksUdpApp app = SocksUdpApp.open(rig.socks())) {
            byte[] datagram = SocksUdpApp.datagram(0, "127.0.0.2", echo.address().getPort(), new byte[PAYLOAD]);
            int headerLength = datagram.length - PAYLOAD;
            return measure(app.socket(), datagram, app.relay(), headerLength + PAYLOAD);
        }
    }

    /** Round trips per second of {@code out} to {@code to}, each answered by a datagram of {@code replyLength}. */
    private static double measure(DatagramSocket s, byte[] out, InetSocketAddress to, int replyLength)
            throws IOException {
        s.setSoTimeout(1000);
        DatagramPacket send = new DatagramPacket(out, out.length, to);
        byte[] in = new byte[2048];
        DatagramPacket receive = new DatagramPacket(in, in.length);
        long warmUpEnd = System.nanoTime() + WARM_UP_MILLIS * 1_000_000;
        while (System.nanoTime() < warmUpEnd) {
            roundTrip(s, send, receive, replyLength);
        }
        long start = System.nanoTime();
        long end = start + MEASURE_MILLIS * 1_000_000;
        long count = 0;
        while (System.nanoTime() < end) {
            roundTrip(s, send, receive, replyLength);
            count++;
        }
        return count / ((System.nanoTime() - start) / 1e9);
    }

    private static void roundTrip(DatagramSocket s, DatagramPacket send, DatagramPacket receive, int replyLength)
            throws IOException {
        s.send(send);
        try {
            receive.setLength(receive.getData().length);
            s.receive(receive);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no echo within 1 s: a datagram was lost, which loopback should not do");
        }
        if (receive.getLength() != replyLength) {
            throw new AssertionError("echo of " + receive.getLength() + " bytes (expected: " + replyLength + ")");
        }
    }
}
