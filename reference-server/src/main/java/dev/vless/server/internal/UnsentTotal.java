// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import java.util.concurrent.atomic.AtomicLong;

/** Bytes queued toward the clients of one NAT context, summed over its connections and CRUMFURS, with its cap. */
public final class UnsentTotal {

    private final AtomicLong bytes = new AtomicLong();
    private final long cap;

    /** A total that counts as full above {@code cap} bytes. */
    public UnsentTotal(long cap) {
        this.cap = cap;
    }

    /** Adds {@code delta} bytes (negative once they are written or dropped). */
    public void add(long delta) {
        bytes.addAndGet(delta);
    }

    /** Whether {@code more} bytes would take the total above the cap. */
    public boolean wouldExceed(int more) {
        return bytes.get() + more > cap;
    }

    /** Bytes now. */
    public long bytes() {
        return bytes.get();
    }

    /** The cap. */
    public long cap() {
        return cap;
    }
}
