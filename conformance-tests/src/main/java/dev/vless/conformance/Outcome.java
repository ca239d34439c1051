// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

/**
 * What a connection did while the harness waited: the events bad-input rules speak of.
 *
 * @param kind      what happened
 * @param bytes     bytes received (for {@link Kind#DATA}), else empty
 * @param elapsedMs how long after the wait began
 */
public record Outcome(Kind kind, byte[] bytes, long elapsedMs) {

    /** The events. */
    public enum Kind {
        /** The peer closed (FIN) without sending. */
        CLOSED,
        /** The connection was reset. */
        RESET,
        /** Bytes arrived. */
        DATA,
        /** Nothing happened within the time allowed. */
        STILL_OPEN
    }

    @Override
    public String toString() {
        return switch (kind) {
            case DATA -> "received " + bytes.length + " B " + WireLog.hex(bytes) + " after " + elapsedMs + " ms";
            case CLOSED -> "closed without a byte after " + elapsedMs + " ms";
            case RESET -> "reset without a byte after " + elapsedMs + " ms";
            case STILL_OPEN -> "still open, no byte, after " + elapsedMs + " ms";
        };
    }
}
