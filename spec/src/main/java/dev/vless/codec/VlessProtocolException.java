// SPDX-License-Identifier: Apache-2.0
package dev.vless.codec;

import static java.util.Objects.requireNonNull;

import dev.vless.spec.SpecRule;
import io.netty.handler.codec.DecoderException;

/**
 * Bad input: the peer broke a rule of the specification. Decoders throw it and never write or close; the handler
 * that catches it decides between closing silently and a fallback.
 */
public final class VlessProtocolException extends DecoderException {
    private static final long serialVersionUID = 1L;

    private final ProtocolError error;
    private final SpecRule rule;

    /** Creates an exception for {@code error}, breaking the kind's default rule. */
    public VlessProtocolException(ProtocolError error, String detail) {
        this(error, error.defaultRule(), detail);
    }

    /** Creates an exception for {@code error}, breaking {@code rule}. */
    public VlessProtocolException(ProtocolError error, SpecRule rule, String detail) {
        super(requireNonNull(rule, "rule").id() + " " + requireNonNull(error, "error").slug() + ": " + detail);
        this.error = error;
        this.rule = rule;
    }

    /** What kind of bad input this was. */
    public ProtocolError error() {
        return error;
    }

    /** The rule the input broke. */
    public SpecRule rule() {
        return rule;
    }

    // The stack trace of bad network input says nothing about our code, and filling it costs a probe's worth of CPU.
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
