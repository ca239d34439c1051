// SPDX-License-Identifier: Apache-2.0
/** JMH benchmarks of one datagram's way through the reference server's handlers, in one process. */
package dev.vless.bench.relay;
