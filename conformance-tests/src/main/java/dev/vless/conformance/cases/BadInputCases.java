// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance.cases;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessCommand;
import dev.vless.codec.VlessRequest;
import dev.vless.conformance.ConformanceCases;
import dev.vless.conformance.DeadlineCalibration;
import dev.vless.conformance.Expect;
import dev.vless.conformance.Harness;
import dev.vless.conformance.Outcome;
import dev.vless.conformance.TcpPeer;
import dev.vless.conformance.VlessConnection;
import dev.vless.conformance.VlessTarget;
import dev.vless.spec.Profile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * §15 Bad input, with the rules of §3 to §5 that make input bad: for every kind, the target sends no byte and closes
 * by the handshake deadline plus a second (ERR-1, ERR-2), and goes on serving others (ERR-5).
 *
 * <p>Every bad header carries a payload and names the harness's echo peer as its destination, so a target that
 * wrongly accepts one gives itself away by echoing. The connections of one case run side by side: each has to wait
 * for the deadline, and one wait covers them all.
 */
@ConformanceCases
@Tag("bad-input")
class BadInputCases {

    private static final String ERR_1 = "ERR-1: on bad input the server sends no byte";
    private static final String ERR_2 = "ERR-2: after bad input the server reads and discards until the handshake"
            + " deadline and then closes (or hands the connection to a fallback)";
    private static final byte[] PING = "ping over vless".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HTTP_PROBE = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII);
    /** ERR-3's tolerance: closing moments closer than this are taken as the same moment. */
    private static final long SAME_MOMENT_MS = 500;

    /** Waits for the target on many connections at once; daemon threads, so a hung wait never holds the JVM. */
    private static final ExecutorService WAITERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "bad-input-wait");
        t.setDaemon(true);
        return t;
    });

    @Test
    @Tag("HDR-3")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("HDR-3 · ERR-1 · ERR-2 · an unknown user ID gets no byte, then close (3 wrong IDs)")
    void unknownUser(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        byte[] firstByteFlipped = valid.clone();
        firstByteFlipped[1] ^= 0x01;
        byte[] lastByteFlipped = valid.clone();
        lastByteFlipped[16] ^= (byte) 0x80;
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put("a random user ID", withUser(valid, UUID.randomUUID()));
        inputs.put("the user ID with its first byte changed", firstByteFlipped);
        inputs.put("the user ID with its last byte changed", lastByteFlipped);
        expectRefused(h, "HDR-3: a request whose user ID is not one of the server's users is bad input: no byte"
                + " (ERR-1), then close (ERR-2)", withPayload(inputs));
    }

    @Test
    @Tag("VER-2")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("VER-2 · ERR-1 · ERR-2 · a version byte of 02, ff or an HTTP request gets no byte, then close")
    void unknownVersion(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put("version 0x02", with(valid, 0, 0x02));
        inputs.put("version 0xff", with(valid, 0, 0xff));
        inputs.put("an HTTP request (version 0x47 'G')", HTTP_PROBE);
        expectRefused(h, "VER-2: a request whose version byte the server does not serve is bad input: no byte"
                + " (ERR-1), then close (ERR-2)", withPayload(inputs));
    }

    @Test
    @Tag("HDR-5")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("HDR-5 · ERR-1 · ERR-2 · an unknown command (00, 06, ff) gets no byte, then close")
    void unknownCommand(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        int at = commandAt(h);
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        for (int command : new int[] {0x00, 0x06, 0xff}) {
            inputs.put(String.format("command 0x%02x", command), with(valid, at, command));
        }
        expectRefused(h, "HDR-5: a command other than 1 to 4 is bad input: no byte (ERR-1), then close (ERR-2)",
                withPayload(inputs));
    }

    /*
     * HDR-7 is a MAY: a target may serve Mux (command 3) or refuse it, and refusing means exactly like an unknown
     * command. The case tells which it found, next to an unknown command sent at the same moment, and fails neither.
     */
    @Test
    @Tag("HDR-7")
    @DisplayName("HDR-7 · command 3 (Mux): refused like an unknown command, or served — reported")
    void muxCommand(Harness h) throws Exception {
        h.informational();
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        int at = commandAt(h);
        Duration wait = h.deadlineCalibration().closeAllowance();
        CompletableFuture<Observed> mux = watch(h, "command 3 (Mux)",
                VlessConnection.concat(with(valid, at, 0x03), PING), false, wait);
        CompletableFuture<Observed> unknown = watch(h, "command 0x06", VlessConnection.concat(with(valid, at, 0x06),
                PING), false, wait);
        Observed m;
        Observed u;
        try {
            m = join(mux);
            u = join(unknown);
        } catch (IOException e) {
            h.fact("header.mux", "unclear: the connection failed (" + e.getMessage() + ")");
            return;
        }
        String finding;
        if (m.outcome().kind() == Outcome.Kind.DATA || m.outcome().kind() == Outcome.Kind.STILL_OPEN) {
            finding = "served (" + m.outcome() + ")";
        } else if (m.outcome().kind() == u.outcome().kind()
                && Math.abs(m.sinceConnectMs() - u.sinceConnectMs()) < SAME_MOMENT_MS) {
            finding = "refused like an unknown command (Mux: " + m.describe() + "; command 0x06: " + u.describe()
                    + ")";
        } else {
            finding = "refused, but not like an unknown command (Mux: " + m.describe() + "; command 0x06: "
                    + u.describe() + ")";
        }
        h.fact("header.mux", finding);
    }

    @Test
    @Tag("HDR-6")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("HDR-6 · ERR-1 · ERR-2 · command 4 (CRUMFURS) in a v0 request gets no byte, then close")
    void crumfursInV0(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] v0 = VlessConnection.encode(VlessRequest.v0(h.target().user(), VlessCommand.TCP,
                VlessAddress.of(echo.address())));
        byte[] withAddress = with(v0, 18, 0x04);
        byte[] bare = Arrays.copyOf(withAddress, 19);
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put("v0, command 4, nothing after it (the v1 CRUMFURS shape)", bare);
        inputs.put("v0, command 4, with a port and an address", VlessConnection.concat(withAddress, PING));
        expectRefused(h, "HDR-6: a v0 request with command 4 is bad input: no byte (ERR-1), then close (ERR-2)",
                inputs);
    }

    @Test
    @Tag("MUX-1")
    @Tag("HDR-6")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @Tag("mux")
    @DisplayName("MUX-1 · HDR-6 · ERR-1 · ERR-2 · command 5 (UDP-MUX) in a v0 request gets no byte, then close")
    void muxInV0(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] v0 = VlessConnection.encode(VlessRequest.v0(h.target().user(), VlessCommand.TCP,
                VlessAddress.of(echo.address())));
        byte[] withAddress = with(v0, 18, 0x05);
        byte[] bare = Arrays.copyOf(withAddress, 19);
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put("v0, command 5, nothing after it (the v1 UDP-MUX shape)", bare);
        inputs.put("v0, command 5, with a port and an address", VlessConnection.concat(withAddress, PING));
        try {
            expectRefused(h, "MUX-1: a v0 request with command 5 is bad input (HDR-6): no byte (ERR-1), then close"
                    + " (ERR-2)", inputs);
        } catch (AssertionError e) {
            // HDR-6 says the same of command 5 as MUX-1: when only the timing failed, its check passed too.
            String m = String.valueOf(e.getMessage());
            if (m.lines().noneMatch(l -> l.startsWith(ERR_1) || l.startsWith("MUX-1:"))) {
                h.passed("HDR-6: a v0 request with command 5 is bad input, and got no byte");
            }
            throw e;
        }
    }

    /*
     * MUX-2 is a MAY: a target may leave UDP-MUX unsupported, and then command 5 must be refused exactly like an
     * unknown command. Judged only on a target without the mode, next to command 6 sent at the same moment.
     */
    @Test
    @Tag("MUX-2")
    @Tag("mux")
    @DisplayName("MUX-2 · without UDP-MUX, command 5 is refused exactly like an unknown command (06): no byte, the same"
            + " ending at the same moment")
    void muxUnsupportedLikeUnknown(Harness h) throws Exception {
        dev.vless.conformance.MuxSupport m = h.muxSupport();
        if (m.failure() != null) {
            throw new dev.vless.conformance.TargetUnreachableException(m.description(), m.failure());
        }
        if (m.supported()) {
            throw Expect.notRun("the target offers UDP-MUX (" + m.seen() + "): MUX-2's unsupported branch does"
                    + " not arise");
        }
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        int at = commandAt(h);
        Duration wait = h.deadlineCalibration().closeAllowance();
        byte[] mux = VlessConnection.encode(VlessRequest.mux(h.target().user()));
        CompletableFuture<Observed> five = watch(h, "command 5 (UDP-MUX, 18 bytes)", mux, false, wait);
        CompletableFuture<Observed> six = watch(h, "command 0x06", VlessConnection.concat(with(valid, at, 0x06), PING),
                false, wait);
        Observed f = join(five);
        Observed u = join(six);
        String requirement = "MUX-2: a server without UDP-MUX MUST treat command 5 exactly like an unknown command";
        if (f.outcome().kind() == Outcome.Kind.DATA) {
            throw Expect.violation(requirement, "no byte (ERR-1), as for command 0x06 (" + u.describe() + ")",
                    "command 5: " + f.describe());
        }
        boolean sameKind = f.outcome().kind() == u.outcome().kind();
        boolean sameMoment = Math.abs(f.sinceConnectMs() - u.sinceConnectMs()) < SAME_MOMENT_MS;
        if (!sameKind || (!sameMoment && !h.target().fallback())) {
            throw Expect.violation(requirement, "the same ending as command 0x06, within " + SAME_MOMENT_MS
                    + " ms: " + u.describe(), "command 5: " + f.describe());
        }
        h.log().note("command 5: " + f.describe() + "; command 0x06: " + u.describe());
    }

    @Test
    @Tag("ADR-1")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("ADR-1 · ERR-1 · ERR-2 · address type 00, 04 (SOCKS5 IPv6) or ff gets no byte, then close")
    void unknownAddressType(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        int at = commandAt(h) + 3;
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        for (int type : new int[] {0x00, 0x04, 0xff}) {
            inputs.put(String.format("address type 0x%02x", type), with(valid, at, type));
        }
        expectRefused(h, "ADR-1: an address type other than 1, 2 or 3 is bad input: no byte (ERR-1), then close"
                + " (ERR-2)", withPayload(inputs));
    }

    @Test
    @Tag("ADR-2")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("ADR-2 · ERR-1 · ERR-2 · a domain name of length 0 gets no byte, then close")
    void emptyDomain(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put("domain of length 0", withDomain(h, valid, new byte[0]));
        expectRefused(h, "ADR-2: a domain name of length 0 is bad input: no byte (ERR-1), then close (ERR-2)",
                withPayload(inputs));
    }

    @Test
    @Tag("ADR-3")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("ADR-3 · ERR-1 · ERR-2 · a domain with a byte 20, 00, 7f or 80 gets no byte, then close")
    void invalidDomain(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        for (int bad : new int[] {0x20, 0x00, 0x7f, 0x80}) {
            byte[] name = "localhost".getBytes(StandardCharsets.US_ASCII);
            name[5] = (byte) bad;
            inputs.put(String.format("domain 'local?ost' with byte 0x%02x", bad), withDomain(h, valid, name));
        }
        expectRefused(h, "ADR-3: a domain name byte outside 0x21..0x7e is bad input: no byte (ERR-1), then close"
                + " (ERR-2)", withPayload(inputs));
    }

    @Test
    @Tag("HDR-8")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("HDR-8 · ERR-1 · ERR-2 · port 0 gets no byte, then close (IP and domain targets)")
    void portZero(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        int at = commandAt(h) + 1;
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put("port 0, IP target", with(valid, at, 0, 0));
        inputs.put("port 0, domain target", with(withDomain(h, valid,
                "localhost".getBytes(StandardCharsets.US_ASCII)), at, 0, 0));
        expectRefused(h, "HDR-8: a request with port 0 is bad input: no byte (ERR-1), then close (ERR-2)",
                withPayload(inputs));
    }

    /*
     * Over plaintext the harness ends its direction (FIN) after the cut; TLS gives a client no way to end only its
     * sending side, so there the cut header simply stalls and the deadline (ERR-4) has to close it.
     */
    @Test
    @Tag("HDR-12")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @Tag("ERR-4")
    @DisplayName("HDR-12 · ERR-1 · ERR-2 · ERR-4 · a header cut at each field, then ended: no byte, then close")
    void truncatedHeader(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        int at = commandAt(h);
        List<Integer> cuts = new ArrayList<>(List.of(0, 1, 9, 17));
        if (h.target().profile() == Profile.V0) {
            cuts.add(18); // after the addons length
        }
        cuts.addAll(List.of(at + 1, at + 3, at + 4, at + 6));
        boolean fin = !h.target().tls();
        h.log().note(fin ? "each cut is followed by the harness's FIN" : "TLS: each cut header stalls (no FIN)");
        List<CompletableFuture<Observed>> all = new ArrayList<>();
        String requirement = "HDR-12: a stream that ends before its request header is complete is bad input: no byte"
                + " (ERR-1), then close (ERR-2) by the deadline (ERR-4)";
        for (int cut : cuts) {
            all.add(refusal(h, "the first " + cut + " of " + valid.length + " header bytes",
                    Arrays.copyOf(valid, cut), fin, requirement));
        }
        check(all);
    }

    @Test
    @Tag("ERR-4")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("ERR-4 · ERR-1 · ERR-2 · a stalled header is closed at the deadline, not before, no byte")
    void stalledHeader(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] partial = Arrays.copyOf(validHeader(h, echo.address()), 10);
        // refused() checks both bounds, an early close under ERR-4: the header is not bad input before the deadline.
        Observed o = join(refusal(h, "10 header bytes, then nothing", partial, false,
                "ERR-4: a header not complete by the handshake deadline is bad input, and not before: no byte"
                        + " (ERR-1), then close (ERR-2) at the deadline"));
        if (o.failure() != null) {
            throw o.failure();
        }
    }

    /*
     * Every refusal above is bounded from both sides by refused(). This case says the same for the three kinds of
     * input a prober tries first, on its own, so that the report has one ERR-2 verdict that names nothing else.
     */
    @Test
    @Tag("ERR-2")
    @DisplayName("ERR-2 · after bad input the target reads on until the deadline, then closes: never at once")
    void readsOnUntilDeadline(Harness h) throws Exception {
        Assumptions.assumeFalse(h.target().fallback(), "the target hands bad input to a fallback (--fallback): when"
                + " the connection closes is then the fallback's business");
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        DeadlineCalibration d = h.deadlineCalibration();
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put("unknown user ID", withUser(valid, UUID.randomUUID()));
        inputs.put("version 0x02", with(valid, 0, 0x02));
        inputs.put("command 0x06", with(valid, commandAt(h), 0x06));
        List<CompletableFuture<Observed>> all = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : withPayload(inputs).entrySet()) {
            all.add(watch(h, e.getKey(), e.getValue(), false, d.closeAllowance()));
        }
        List<String> early = new ArrayList<>();
        for (CompletableFuture<Observed> f : all) {
            Observed o = join(f);
            boolean closed = o.outcome().kind() == Outcome.Kind.CLOSED || o.outcome().kind() == Outcome.Kind.RESET;
            if (!closed || o.sinceConnectMs() < d.earliestCloseMs()) {
                early.add(o.what() + ": " + o.describe());
            }
        }
        if (!early.isEmpty()) {
            throw Expect.violation("ERR-2: after bad input the server either hands the connection to a fallback or"
                    + " reads and discards input until the handshake deadline and then closes",
                    "no byte, then close between " + d.earliestCloseMs() + " and " + d.closeAllowance().toMillis()
                            + " ms after connecting (the deadline of " + d.reference().toMillis() + " ms, "
                            + (d.measured() ? "measured" : "declared") + ")",
                    String.join("; ", early));
        }
    }

    @Test
    @Tag("ERR-4")
    @Tag("HDR-10")
    @DisplayName("ERR-4 · HDR-10 · a header dribbled one byte at a time that completes before the deadline is served")
    void slowHeaderInTime(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] header = validHeader(h, echo.address());
        long deadline = Math.min(h.handshakeDeadline().toMillis(), h.target().handshakeTimeout().toMillis());
        // 50 ms a byte, or less where the deadline is short: the last byte goes at least 800 ms before it.
        long spacing = Math.max(1, Math.min(50, (deadline - 800) / header.length));
        h.log().note("one byte every " + spacing + " ms: the header is complete after about "
                + spacing * header.length + " ms of a " + deadline + " ms deadline");
        long t0 = System.nanoTime();
        VlessConnection c = h.connect();
        for (int i = 0; i < header.length; i++) {
            sleepUntil(t0, i * spacing);
            c.write(new byte[] {header[i]});
        }
        c.write(PING);
        RequestHeaderCases.expectEcho(h, c, PING, "ERR-4: a header complete before the handshake deadline is a valid"
                + " request, however slowly it came (HDR-10)");
    }

    @Test
    @Tag("ERR-4")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("ERR-4 · ERR-1 · ERR-2 · bytes never extend the deadline: a header finished after it is refused")
    void deadlineNeverExtended(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] all = VlessConnection.concat(validHeader(h, echo.address()), PING);
        long deadline = h.handshakeDeadline().toMillis();
        int headerLength = all.length - PING.length;
        // The last header byte goes half a second after the deadline; until then a byte arrives every few dozen ms.
        long spacing = (deadline + 500) / headerLength;
        h.log().note("one byte every " + spacing + " ms: the header would be complete after about "
                + spacing * headerLength + " ms, past the " + deadline + " ms deadline");
        long t0 = System.nanoTime();
        VlessConnection c = h.connect();
        CompletableFuture<Void> dribble = CompletableFuture.runAsync(() -> {
            try {
                for (int i = 0; i < headerLength; i++) {
                    sleepUntil(t0, i * spacing);
                    c.write(new byte[] {all[i]});
                }
                c.write(PING);
            } catch (IOException e) {
                h.log().note("dribble stopped: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, WAITERS);
        Outcome o = refused(h, c, "ERR-4: the handshake deadline is never extended by arriving bytes;"
                + " the header is not complete by then, so it is bad input: no byte (ERR-1), then close (ERR-2)");
        long since = (System.nanoTime() - t0) / 1_000_000;
        h.log().note("closed " + since + " ms after connecting (" + o + ")");
        dribble.cancel(true);
    }

    @Test
    @Tag("ERR-5")
    @Tag("ERR-1")
    @Tag("ERR-2")
    @DisplayName("ERR-5 · ERR-1 · ERR-2 · ten kinds of bad input at once: valid requests served during and after")
    void badInputLeavesOthersServed(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        int at = commandAt(h);
        byte[] v0Crumfurs = new byte[19];
        v0Crumfurs[0] = 0x00;
        System.arraycopy(valid, 1, v0Crumfurs, 1, 16);
        v0Crumfurs[18] = 0x04;
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put("unknown user ID", withUser(valid, UUID.randomUUID()));
        inputs.put("version 0x02", with(valid, 0, 0x02));
        inputs.put("an HTTP request", HTTP_PROBE);
        inputs.put("command 0x06", with(valid, at, 0x06));
        inputs.put("command 4 in v0", v0Crumfurs);
        inputs.put("address type 0x04", with(valid, at + 3, 0x04));
        inputs.put("empty domain", withDomain(h, valid, new byte[0]));
        inputs.put("domain with a space", withDomain(h, valid, "local host".getBytes(StandardCharsets.US_ASCII)));
        inputs.put("port 0", with(valid, at + 1, 0, 0));
        inputs.put("10 header bytes, then nothing", Arrays.copyOf(valid, 10));
        String requirement = "ERR-1, ERR-2: on bad input no byte, then close";
        List<CompletableFuture<Observed>> bad = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : inputs.entrySet()) {
            bad.add(refusal(h, e.getKey(), e.getValue(), false, requirement));
        }
        String served = "ERR-5: bad input on other connections does not affect the server's other connections, and"
                + " the server goes on serving valid requests";
        VlessConnection during = h.tcp(echo.address(), PING);
        RequestHeaderCases.expectEcho(h, during, PING, served + " (while ten bad connections are open)");
        // ERR-5 is judged whatever the refusals show: a target that closes bad input too soon still has to go on
        // serving; the refusals' failure, if any, is reported after.
        AssertionError refusals = null;
        try {
            check(bad);
        } catch (AssertionError e) {
            refusals = e;
        }
        VlessConnection after = h.tcp(echo.address(), PING);
        RequestHeaderCases.expectEcho(h, after, PING, served + " (after the ten were closed)");
        byte[] more = "and more".getBytes(StandardCharsets.US_ASCII);
        during.write(more);
        RequestHeaderCases.expectLaterEcho(during, more, served + " (the first valid connection still relays)");
        h.passed(served);
        if (refusals != null) {
            throw refusals;
        }
    }

    /*
     * ERR-3 over every kind of bad input at once, side by side, so that each is measured under the same load. A
     * target with a fallback is compared on the kind of ending only: when the fallback answers is its own business.
     */
    @Test
    @Tag("ERR-3")
    @DisplayName("ERR-3 · every kind of bad input is closed the same way, at the same moment")
    void closingDoesNotDependOnCheck(Harness h) throws Exception {
        TcpPeer echo = h.tcpEcho();
        byte[] valid = validHeader(h, echo.address());
        int at = commandAt(h);
        Duration wait = h.deadlineCalibration().closeAllowance();
        byte[] v0Crumfurs = new byte[19];
        System.arraycopy(valid, 1, v0Crumfurs, 1, 16);
        v0Crumfurs[18] = 0x04;
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put("unknown user ID", withUser(valid, UUID.randomUUID()));
        inputs.put("version 0x02", with(valid, 0, 0x02));
        inputs.put("command 0x06", with(valid, at, 0x06));
        // Bad input under both profiles: HDR-6 where v0 is served, VER-2 where it is not.
        inputs.put("command 4 in a v0 request", v0Crumfurs);
        for (int type : new int[] {0x00, 0x04, 0xff}) {
            inputs.put(String.format("address type 0x%02x", type), with(valid, at + 3, type));
        }
        inputs.put("empty domain", withDomain(h, valid, new byte[0]));
        inputs.put("domain with byte 0x20", withDomain(h, valid, "local host".getBytes(StandardCharsets.US_ASCII)));
        inputs.put("port 0", with(valid, at + 1, 0, 0));
        List<CompletableFuture<Observed>> all = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : withPayload(inputs).entrySet()) {
            all.add(watch(h, e.getKey(), e.getValue(), false, wait));
        }
        if (!h.target().tls()) {
            all.add(watch(h, "the first 17 header bytes, then FIN", Arrays.copyOf(valid, 17), true, wait));
        } else {
            h.log().note("TLS: no truncated header ended with FIN (a TLS client cannot end only its sending side)");
        }
        all.add(watch(h, "10 header bytes, then nothing", Arrays.copyOf(valid, 10), false, wait));
        List<Observed> seen = new ArrayList<>();
        for (CompletableFuture<Observed> f : all) {
            seen.add(join(f));
        }
        String actual = seen.stream().map(o -> "\n    " + o.what() + ": " + o.describe())
                .collect(Collectors.joining());
        boolean sameKind = seen.stream().map(o -> ending(o.outcome())).distinct().count() == 1;
        boolean closes = seen.stream().allMatch(o -> o.outcome().kind() == Outcome.Kind.CLOSED
                || o.outcome().kind() == Outcome.Kind.RESET);
        long earliest = seen.stream().mapToLong(Observed::sinceConnectMs).min().orElseThrow();
        long latest = seen.stream().mapToLong(Observed::sinceConnectMs).max().orElseThrow();
        boolean compareTimes = closes && !h.target().fallback();
        if (!sameKind || (compareTimes && latest - earliest >= SAME_MOMENT_MS)) {
            throw Expect.violation("ERR-3: the moment and manner of closing after bad input SHOULD NOT depend on"
                    + " which check failed", "the same kind of ending for every kind of input"
                    + (h.target().fallback() ? " (--fallback: times not compared)"
                            : ", within " + SAME_MOMENT_MS + " ms of each other"),
                    seen.size() + " kinds, endings spread over " + (latest - earliest) + " ms:" + actual);
        }
        h.log().note("spread of the endings: " + (latest - earliest) + " ms over " + seen.size() + " kinds");
    }

    /** The kind of ending ERR-3 compares: a fallback's answer is one kind, whatever its bytes. */
    private static String ending(Outcome o) {
        return o.kind() == Outcome.Kind.DATA ? "answered" : o.kind().name();
    }

    // ---- what happened on one connection ----

    /**
     * One bad-input connection's result: the outcome (or the check that failed), and when it came counted from the
     * moment the harness began to connect, which is no later than the target's accept and so its deadline's start.
     */
    private record Observed(String what, Outcome outcome, long sinceConnectMs, AssertionError failure) {
        String describe() {
            return outcome == null ? String.valueOf(failure.getMessage())
                    : outcome + " (" + sinceConnectMs + " ms after connecting)";
        }
    }

    /** Connects, sends {@code input} (and a FIN if asked) and waits for the target in the background. */
    private static CompletableFuture<Observed> watch(Harness h, String what, byte[] input, boolean fin, Duration wait)
            throws IOException {
        return start(h, what, input, fin, c -> c.await(wait.minusMillis(Math.min(wait.toMillis() - 1,
                c.sinceConnectStartMs()))));
    }

    /** Like {@link #watch}, but the wait is {@link Expect#noByteThenClose}: no byte, then close by the allowance. */
    private static CompletableFuture<Observed> refusal(Harness h, String what, byte[] input, boolean fin,
            String requirement) throws IOException {
        return start(h, what, input, fin, c -> refused(h, c, requirement + "\n  input: " + what));
    }

    /**
     * The target's answer to bad input: no byte (ERR-1), and a close neither before the handshake deadline nor later
     * than a second after it (ERR-2, ERR-4), both as the run calibrated it; or, for a target that hands bad input to
     * a fallback ({@code --fallback}, ERR-2's other branch), whatever the fallback does, whenever, as long as no
     * VLESS byte comes back (no relayed payload, no 0x14, no v0 response header).
     */
    static Outcome refused(Harness h, VlessConnection c, String requirement) throws IOException {
        VlessTarget t = c.target();
        DeadlineCalibration d = h.deadlineCalibration();
        Duration allowance = d.closeAllowance();
        // Counted from the start of the connect, like the deadline from accept; what the connect took is used up.
        Outcome o = c.await(Duration.ofMillis(Math.max(1, allowance.toMillis() - c.sinceConnectStartMs())));
        long since = c.sinceConnectStartMs();
        String what = firstLine(requirement);
        String input = requirement.substring(what.length());
        // The deadline itself is ERR-4's subject: a stalled or dribbled header is judged under it.
        String timing = what.startsWith("ERR-4") ? what + input : ERR_2 + " (" + what + ")" + input;
        if (o.kind() == Outcome.Kind.DATA) {
            String vless = vlessAnswer(o.bytes());
            if (vless != null && vless.startsWith("the payload")) {
                // Served as a request: the rule that makes this input bad input is what broke.
                throw Expect.violation(requirement, "no byte, then close (or a fallback's answer)", o + ": " + vless);
            }
            if (t.fallback() && vless == null) {
                c.log().note("the fallback answered; accepted under --fallback");
                return o;
            }
            throw Expect.violation(ERR_1 + " (" + what + ")" + input, t.fallback()
                    ? "no VLESS byte (a fallback may answer)" : "no byte, then close within " + allowance.toMillis()
                    + " ms (with a fallback configured, run the suite with --fallback)",
                    o + (vless != null ? ": " + vless : ""));
        }
        // No byte: the input was taken as bad input (its rule) and got no answer (ERR-1), whatever the timing shows.
        h.passed(what);
        h.passed(ERR_1);
        if (o.kind() == Outcome.Kind.STILL_OPEN && !t.fallback()) {
            throw Expect.violation(timing, "close within " + allowance.toMillis() + " ms of connecting (the"
                    + " handshake deadline, declared or measured whichever is later, plus 1 s)", o + " ("
                    + since + " ms after connecting)");
        }
        Expect.notBeforeDeadline(h, o, since, timing);
        return o;
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Why {@code bytes} are a VLESS answer rather than a fallback's, or {@code null}. */
    private static String vlessAnswer(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        if (text.contains(new String(PING, StandardCharsets.ISO_8859_1))) {
            return "the payload sent after the bad header came back: it was relayed";
        }
        if (bytes.length == 1 && bytes[0] == 0x14) {
            return "0x14, the CRUMFURS acknowledgement";
        }
        if (bytes.length == 2 && bytes[0] == 0 && bytes[1] == 0) {
            return "00 00, a v0 response header";
        }
        return null;
    }

    private interface Wait {
        Outcome on(VlessConnection c) throws IOException;
    }

    private static CompletableFuture<Observed> start(Harness h, String what, byte[] input, boolean fin, Wait wait)
            throws IOException {
        h.deadlineCalibration(); // before the clock of any bad connection starts: it takes a deadline's time
        h.log().note("next: " + what);
        long t0 = System.nanoTime();
        VlessConnection c = h.connect();
        if (input.length > 0) {
            c.write(input);
        }
        if (fin) {
            c.shutdownOutput();
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                Outcome o = wait.on(c);
                return new Observed(what, o, (System.nanoTime() - t0) / 1_000_000, null);
            } catch (AssertionError e) {
                return new Observed(what, null, (System.nanoTime() - t0) / 1_000_000, e);
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }, WAITERS);
    }

    private static Observed join(CompletableFuture<Observed> f) throws IOException {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw e;
        }
    }

    /** Sends every input on a connection of its own, all at once, and requires each to be refused. */
    private static void expectRefused(Harness h, String requirement, Map<String, byte[]> inputs) throws IOException {
        List<CompletableFuture<Observed>> all = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : inputs.entrySet()) {
            all.add(refusal(h, e.getKey(), e.getValue(), false, requirement));
        }
        check(all);
    }

    /** Fails with every refusal that did not happen, in the standard message shape. */
    private static void check(List<CompletableFuture<Observed>> all) throws IOException {
        List<AssertionError> failures = new ArrayList<>();
        for (CompletableFuture<Observed> f : all) {
            Observed o = join(f);
            if (o.failure() != null) {
                failures.add(o.failure());
            }
        }
        if (failures.size() == 1) {
            throw failures.get(0);
        }
        if (!failures.isEmpty()) {
            // Led by the first failure's rule, so that the case is judged on the check that failed.
            String first = failures.get(0).getMessage();
            int colon = first.indexOf(':');
            throw new AssertionError((colon > 0 ? first.substring(0, colon) + ": " : "") + failures.size() + " of "
                    + all.size() + " inputs were not refused as the rule says:\n"
                    + failures.stream().map(AssertionError::getMessage).collect(Collectors.joining("\n")));
        }
    }

    // ---- building bad headers from a valid one ----

    /** A valid command-1 header of the target's profile to {@code destination}. */
    private static byte[] validHeader(Harness h, InetSocketAddress destination) {
        return VlessConnection.encode(h.request(h.target().user(), VlessCommand.TCP, destination));
    }

    /** Where the command byte sits: after version and user ID, and in v0 after the (empty) addons too. */
    private static int commandAt(Harness h) {
        return h.target().profile() == Profile.V0 ? 18 : 17;
    }

    /** A copy of {@code header} with {@code values} written from {@code at}. */
    private static byte[] with(byte[] header, int at, int... values) {
        byte[] out = header.clone();
        for (int i = 0; i < values.length; i++) {
            out[at + i] = (byte) values[i];
        }
        return out;
    }

    private static byte[] withUser(byte[] header, UUID user) {
        byte[] out = header.clone();
        ByteBuffer.wrap(out, 1, 16).putLong(user.getMostSignificantBits()).putLong(user.getLeastSignificantBits());
        return out;
    }

    /** {@code header} up to its address type, then a domain address of exactly {@code name}'s bytes. */
    private static byte[] withDomain(Harness h, byte[] header, byte[] name) {
        int typeAt = commandAt(h) + 3;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(header, 0, typeAt);
        out.write(0x02);
        out.write(name.length);
        out.write(name, 0, name.length);
        return out.toByteArray();
    }

    /** Each input followed by a payload, so that a target that wrongly accepts one echoes it back. */
    private static Map<String, byte[]> withPayload(Map<String, byte[]> inputs) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        inputs.forEach((k, v) -> out.put(k, v == HTTP_PROBE ? v : VlessConnection.concat(v, PING)));
        return out;
    }

    private static void sleepUntil(long startNanos, long offsetMs) throws InterruptedException {
        long left = startNanos + TimeUnit.MILLISECONDS.toNanos(offsetMs) - System.nanoTime();
        if (left > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }
}
