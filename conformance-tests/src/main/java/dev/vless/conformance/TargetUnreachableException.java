// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import java.io.IOException;

/** The harness could not connect to the target at all: the case gets ERROR, never PASS or FAIL. */
public final class TargetUnreachableException extends IOException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception. */
    public TargetUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
