// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.socks;

import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;

/**
 * A SOCKS5 request the front cannot serve. It carries the reply status the application gets before the connection
 * closes, or none when the bytes are not SOCKS5 at all and the connection just closes.
 */
public final class Socks5RequestException extends DecoderException {
    private static final long serialVersionUID = 1L;

    private final transient Socks5CommandStatus reply;

    /** A failure answered with {@code reply}, or closed without an answer when it is {@code null}. */
    public Socks5RequestException(Socks5CommandStatus reply, String message) {
        super(message);
        this.reply = reply;
    }

    /** The status to reply with, or {@code null} to close without a reply. */
    public Socks5CommandStatus reply() {
        return reply;
    }

    // Bad input from an application says nothing about our code; a stack trace would only cost time.
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
