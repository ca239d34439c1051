// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client.cases;

import dev.vless.codec.VlessCommand;
import dev.vless.conformance.UdpPeer;
import dev.vless.conformance.client.ClientCases;
import dev.vless.conformance.client.ClientHarness;
import dev.vless.conformance.client.ServerConnection;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** §12 and §18 from the client's side: datagrams from CRUMFURS reach the application with their true source. */
@ClientCases
@Tag("delivery")
public class ClientDeliveryCases {

    @Test
    @Tag("CLI-2")
    @DisplayName("CLI-2 · a datagram from a remote the client never sent to arrives as UMFURS and reaches the application labelled with that remote")
    public void umfursLabelledWithSource(ClientHarness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        PerRemote.Established e = PerRemote.establish(h, peer);
        UdpPeer stranger = h.udpPeer(1);
        InetSocketAddress external = h.server().externalAddress(h.user());
        for (int i = 0; i < 3; i++) {
            byte[] p = PerRemote.pattern(100 + i, 10 + i);
            stranger.send(external, p);
            PerRemote.expectDatagram("CLI-2", "datagram " + (i + 1) + " from " + stranger.address()
                    + " (never contacted), sent to the context's address " + external, PerRemote.next(h, e.app()),
                    stranger.address(), p);
        }
    }

    @Test
    @Tag("DLV-4")
    @DisplayName("DLV-4 · a UMFURS from a remote the client has, and then had, a command-2 connection to reaches the application")
    public void umfursFromKnownRemote(ClientHarness h) throws Exception {
        UdpPeer peer = h.udpPeer(0).echo();
        PerRemote.Established e = PerRemote.establish(h, peer);
        ServerConnection udp = h.server().await(c -> c.is(VlessCommand.UDP), Duration.ZERO);
        // While the connection is open: a server may still deliver X's datagram as UMFURS (a race, §12).
        byte[] p1 = PerRemote.pattern(77, 1);
        e.crumfurs().sendUmfurs(peer.address(), p1);
        PerRemote.expectDatagram("DLV-4", "a UMFURS from " + peer.address() + " while the client has a command-2"
                + " connection to it", PerRemote.next(h, e.app()), peer.address(), p1);
        if (udp == null) {
            return; // the client reached the peer another way: the "had" half does not arise
        }
        // After the connection closed: the server routes X's datagrams to CRUMFURS (DLV-2).
        udp.close();
        Thread.sleep(200);
        byte[] p2 = PerRemote.pattern(88, 2);
        peer.send(h.server().externalAddress(h.user()), p2);
        PerRemote.expectDatagram("DLV-4", "a datagram from " + peer.address() + " after the server closed the"
                + " client's command-2 connection to it (so it came as UMFURS)", PerRemote.next(h, e.app()),
                peer.address(), p2);
    }
}
