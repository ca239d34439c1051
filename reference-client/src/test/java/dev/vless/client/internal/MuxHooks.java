// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.internal;

import java.time.Duration;

/** Lets tests outside this package shorten the 10 minutes a client waits before asking for UDP-MUX again (MUX-6). */
public final class MuxHooks {

    private MuxHooks() {
    }

    /** Something a test runs while the hold is short. */
    @FunctionalInterface
    public interface Body {
        /** Runs the test's steps. */
        void run() throws Exception;
    }

    /** Runs {@code body} with the hold set to {@code hold}, restoring the default afterwards. */
    public static void withUnavailableHold(Duration hold, Body body) throws Exception {
        MuxManager.unavailableHoldNanos = hold.toNanos();
        try {
            body.run();
        } finally {
            MuxManager.unavailableHoldNanos = MuxManager.UNAVAILABLE_HOLD.toNanos();
        }
    }
}
