// SPDX-License-Identifier: Apache-2.0
package dev.vless.bench.load;

import java.time.Duration;

/**
 * How long each workload runs against each target.
 *
 * @param warmup   traffic before the window (JIT compilation, pools, socket buffers), not counted
 * @param duration the measurement window
 * @param rate     total UDP datagrams per second to send at most; 0 for as fast as the windows allow
 */
record Timing(Duration warmup, Duration duration, long rate) {
}
