// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static java.util.Objects.requireNonNull;

import dev.vless.link.ShareLink;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts the client under test from a shell command template ({@code --client-cmd}), such as
 * {@code bin/vless-client --server {link} --socks 127.0.0.1:{socks_port}}. Placeholders are substituted per start,
 * the command runs under {@code /bin/sh -c}, and {@link #start} returns once the SOCKS port accepts a TCP connection.
 *
 * <p>Placeholders: {@code {link}}, {@code {socks}} (host:port, IPv6 in brackets), {@code {socks_host}},
 * {@code {socks_port}}, {@code {server_host}}, {@code {server_port}}, {@code {uuid}}, {@code {sni}}, {@code {pcs}}
 * (the first pinned SHA-256, hex), {@code {ca}} (the server certificate as a PEM file, when the harness has one).
 * Values are shell-quoted where they need it, so a template must not quote them itself.
 */
public final class CommandClientLauncher implements ClientLauncher {

    /** How long a client gets to open its SOCKS port unless told otherwise. */
    public static final Duration DEFAULT_READY_TIMEOUT = Duration.ofSeconds(15);

    /** The placeholders a template may use, in the order the error message lists them. */
    public static final List<String> PLACEHOLDERS = List.of("link", "socks", "socks_host", "socks_port",
            "server_host", "server_port", "uuid", "sni", "pcs", "ca");

    /** How many lines of the client's output are kept for {@link RunningClient#output()}. */
    static final int OUTPUT_LINES = 200;

    // A name in braces; ${VAR} is the shell's and {} (find -exec) names nothing, so neither counts.
    private static final Pattern PLACEHOLDER = Pattern.compile("(?<!\\$)\\{([A-Za-z0-9_]+)}");
    // Characters that mean nothing to sh: values made only of these go in as they are, which keeps the command in
    // the report readable (127.0.0.1:1080 rather than '127.0.0.1:1080').
    private static final Pattern SHELL_SAFE = Pattern.compile("[A-Za-z0-9_.,:/@%+=\\[\\]-]+");
    private static final Duration POLL = Duration.ofMillis(50);
    private static final Duration KILL_GRACE = Duration.ofSeconds(2);
    private static final Duration PORT_FREE_WAIT = Duration.ofSeconds(5);

    private final String template;
    private final Path caPem;
    private final Duration readyTimeout;

    /** A launcher for {@code template} with no CA file and the default readiness timeout. */
    public CommandClientLauncher(String template) {
        this(template, null, DEFAULT_READY_TIMEOUT);
    }

    /**
     * A launcher for {@code template}.
     *
     * @param caPem        the server certificate as PEM, for {@code {ca}}; {@code null} when the harness wrote none
     * @param readyTimeout how long a client gets to open its SOCKS port
     * @throws IllegalArgumentException when the template names an unknown placeholder, or neither {@code {socks}}
     *                                  nor {@code {socks_port}} (the harness chooses the port), or {@code {ca}}
     *                                  without a CA file
     */
    public CommandClientLauncher(String template, Path caPem, Duration readyTimeout) {
        this.template = requireNonNull(template, "template");
        this.caPem = caPem;
        this.readyTimeout = requireNonNull(readyTimeout, "readyTimeout");
        if (readyTimeout.isNegative() || readyTimeout.isZero()) {
            throw new IllegalArgumentException("readyTimeout: " + readyTimeout + " (expected: positive)");
        }
        if (template.isBlank()) {
            throw new IllegalArgumentException("client command: empty (expected: a shell command such as "
                    + "'bin/vless-client --server {link} --socks {socks}')");
        }
        Set<String> used = placeholders(template);
        Set<String> unknown = new TreeSet<>(used);
        PLACEHOLDERS.forEach(unknown::remove);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("client command: unknown placeholder" + (unknown.size() > 1 ? "s" : "")
                    + " {" + String.join("}, {", unknown) + "} (allowed: {" + String.join("}, {", PLACEHOLDERS)
                    + "})");
        }
        if (caPem == null && used.contains("ca")) {
            throw new IllegalArgumentException("client command: uses {ca}, but no CA file was given (the harness "
                    + "writes the server certificate as PEM with --ca-out)");
        }
        if (!used.contains("socks") && !used.contains("socks_port")) {
            throw new IllegalArgumentException("client command: uses neither {socks} nor {socks_port}, but the "
                    + "harness chooses where the client's SOCKS5 front listens (e.g. --socks {socks})");
        }
    }

    /** The template as given. */
    public String template() {
        return template;
    }

    @Override
    public String description() {
        return "command: " + template;
    }

    @Override
    public RunningClient start(String link, InetSocketAddress socks) throws IOException {
        return launch(substitute(link, socks), socks, readyTimeout, null);
    }

    /** The command line for one start: every placeholder replaced by its value, quoted for sh where needed. */
    public String substitute(String link, InetSocketAddress socks) throws IOException {
        ShareLink l;
        try {
            l = ShareLink.parse(link);
        } catch (IllegalArgumentException e) {
            throw new IOException("cannot start the client: " + e.getMessage(), e);
        }
        String socksHost = socks.getAddress() != null ? socks.getAddress().getHostAddress() : socks.getHostString();
        Map<String, String> values = new LinkedHashMap<>();
        values.put("link", link);
        values.put("socks", (socksHost.indexOf(':') >= 0 ? "[" + socksHost + "]" : socksHost) + ":" + socks.getPort());
        values.put("socks_host", socksHost);
        values.put("socks_port", Integer.toString(socks.getPort()));
        values.put("server_host", l.host());
        values.put("server_port", Integer.toString(l.port()));
        values.put("uuid", l.user().toString());
        values.put("sni", l.serverName());
        if (!l.pinnedSha256().isEmpty()) {
            values.put("pcs", l.pinnedSha256().get(0).toLowerCase(Locale.ROOT));
        }
        if (caPem != null) {
            values.put("ca", caPem.toAbsolutePath().toString());
        }
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String v = values.get(m.group(1));
            if (v == null) {
                // Only {pcs} can get here: validated at construction, but this link pins nothing.
                throw new IOException("cannot start the client: the command uses {" + m.group(1) + "} but the link "
                        + "has no value for it: " + link);
            }
            m.appendReplacement(b, Matcher.quoteReplacement(shellQuote(v)));
        }
        m.appendTail(b);
        return b.toString();
    }

    /** {@code value} as one sh word: as it is when nothing in it is special, else in single quotes. */
    static String shellQuote(String value) {
        if (!value.isEmpty() && SHELL_SAFE.matcher(value).matches()) {
            return value;
        }
        return "'" + value.replace("'", "'\\''") + "'";
    }

    private static Set<String> placeholders(String template) {
        Set<String> names = new LinkedHashSet<>();
        Matcher m = PLACEHOLDER.matcher(template);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    /**
     * Runs {@code command} under {@code /bin/sh -c} and waits until {@code socks} accepts a TCP connection. For
     * launchers that build the command line themselves; {@code onClose} (may be {@code null}) runs once the process
     * tree is gone, e.g. to delete a config file.
     *
     * @throws IOException when the process exits first (its status and last lines) or the port never opens (then
     *                     the process tree is killed and the message has what it printed)
     */
    public static RunningClient launch(String command, InetSocketAddress socks, Duration readyTimeout,
            Runnable onClose) throws IOException {
        // stdin stays an open pipe nobody writes to: some clients stop when their stdin ends.
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", command).redirectErrorStream(true);
        ProcessClient client = new ProcessClient(pb.start(), socks, command, onClose);
        try {
            client.awaitReady(readyTimeout);
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        } catch (InterruptedException e) {
            client.close();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the client to open " + socks, e);
        }
        return client;
    }

    /** One client process, its output, and its descendants as far as they were seen. */
    static final class ProcessClient implements RunningClient {
        private final Process process;
        private final InetSocketAddress socks;
        private final String command;
        private final Runnable onClose;
        private final Deque<String> lines = new ArrayDeque<>();
        private final Thread reader;
        // Descendants seen while it ran: a child whose shell has exited is no longer a descendant of anything we
        // hold, so close() kills what was seen as well as what is there now.
        private final Set<ProcessHandle> seen = new LinkedHashSet<>();
        private volatile boolean closed;

        ProcessClient(Process process, InetSocketAddress socks, String command, Runnable onClose) {
            this.process = process;
            this.socks = socks;
            this.command = command;
            this.onClose = onClose;
            this.reader = new Thread(this::pump, "client-output-" + process.pid());
            reader.setDaemon(true);
            reader.start();
        }

        private void pump() {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    // A client that prints megabytes without a newline must not fill the heap.
                    if (line.length() > 2000) {
                        line = line.substring(0, 2000) + "...";
                    }
                    synchronized (lines) {
                        if (lines.size() == OUTPUT_LINES) {
                            lines.removeFirst();
                        }
                        lines.addLast(line);
                    }
                }
            } catch (IOException e) {
                // The pipe closed under us when the process was killed: nothing more to read.
            }
        }

        void awaitReady(Duration timeout) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                remember();
                if (accepts(socks)) {
                    return;
                }
                if (!process.isAlive()) {
                    throw new IOException("the client exited with status " + process.exitValue() + " before "
                            + socks + " accepted connections (command: " + command + ")" + tail());
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IOException("the client did not open " + socks + " within " + timeout.toMillis()
                            + " ms; killed it (command: " + command + ")" + tail());
                }
                Thread.sleep(POLL.toMillis());
            }
        }

        private static boolean accepts(InetSocketAddress address) {
            try (Socket s = new Socket()) {
                s.connect(address, (int) Math.max(POLL.toMillis(), 200));
                return true;
            } catch (IOException e) {
                return false;
            }
        }

        private void remember() {
            synchronized (seen) {
                process.descendants().forEach(seen::add);
            }
        }

        /** The last lines, after the reader has had a moment to take what a just-ended process printed. */
        private String tail() {
            if (!process.isAlive()) {
                try {
                    reader.join(500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            String out = output();
            return out.isEmpty() ? "; it printed nothing" : "; its last lines:\n" + out;
        }

        @Override
        public InetSocketAddress socks() {
            return socks;
        }

        @Override
        public String exited() {
            if (closed || process.isAlive()) {
                return null;
            }
            return "exited with status " + process.exitValue() + tail();
        }

        @Override
        public String output() {
            synchronized (lines) {
                return String.join("\n", lines);
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            remember();
            List<ProcessHandle> tree = new ArrayList<>();
            tree.add(process.toHandle());
            synchronized (seen) {
                tree.addAll(seen);
            }
            tree.forEach(ProcessHandle::destroy);
            long deadline = System.nanoTime() + KILL_GRACE.toNanos();
            for (ProcessHandle h : tree) {
                long left = deadline - System.nanoTime();
                try {
                    if (left > 0) {
                        h.onExit().get(left, TimeUnit.NANOSECONDS);
                    }
                } catch (Exception e) {
                    // Still running after the grace period, or interrupted: killed below either way.
                }
            }
            tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
            for (ProcessHandle h : tree) {
                try {
                    h.onExit().get(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                    // A process that survives SIGKILL this long is stuck in the kernel; nothing more we can do.
                }
            }
            try {
                process.getOutputStream().close();
            } catch (IOException e) {
                // Its reader is gone with it.
            }
            awaitPortFree();
            if (onClose != null) {
                onClose.run();
            }
        }

        /** The next client gets the same port, so wait until nothing holds it (bounded: we only ever wait). */
        private void awaitPortFree() {
            long deadline = System.nanoTime() + PORT_FREE_WAIT.toNanos();
            while (System.nanoTime() - deadline < 0) {
                try (ServerSocket probe = new ServerSocket()) {
                    probe.setReuseAddress(true);
                    probe.bind(socks);
                    return;
                } catch (IOException e) {
                    try {
                        Thread.sleep(POLL.toMillis());
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }

        @Override
        public String toString() {
            return "client pid " + process.pid() + " (" + command + ")";
        }
    }
}
