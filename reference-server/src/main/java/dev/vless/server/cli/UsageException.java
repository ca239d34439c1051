package dev.vless.server.cli;

/**
 * A command line the server cannot run with. The message is one line that says what is wrong and what to do; the
 * command prints it without a stack trace and exits with picocli's usage error code.
 */
final class UsageException extends Exception {

    UsageException(String message) {
        super(message);
    }
}
