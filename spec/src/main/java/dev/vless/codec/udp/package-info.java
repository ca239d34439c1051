// SPDX-License-Identifier: Apache-2.0
/** UDP frames of command-2 connections, and the CRUMFURS channel: its acknowledgement and UMFURS messages. */
package dev.vless.codec.udp;
