// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.testing;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.function.BooleanSupplier;

/** Facts about this host's loopback interface that some tests depend on. */
public final class Loopback {

    private static final boolean IPV6 = canBind("::1");

    private Loopback() {
    }

    /** Whether ::1 can be bound (containers without IPv6 lack it). */
    public static boolean hasIpv6() {
        return IPV6;
    }

    /**
     * Polls {@code condition} every 10 ms until it holds or {@code timeoutMillis} pass; fails with {@code what}
     * otherwise. Tests wait for asynchronous server state this way rather than with fixed sleeps.
     */
    public static void await(String what, long timeoutMillis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeoutMillis + " ms waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }

    /**
     * Open file descriptors of this process (a test's server runs in it, so its sockets are among them), or -1 where
     * there is no {@code /proc/self/fd}.
     */
    public static int openFds() {
        String[] fds = new java.io.File("/proc/self/fd").list();
        return fds == null ? -1 : fds.length;
    }

    private static boolean canBind(String ip) {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(ip), 0))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
