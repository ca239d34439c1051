// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import dev.vless.client.ClientDropReason;
import dev.vless.client.UdpMode;
import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import dev.vless.codec.udp.UmfursMessage;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * All of the client's UDP: the SOCKS5 associations, one command-2 connection per remote address shared by them
 * (CLI-1), and the CRUMFURS channel; or, in the MUX mode, one UDP-MUX connection shared by them all
 * ({@link MuxManager}), with command 2 and CRUMFURS only after a fall-back (MUX-5). It lives on one event loop, so
 * none of it needs locks.
 *
 * <p>The server keeps one NAT context for this client (user and client IP, NAT-1), so every association shares its
 * external ports, as programs behind one NAT address would share a port if the NAT let them. A datagram from a remote
 * goes to the association that last sent to that remote; one from a remote no association has sent to (a UMFURS from
 * a peer that learned the external address elsewhere) goes to the association that sent last. With one application
 * using UDP, which is the usual case, that is simply that application. Datagrams from the MUX connection are handed
 * out by the same rule, labelled with the frame's source (MUX-23).
 */
final class UdpHub {

    /** Remembered remote-to-association pairs at most; the least recently used is forgotten first. */
    static final int MAX_CLAIMS = 4096;

    final ClientRuntime runtime;
    final EventLoop loop;
    /** Per-remote mode: from the start (v1); MUX mode: only once the mode was found unavailable (MUX-5). */
    private CrumfursManager crumfurs;
    /** The MUX mode's connection, or {@code null} in the per-remote mode. */
    private final MuxManager mux;
    private final Map<VlessAddress, UdpFlow> flows = new HashMap<>();
    private final List<UdpAssociation> associations = new ArrayList<>();
    private final Map<VlessAddress, UdpAssociation> claims = new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<VlessAddress, UdpAssociation> eldest) {
            return size() > MAX_CLAIMS;
        }
    };
    private UdpAssociation lastActive;
    private ScheduledFuture<?> sweep;
    private boolean closed;

    UdpHub(ClientRuntime runtime, EventLoop loop) {
        this.runtime = runtime;
        this.loop = loop;
        boolean muxMode = runtime.config.udpMode() == UdpMode.MUX && !runtime.upstream.v0();
        this.mux = muxMode ? new MuxManager(this) : null;
        this.crumfurs = runtime.upstream.v0() || muxMode ? null : new CrumfursManager(this);
    }

    /**
     * A new association: from now on UDP is in use, so CRUMFURS (CRF-5) or the MUX connection opens, and idle flows
     * are looked for.
     */
    void register(UdpAssociation a) {
        assert loop.inEventLoop();
        if (closed) {
            a.close();
            return;
        }
        associations.add(a);
        if (lastActive == null) {
            lastActive = a;
        }
        if (mux != null) {
            mux.start();
        }
        if (crumfurs != null) {
            crumfurs.start();
        }
        if (sweep == null) {
            long period = Math.max(250, Math.min(5_000, runtime.config.udpIdle().toMillis() / 4));
            sweep = loop.scheduleAtFixedRate(this::closeIdleFlows, period, period, TimeUnit.MILLISECONDS);
        }
    }

    /** An association ended: its claims go, and so do the connections it was the last to use. */
    void unregister(UdpAssociation a) {
        assert loop.inEventLoop();
        associations.remove(a);
        claims.values().removeIf(x -> x == a);
        if (lastActive == a) {
            lastActive = associations.isEmpty() ? null : associations.get(associations.size() - 1);
        }
        for (UdpFlow f : new ArrayList<>(flows.values())) {
            if (f.owner == a) {
                f.close();
            }
        }
    }

    /** A datagram from association {@code a} to {@code destination}; takes over {@code payload}. */
    void send(UdpAssociation a, VlessAddress destination, ByteBuf payload) {
        assert loop.inEventLoop();
        if (closed) {
            payload.release();
            return;
        }
        VlessAddress key = key(destination);
        lastActive = a;
        claims.put(key, a);
        if (mux != null && mux.offer(a, destination, key, payload)) {
            return;
        }
        sendPerRemote(a, destination, key, payload);
    }

    /** A datagram that goes on the command-2 connection to its destination, opened if need be; takes over payload. */
    void sendPerRemote(UdpAssociation a, VlessAddress destination, VlessAddress key, ByteBuf payload) {
        UdpFlow flow = flows.get(key);
        if (flow == null) {
            flow = new UdpFlow(this, destination, key);
            flows.put(key, flow);
            flow.open();
        }
        flow.owner = a;
        flow.send(payload);
    }

    /** A datagram that came on {@code flow}'s connection: from its target. Takes over {@code payload}. */
    void fromFlow(UdpFlow flow, ByteBuf payload) {
        UdpAssociation a = flow.owner != null && !flow.owner.isClosed() ? flow.owner : receiver(flow.key);
        if (a == null) {
            payload.release();
            runtime.metrics.drop(ClientDropReason.NO_ASSOCIATION);
            return;
        }
        a.toApplication(flow.target, payload);
    }

    /**
     * A UMFURS: a datagram the server had no command-2 connection for. It goes to the application labelled with its
     * true source (CLI-2), whether or not a connection to that source is open or was open (DLV-4).
     */
    void fromCrumfurs(UmfursMessage message) {
        try {
            VlessAddress source = VlessAddress.of(message.source());
            UdpAssociation a = receiver(source);
            if (a == null) {
                runtime.metrics.drop(ClientDropReason.NO_ASSOCIATION);
                return;
            }
            runtime.metrics.umfurs.increment();
            a.toApplication(source, message.content().retain());
        } finally {
            message.release();
        }
    }

    /**
     * A datagram from a MUX frame, from {@code source} (always an IP address, canonical): to the application
     * labelled with that source (MUX-23). A reply to a datagram the application sent to a domain name comes labelled
     * with the address the server resolved the name to, because that is its true source. Takes over
     * {@code payload}.
     */
    void fromMux(VlessAddress source, ByteBuf payload) {
        UdpAssociation a = receiver(key(source)); // the claims' spelling of the address, whatever the decoder's
        if (a == null) {
            payload.release();
            runtime.metrics.drop(ClientDropReason.NO_ASSOCIATION);
            return;
        }
        a.toApplication(source, payload);
    }

    /** The MUX mode is unavailable (MUX-5): from now on UDP goes per remote, so CRUMFURS opens (CRF-5). */
    void fallBack() {
        if (closed) {
            return;
        }
        if (crumfurs == null) {
            crumfurs = new CrumfursManager(this);
        }
        crumfurs.start();
    }

    /** Whether any association is registered. */
    boolean hasAssociations() {
        return !associations.isEmpty();
    }

    private UdpAssociation receiver(VlessAddress source) {
        UdpAssociation a = claims.get(source);
        return a != null ? a : lastActive;
    }

    /** Completes when command-2 requests may be sent: at once for v0, after the first CRUMFURS ack for v1 (CRF-5). */
    Future<Void> udpAllowed() {
        if (runtime.upstream.v0()) {
            return loop.newSucceededFuture(null);
        }
        if (crumfurs == null) {
            fallBack(); // in the MUX mode command 2 is used only after a fall-back, which opened CRUMFURS already
        }
        return crumfurs != null ? crumfurs.established()
                : loop.newFailedFuture(new IllegalStateException("the client is stopping"));
    }

    void flowClosed(UdpFlow flow) {
        flows.remove(flow.key, flow);
    }

    private void closeIdleFlows() {
        long now = System.nanoTime();
        long idle = runtime.config.udpIdle().toNanos();
        for (UdpFlow f : new ArrayList<>(flows.values())) {
            if (f.idleSince(now) > idle) {
                f.closeIdle();
            }
        }
    }

    /** Closes every flow, association and the CRUMFURS; nothing opens again. */
    void close() {
        assert loop.inEventLoop();
        closed = true;
        if (sweep != null) {
            sweep.cancel(false);
        }
        for (UdpFlow f : new ArrayList<>(flows.values())) {
            f.close();
        }
        for (UdpAssociation a : new ArrayList<>(associations)) {
            a.close();
        }
        if (crumfurs != null) {
            crumfurs.close();
        }
        if (mux != null) {
            mux.close();
        }
    }

    /** The map key of a destination: IP addresses canonical (ADR-4), domain names in lower case. */
    static VlessAddress key(VlessAddress destination) {
        if (destination.type() == VlessAddressType.DOMAIN) {
            return new VlessAddress(VlessAddressType.DOMAIN, destination.host().toLowerCase(Locale.ROOT),
                    destination.port());
        }
        return VlessAddress.of(destination.toInetSocketAddress());
    }
}
