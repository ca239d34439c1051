// SPDX-License-Identifier: Apache-2.0
/**
 * What the reference server and client need from Netty beyond its API: workarounds for faults of the pinned version,
 * each with the test that shows the fault. Tool code, not protocol; it lives in the spec module because that is the one
 * module both depend on.
 */
package dev.vless.netty;
