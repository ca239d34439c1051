// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import dev.vless.codec.VlessAddress;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * Resolves domain targets once, when the header arrives (NAT-7), off the event loops: the system resolver blocks,
 * and an event loop must never wait.
 */
public final class Resolver implements AutoCloseable {

    private final ExecutorService pool = new ThreadPoolExecutor(1, 8, 30, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(4096), new DefaultThreadFactory("vless-resolver", true));

    /**
     * The address a target stands for: an IP literal as it is (canonical, ADR-4); a domain name's first IPv4 address,
     * else its first IPv6 address (NAT-7). The future completes on {@code executor}.
     */
    public Future<InetAddress> resolve(VlessAddress target, EventExecutor executor) {
        Promise<InetAddress> promise = executor.newPromise();
        InetAddress literal = target.inetAddress();
        if (literal != null) {
            return promise.setSuccess(literal);
        }
        try {
            pool.execute(() -> {
                try {
                    InetAddress chosen = pick(InetAddress.getAllByName(target.host()));
                    executor.execute(() -> promise.trySuccess(chosen));
                } catch (UnknownHostException | RuntimeException e) {
                    executor.execute(() -> promise.tryFailure(e));
                }
            });
        } catch (RuntimeException e) { // queue full or shut down
            promise.tryFailure(e);
        }
        return promise;
    }

    static InetAddress pick(InetAddress[] all) throws UnknownHostException {
        for (InetAddress a : all) {
            InetAddress c = VlessAddress.canonical(a);
            if (c instanceof Inet4Address) {
                return c;
            }
        }
        if (all.length == 0) {
            throw new UnknownHostException("no address");
        }
        return all[0];
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
