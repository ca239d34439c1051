// SPDX-License-Identifier: Apache-2.0
/**
 * The server's command line: {@link dev.vless.server.cli.ServerCommand} turns flags into a
 * {@link dev.vless.server.VlessServerConfig}, starts the server and stops it on SIGTERM or SIGINT.
 */
package dev.vless.server.cli;
