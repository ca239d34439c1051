// SPDX-License-Identifier: Apache-2.0
package dev.vless.cli;

/**
 * A command line a tool cannot run with. The message is one line that says what is wrong and what to do; the command
 * prints it without a stack trace and exits with its usage error code.
 */
public final class UsageException extends Exception {

    private static final long serialVersionUID = 1L;

    /** A complaint about the command line, in one line. */
    public UsageException(String message) {
        super(message);
    }
}
