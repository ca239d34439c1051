// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import io.netty.util.internal.PlatformDependent;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

/**
 * Direct memory the JVM has handed out, read cheaply enough to check on every datagram: the JDK's count of
 * {@code ByteBuffer.allocateDirect} memory (what Netty's pools use unless they may bypass the cleaner) plus Netty's own
 * count of memory it allocated without a cleaner. Both are a single atomic read.
 */
public final class DirectMemory {

    private static final BufferPoolMXBean JDK_DIRECT = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)
            .stream().filter(b -> "direct".equals(b.getName())).findFirst().orElse(null);

    private DirectMemory() {
    }

    /** Bytes of direct memory in use now. */
    public static long used() {
        long jdk = JDK_DIRECT != null ? JDK_DIRECT.getMemoryUsed() : 0;
        return jdk + Math.max(0, PlatformDependent.usedDirectMemory());
    }
}
