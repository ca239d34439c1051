/** The {@code vless-client} command line. */
package dev.vless.client.cli;
