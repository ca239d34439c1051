// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.internal;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The executor JMH runs benchmark threads on ({@code -Djmh.executor=CUSTOM
 * -Djmh.executor.class=dev.vless.bench.internal.FastThreadLocalExecutor}, set by {@link dev.vless.bench.BenchmarkBase}):
 * a fixed pool of Netty {@code FastThreadLocalThread}s, the kind of thread a server's event loops run on. Netty 4.2
 * recycles pooled objects (derived buffers, outbound-buffer entries) only on such threads and allocates them afresh
 * on any other, so on JMH's plain threads {@code gc.alloc.rate.norm} would show garbage the server never makes.
 */
public final class FastThreadLocalExecutor extends ThreadPoolExecutor {

    /** The constructor JMH's custom executor type calls. */
    public FastThreadLocalExecutor(int threads, String prefix) {
        super(threads, threads, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>(),
                new DefaultThreadFactory(prefix, true));
    }
}
