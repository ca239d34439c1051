/**
 * What the reference server's and client's command lines share: log-level set-up before the first logger, duration
 * and log-level options, and stopping on a signal with a bounded wait. Tool code, not protocol; it lives in the spec
 * module because that is the one module every tool depends on.
 */
package dev.vless.cli;
