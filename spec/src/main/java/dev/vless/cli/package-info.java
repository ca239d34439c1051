// SPDX-License-Identifier: Apache-2.0
/**
 * What the tools' command lines share: the one duration syntax ({@link dev.vless.cli.Durations}) of the server, the
 * client, the conformance suite and the load generator; log-level set-up before the first logger and the
 * {@code --log-level} option; and stopping on a signal with a bounded wait. Tool code, not protocol; it lives in the
 * spec module because that is the one module every tool depends on.
 */
package dev.vless.cli;
