// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import java.time.Duration;

/**
 * How the scripted server answers, set by a case before it lets the client act. Every field starts at what a correct
 * v1 server does; {@link ScriptedServer#reset} puts them back before each case.
 */
public final class ServerScript {

    /** The first thing a CRUMFURS (command 4) or UDP-MUX (command 5) request gets. */
    public enum Answer {
        /** The right byte: 0x14 for CRUMFURS, 0x15 for UDP-MUX. */
        ACK,
        /** Nothing: the connection stays open and silent. */
        NONE,
        /** A close without a byte. */
        CLOSE,
        /** {@link #wrongByte} instead of the right one, then silence. */
        WRONG_BYTE
    }

    volatile Answer crumfurs = Answer.ACK;
    volatile Duration crumfursDelay = Duration.ZERO;
    volatile Answer mux = Answer.ACK;
    volatile Duration muxDelay = Duration.ZERO;
    volatile byte[] afterMuxAck = new byte[0];
    volatile int wrongByte = 0x00;
    volatile byte[] v0Addons = new byte[0];
    volatile boolean strangerCertificate;
    volatile boolean tcpRelay = true;

    /** What a CRUMFURS request gets, after {@code delay}. */
    public ServerScript crumfurs(Answer answer, Duration delay) {
        this.crumfurs = answer;
        this.crumfursDelay = delay;
        return this;
    }

    /** What a UDP-MUX request gets, after {@code delay}. */
    public ServerScript mux(Answer answer, Duration delay) {
        this.mux = answer;
        this.muxDelay = delay;
        return this;
    }

    /** Bytes written in the same write as 0x15 (MUX-4: a client reads them as frames). */
    public ServerScript afterMuxAck(byte[] bytes) {
        this.afterMuxAck = bytes.clone();
        return this;
    }

    /** The byte {@link Answer#WRONG_BYTE} sends. */
    public ServerScript wrongByte(int b) {
        this.wrongByte = b;
        return this;
    }

    /** The addons of the v0 response header (RSP-3: a v0 client skips them). */
    public ServerScript v0Addons(byte[] addons) {
        this.v0Addons = addons.clone();
        return this;
    }

    /** TLS with a certificate the share link does not pin and no CA issued (TLS-3). */
    public ServerScript strangerCertificate(boolean on) {
        this.strangerCertificate = on;
        return this;
    }

    /** Whether command 1 is relayed to its target (default) or left to the case, which answers through the record. */
    public ServerScript tcpRelay(boolean on) {
        this.tcpRelay = on;
        return this;
    }
}
