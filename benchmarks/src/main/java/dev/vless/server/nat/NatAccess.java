// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.nat;

import io.netty.channel.socket.DatagramChannel;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;

/**
 * What the benchmarks need of a {@link NatContext} that its API does not offer: the channels of its UDP sockets, so
 * that a benchmark can hand a datagram to a socket's pipeline as if the socket had read it. Benchmark support only;
 * it lives in the server's package so that it can name the package-private {@link ContextSocket}.
 */
public final class NatAccess {

    private NatAccess() {
    }

    /** The channels of the context's live sockets, in the order they were opened. Call on the context's loop. */
    public static List<DatagramChannel> socketChannels(NatContext context) {
        try {
            // The list is private to NatContext; reading it by reflection keeps the server free of benchmark hooks.
            Field field = NatContext.class.getDeclaredField("sockets");
            field.setAccessible(true);
            List<?> sockets = (List<?>) field.get(context);
            List<DatagramChannel> out = new ArrayList<>();
            for (Object s : sockets) {
                out.add(((ContextSocket) s).channel);
            }
            return out;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("NatContext no longer keeps its sockets in a field named 'sockets'; "
                    + "update the benchmarks", e);
        }
    }
}
