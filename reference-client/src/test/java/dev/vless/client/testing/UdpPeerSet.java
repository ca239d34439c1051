// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Many remote UDP hosts on loopback addresses, served by one thread: each answers every datagram to its source with
 * {@code "<its own ip>:<its own port>|<payload>"}, so that a test can check the label a reply arrives with against
 * the peer that really sent it. Records the sources it saw (the server's external addresses).
 */
public final class UdpPeerSet implements AutoCloseable {

    private final Selector selector;
    private final List<DatagramChannel> channels = new ArrayList<>();
    private final List<InetSocketAddress> addresses = new ArrayList<>();
    private final Set<InetSocketAddress> sources = ConcurrentHashMap.newKeySet();
    private final AtomicLong received = new AtomicLong();
    private final Thread thread;
    private volatile boolean closed;

    private UdpPeerSet(int count, int ipCount) throws IOException {
        selector = Selector.open();
        try {
            for (int i = 0; i < count; i++) {
                InetAddress ip = InetAddress.getByName("127.0.0." + (2 + i % ipCount));
                DatagramChannel ch = DatagramChannel.open();
                ch.setOption(StandardSocketOptions.SO_RCVBUF, 256 * 1024);
                ch.bind(new InetSocketAddress(ip, 0));
                ch.configureBlocking(false);
                ch.register(selector, SelectionKey.OP_READ);
                channels.add(ch);
                addresses.add((InetSocketAddress) ch.getLocalAddress());
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
        thread = new Thread(this::loop, "udp-peer-set");
        thread.setDaemon(true);
        thread.start();
    }

    /** {@code count} echoing peers on 127.0.0.2 to 127.0.0.{@code 1 + ipCount}, each on an ephemeral port. */
    public static UdpPeerSet bind(int count, int ipCount) throws IOException {
        return new UdpPeerSet(count, ipCount);
    }

    /** Where the peers receive, in order. */
    public List<InetSocketAddress> addresses() {
        return addresses;
    }

    /** Every source a datagram came from. */
    public Set<InetSocketAddress> sources() {
        return sources;
    }

    /** Datagrams received by all peers together. */
    public long received() {
        return received.get();
    }

    private void loop() {
        ByteBuffer in = ByteBuffer.allocate(65536);
        ByteBuffer out = ByteBuffer.allocate(65536 + 64);
        while (!closed) {
            try {
                selector.select(200);
                for (SelectionKey key : selector.selectedKeys()) {
                    DatagramChannel ch = (DatagramChannel) key.channel();
                    InetSocketAddress self = (InetSocketAddress) ch.getLocalAddress();
                    byte[] prefix = (self.getAddress().getHostAddress() + ":" + self.getPort() + "|")
                            .getBytes(StandardCharsets.US_ASCII);
                    InetSocketAddress from;
                    while ((from = (InetSocketAddress) ch.receive(in.clear())) != null) {
                        received.incrementAndGet();
                        sources.add(from);
                        in.flip();
                        out.clear().put(prefix).put(in).flip();
                        ch.send(out, from);
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        selector.wakeup();
        if (thread != null) {
            UdpPeer.join(thread);
        }
        for (DatagramChannel ch : channels) {
            ch.close();
        }
        selector.close();
    }
}
