// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vless.server.TransportChoice;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The receive-buffer cap warning needs the size the kernel granted, which each transport reads back differently:
 * Linux doubles it, the JDK halves that again, Netty's native channels do not.
 */
class UdpSocketsTest {

    @ParameterizedTest
    @EnumSource(value = TransportChoice.class, names = {"EPOLL", "IO_URING", "NIO"})
    void grantedIsWhatWasAskedUpToTheKernelsCap(TransportChoice choice) throws Exception {
        Path rmemMax = Path.of("/proc/sys/net/core/rmem_max");
        assumeTrue(Files.isReadable(rmemMax), "not Linux");
        Transport transport = Transport.select(choice);
        assumeTrue(transport.fallback() == null, () -> transport.fallback());
        int max = Integer.parseInt(Files.readAllLines(rmemMax).get(0).trim()); // readString stops early on /proc
        EventLoopGroup group = transport.newGroup(1, "udp-sockets-test");
        try {
            int within = Math.min(max, 1 << 20) / 2;
            assertThat(grantedFor(transport, group, within)).isEqualTo(within);
            // Above the cap, yet below twice it: a doubled read-back alone would look like enough.
            assertThat(grantedFor(transport, group, max + max / 2)).isEqualTo(max);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private static int grantedFor(Transport transport, EventLoopGroup group, int asked) throws Exception {
        Channel ch = UdpSockets.open(transport, group.next(), false, InetAddress.getLoopbackAddress(), null,
                asked, new ChannelInboundHandlerAdapter()).sync().channel();
        try {
            return UdpSockets.granted(ch);
        } finally {
            ch.close().sync();
        }
    }
}
