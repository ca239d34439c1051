// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.internal;

import dev.vless.server.internal.Transport;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ManualIoEventLoop;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;

/**
 * An event loop that the benchmark thread itself drives, and the server transport that matches it. Code under test
 * that checks {@code inEventLoop()} runs inline on the benchmark thread, so no operation pays for a hand-off between
 * threads, and tasks the code schedules run only when the benchmark calls {@link #runPending()}.
 */
public final class BenchLoop implements AutoCloseable {

    private final ManualIoEventLoop loop;
    private final Transport transport;

    private BenchLoop(ManualIoEventLoop loop, Transport transport) {
        this.loop = loop;
        this.transport = transport;
    }

    /** A loop owned by the calling thread: native epoll where the server would use it, NIO otherwise. */
    public static BenchLoop ownedByCurrentThread() {
        // Transport.select(true) picks epoll exactly when Epoll.isAvailable(); the loop's I/O handler must match it.
        Transport transport = Transport.select(true);
        IoHandlerFactory factory = Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new BenchLoop(new ManualIoEventLoop(Thread.currentThread(), factory), transport);
    }

    /** The loop. */
    public ManualIoEventLoop loop() {
        return loop;
    }

    /** The server transport whose channels register on this loop. */
    public Transport transport() {
        return transport;
    }

    /** Runs the I/O and tasks that are ready now, without blocking. */
    public int runPending() {
        return loop.runNow();
    }

    /** Runs the tasks that are ready now (what the code under test handed to the loop), without I/O. */
    public int runTasks() {
        return loop.runNonBlockingTasks(java.util.concurrent.TimeUnit.SECONDS.toNanos(1));
    }

    /** Fails unless the calling thread owns the loop: JMH must run setup and benchmark on the same thread. */
    public void checkOwner() {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("the benchmark runs on " + Thread.currentThread().getName()
                    + ", not on the thread that owns its event loop");
        }
    }

    /** Closes every channel on the loop and shuts it down. */
    @Override
    public void close() {
        loop.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS);
        for (int i = 0; i < 1000 && !loop.isTerminated(); i++) {
            loop.runNow();
        }
    }
}
