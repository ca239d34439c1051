// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.client;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import dev.vless.conformance.ConformanceRunner;
import dev.vless.conformance.Redaction;
import dev.vless.conformance.Report;
import dev.vless.conformance.ReportCollector;
import dev.vless.conformance.RunEvents;
import dev.vless.conformance.Selection;
import dev.vless.conformance.TcpPeer;
import dev.vless.conformance.WireLog;
import dev.vless.spec.Party;
import java.io.IOException;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs the client conformance cases: the harness is the VLESS server (scripted, on loopback) and the application (through
 * the client's SOCKS5 front), and the verdicts, reports and exit codes are those of a server run.
 */
public final class ClientConformance {

    /** The package the client cases live in. */
    public static final String CASES_PACKAGE = "dev.vless.conformance.client.cases";

    private ClientConformance() {
    }

    /**
     * Runs the selected client cases, writes the reports when {@code writeFiles}, and returns the report. Before any
     * case a pre-flight starts the client and relays one TCP exchange through it; when that fails no case runs and
     * {@link Report#unchecked()} says why.
     */
    public static Report run(ClientOptions options, Selection selection, PrintStream console, boolean writeFiles)
            throws IOException {
        ClientRun run = new ClientRun(options).register();
        RunEvents events = run.events();
        events.echoTo(console);
        try {
            Redaction redaction = options.showSecrets() ? Redaction.NONE : Redaction.of(run.user(), run.user2());
            ScriptedServer server = run.server();
            String description = "client: " + options.launcher().description();
            if (console != null) {
                console.println("VLESS client conformance " + ConformanceRunner.version() + " — "
                        + description + " — profile " + options.profile().name().toLowerCase(Locale.ROOT));
                // In full: the user ID is one this run made up, and a client the user starts needs the real link.
                console.println("Scripted server: " + server.link(run.user()) + (options.tls() ? "" : " (plaintext)"));
                if (options.launcher() instanceof ExternalClientLauncher external) {
                    console.println("Start the client with this link and its SOCKS5 front at " + external.socks()
                            + "; waiting up to " + external.waitFor().toSeconds() + " s for it.");
                }
            }
            String unchecked = preflight(run, console);
            ReportCollector collector = new ReportCollector(console, redaction).checking(Party.CLIENT);
            if (unchecked == null) {
                if (console != null) {
                    console.println("Pre-flight passed.");
                }
                LauncherFactory.create().execute(request(selection, run.id()), collector);
            } else if (console != null) {
                console.println("Not checked: " + redaction.apply(unchecked));
            }
            Report report = redaction.apply(collector.report(description, options.profile(), options.policy(),
                    ConformanceRunner.version(), !selection.tags().isEmpty(), events.all(), unchecked));
            if (writeFiles) {
                ConformanceRunner.writeReports(report, options.reportDir(), console);
            }
            return report;
        } finally {
            events.echoTo(null);
            run.close();
        }
    }

    /**
     * Starts the client and sends one TCP exchange through it to a harness peer. Returns why the client cannot be
     * checked (it does not start, its front does not answer, it never reaches the server), or {@code null}.
     */
    static String preflight(ClientRun run, PrintStream console) throws IOException {
        WireLog log = new WireLog();
        ScriptedServer server = run.server();
        server.reset(log);
        RunningClient client;
        try {
            client = run.startClient(run.user());
        } catch (IOException e) {
            return "the client did not start: " + e.getMessage();
        }
        try (TcpPeer peer = new TcpPeer(run.options().peers().get(0), log, true)) {
            byte[] probe = "vless-conformance pre-flight".getBytes(StandardCharsets.US_ASCII);
            try (Socket s = new SocksApplication(client.socks(), log).connect(
                    peer.address().getAddress().getHostAddress(), peer.address().getPort())) {
                s.setSoTimeout((int) Math.max(1000, run.options().ioTimeout().toMillis()));
                s.getOutputStream().write(probe);
                byte[] back = s.getInputStream().readNBytes(probe.length);
                if (back.length == probe.length) {
                    return null;
                }
            } catch (IOException e) {
                log.note("pre-flight: " + e.getMessage());
            }
            return explain(server, run, log);
        } finally {
            if (!run.isShared(client)) {
                client.close();
            }
        }
    }

    private static String explain(ScriptedServer server, ClientRun run, WireLog log) {
        List<ServerConnection> seen = server.connections();
        String tail = " (what the harness saw: " + String.join("; ", log.lines()) + ")";
        if (seen.isEmpty()) {
            return "a TCP CONNECT through the client's SOCKS5 front got no echo, and the client never connected to the"
                    + " scripted server at " + server.address() + ": is it configured with the link printed above?"
                    + tail;
        }
        for (ServerConnection c : seen) {
            if (c.tlsFailure() != null) {
                return "the client's TLS handshake with the scripted server failed (" + c.tlsFailure() + "): a client"
                        + " that cannot pin the certificate (pcs=) can trust it as a CA (--ca-out FILE), or run with"
                        + " --plaintext" + tail;
            }
            if (c.headerError() != null) {
                return "the client's first request is no valid VLESS request (" + c.headerError() + "): check the"
                        + " profile (--profile v0 for a v0 client)" + tail;
            }
        }
        return "a TCP CONNECT through the client got no echo from the harness's peer" + tail;
    }

    /** The selected cases, without running them. */
    public static List<String> list(Selection selection) {
        return ConformanceRunner.describe(LauncherFactory.create().discover(request(selection, "none")));
    }

    private static LauncherDiscoveryRequest request(Selection selection, String runId) {
        LauncherDiscoveryRequestBuilder b = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage(CASES_PACKAGE))
                .configurationParameter(ClientRun.RUN_PARAMETER, runId)
                .filters(TagFilter.includeTags("client-conformance"))
                .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "false");
        if (!selection.tags().isEmpty()) {
            b.filters(TagFilter.includeTags(new ArrayList<>(selection.tags())));
        }
        return b.build();
    }
}
