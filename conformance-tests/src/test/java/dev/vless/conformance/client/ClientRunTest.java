// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How the run picks a client's SOCKS5 port, and what it does when another process takes that port first. */
class ClientRunTest {

    @Test
    void aSocksPortIsFreeForTcpAndForUdp() throws Exception {
        // Hold many UDP ports, as an in-process server's cooling NAT ports do; none of them may be handed out.
        List<DatagramSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) {
                held.add(new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)));
            }
            for (int i = 0; i < 200; i++) {
                InetSocketAddress a = ClientRun.freeSocksAddress();
                assertThat(held).noneMatch(u -> u.getLocalPort() == a.getPort());
                try (ServerSocket tcp = new ServerSocket(a.getPort(), 1, a.getAddress());
                        DatagramSocket udp = new DatagramSocket(a)) {
                    assertThat(udp.getLocalPort()).isEqualTo(tcp.getLocalPort());
                }
            }
        } finally {
            held.forEach(DatagramSocket::close);
        }
    }

    @Test
    void aClientThatFoundItsPortTakenIsStartedAgainOnAnotherAndTheRunSaysSo() throws Exception {
        Launcher launcher = new Launcher(2, "listen udp 127.0.0.1:%d: bind: address already in use");
        try (ClientRun run = new ClientRun(options(launcher))) {
            RunningClient c = run.startClient(run.user());
            assertThat(launcher.asked).hasSize(3).doesNotHaveDuplicates();
            assertThat(c.socks()).isEqualTo(launcher.asked.get(2));
            assertThat(run.events().all()).hasSize(2)
                    .allMatch(e -> e.contains("could not bind its SOCKS5 port") && e.contains("started it again"));
        }
    }

    @Test
    void aPortTakenThreeTimesInARowIsReportedAsItIs() throws Exception {
        Launcher launcher = new Launcher(3, "Address already in use (port %d)");
        try (ClientRun run = new ClientRun(options(launcher))) {
            assertThatThrownBy(() -> run.startClient(run.user())).isInstanceOf(IOException.class)
                    .hasMessageContaining("Address already in use");
            assertThat(launcher.asked).hasSize(3);
        }
    }

    @Test
    void anyOtherStartFailureIsNotRetried() throws Exception {
        Launcher launcher = new Launcher(1, "the client exited with status 1 before %d accepted connections");
        try (ClientRun run = new ClientRun(options(launcher))) {
            assertThatThrownBy(() -> run.startClient(run.user())).isInstanceOf(IOException.class)
                    .hasMessageContaining("exited with status 1");
            assertThat(launcher.asked).hasSize(1);
            assertThat(run.events().all()).isEmpty();
        }
    }

    private static ClientOptions options(ClientLauncher launcher) {
        return ClientOptions.defaults(launcher).withTls(false);
    }

    /** Fails its first {@code failures} starts with {@code message} (given the port), then starts a stand-in. */
    private static final class Launcher implements ClientLauncher {
        final List<InetSocketAddress> asked = new ArrayList<>();
        private final int failures;
        private final String message;

        Launcher(int failures, String message) {
            this.failures = failures;
            this.message = message;
        }

        @Override
        public RunningClient start(String link, InetSocketAddress socks) throws IOException {
            asked.add(socks);
            if (asked.size() <= failures) {
                throw new IOException(String.format(message, socks.getPort()));
            }
            return new RunningClient() {
                @Override
                public InetSocketAddress socks() {
                    return socks;
                }

                @Override
                public String exited() {
                    return null;
                }

                @Override
                public void close() {
                }
            };
        }

        @Override
        public String description() {
            return "a stand-in that finds its port taken";
        }
    }
}
