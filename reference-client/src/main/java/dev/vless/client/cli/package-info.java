// SPDX-License-Identifier: Apache-2.0
/** The {@code vless-client} command line. */
package dev.vless.client.cli;
