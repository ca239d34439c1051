// SPDX-License-Identifier: Apache-2.0
package dev.vless.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

class JunitXmlWriterTest {

    @TempDir
    Path dir;

    @Test
    void writesOneSuiteWithACaseForEachCase() throws Exception {
        JunitXmlWriter.write(SampleReports.failed(), dir);

        Path file = dir.resolve("junit/TEST-vless-conformance.xml");
        assertThat(file).isRegularFile();
        Element suite = parse(file).getDocumentElement();
        assertThat(suite.getTagName()).isEqualTo("testsuite");
        assertThat(suite.getAttribute("name")).isEqualTo("vless-conformance");
        assertThat(suite.getAttribute("tests")).isEqualTo("10");
        assertThat(suite.getAttribute("failures")).isEqualTo("1");
        assertThat(suite.getAttribute("errors")).isEqualTo("1");
        assertThat(suite.getAttribute("skipped")).isEqualTo("4");
        assertThat(suite.getAttribute("time")).isEqualTo("75.300");
        assertThat(suite.getAttribute("timestamp")).isEqualTo("2026-12-06T08:57:13");

        Map<String, Element> cases = testcases(suite);
        // Run order; never-started cases last.
        assertThat(cases.keySet()).containsExactly("HDR-3 · unknown user is closed", "HDR-4 · command byte checked",
                "NAT-2 · one mapping per source", "NAT-3 · filtering class", "UDP-2 · empty datagrams are sent",
                "ERR-2 · bad input waits for the deadline", "harness · pre-flight", "LIF-6 · a dialed entry expires",
                "CRF-1 · CRUMFURS opens",
                "VER-3 · v0 requests are refused");
        assertThat(cases.get("NAT-2 · one mapping per source").getAttribute("classname")).isEqualTo("NAT");
        assertThat(cases.get("HDR-4 · command byte checked").getAttribute("classname")).isEqualTo("HDR");
        assertThat(cases.get("harness · pre-flight").getAttribute("classname")).isEqualTo("suite");
        assertThat(cases.get("NAT-2 · one mapping per source").getAttribute("time")).isEqualTo("0.037");
    }

    @Test
    void mapsEachVerdict() throws Exception {
        Map<String, Element> cases = testcases(parse(JunitXmlWriter.xml(SampleReports.failed())).getDocumentElement());

        assertThat(only(cases.get("LIF-6 · a dialed entry expires"), "skipped").getAttribute("message"))
                .isEqualTo("not observable: the target maps endpoint-independently");
        Element fail = only(cases.get("HDR-3 · unknown user is closed"), "failure");
        assertThat(fail.getAttribute("message"))
                .isEqualTo("HDR-3: the server MUST close on an unknown user & say nothing");
        // The full message, the hostile text intact as text (the control character dropped), then the wire log.
        assertThat(fail.getTextContent()).contains("it answered <script>alert(1)</script> & \"quoted\" 'text'")
                .doesNotContain("\u0001")
                .contains("wire log:\n+0.000 connect 127.0.0.1:443\n+0.002 >> 01 <ab> & \"x\"");
        Element error = only(cases.get("ERR-2 · bad input waits for the deadline"), "error");
        assertThat(error.getAttribute("message")).isEqualTo("harness: java.net.SocketException: Connection reset");
        assertThat(error.getTextContent()).contains("+0.100 reset");
        assertThat(only(cases.get("HDR-4 · command byte checked"), "skipped").getAttribute("message"))
                .isEqualTo("blocked by HDR-3: the request could not be sent: HDR-3 failed");
        assertThat(only(cases.get("CRF-1 · CRUMFURS opens"), "skipped").getAttribute("message"))
                .isEqualTo("target down: the target stopped serving at 14.0 s");
        assertThat(only(cases.get("VER-3 · v0 requests are refused"), "skipped").getAttribute("message"))
                .isEqualTo("not applicable: needs a second user (--user2)");
        assertThat(only(cases.get("UDP-2 · empty datagrams are sent"), "system-out").getTextContent())
                .isEqualTo("the server SHOULD send empty datagrams; it did not");
        for (String plain : List.of("NAT-2 · one mapping per source", "NAT-3 · filtering class",
                "harness · pre-flight")) {
            assertThat(cases.get(plain).getChildNodes().getLength()).as(plain).isZero();
        }
    }

    @Test
    void anUncheckedTargetIsAnErrorNotAGreenBuild() throws Exception {
        Element suite = parse(JunitXmlWriter.xml(SampleReports.unchecked())).getDocumentElement();

        assertThat(suite.getAttribute("tests")).isEqualTo("2");
        assertThat(suite.getAttribute("errors")).isEqualTo("1");
        assertThat(suite.getAttribute("skipped")).isEqualTo("1");
        Element preflight = testcases(suite).get("pre-flight · the target can be checked");
        assertThat(preflight.getAttribute("classname")).isEqualTo("suite");
        assertThat(only(preflight, "error").getAttribute("message")).isEqualTo(
                "target not checked: pre-flight: connection refused by 127.0.0.1:9 <no listener> & nothing else");
    }

    @Test
    void dropsCharactersXmlCannotCarry() throws Exception {
        Report r = SampleReports.failed();
        List<Report.CaseResult> cases = new ArrayList<>(r.cases());
        cases.add(new Report.CaseResult("x", "HDR-9 · odd \u0000\u0008\uFFFE\uD800 name \uD83D\uDE00 \"q\" <>",
                List.of("HDR-9"), "MUST", Verdict.FAIL, "line\u001b[31m one\r\nline two\u0000", 1, Map.of(),
                List.of("\u0007bell"), 8, 0, null));
        Report odd = new Report(r.schema(), r.suiteVersion(), r.target(), r.profile(), r.policy(), r.startedAt(),
                r.durationMs(), r.passed(), r.summary(), r.classification(), r.rootCauses(), r.events(), null,
                r.rules(), cases);

        Element suite = parse(JunitXmlWriter.xml(odd)).getDocumentElement();
        assertThat(testcases(suite)).containsKey("HDR-9 · odd  name \uD83D\uDE00 \"q\" <>");
        Element failure = only(testcases(suite).get("HDR-9 · odd  name \uD83D\uDE00 \"q\" <>"), "failure");
        assertThat(failure.getAttribute("message")).isEqualTo("line[31m one\r");
        assertThat(failure.getTextContent()).isEqualTo("line[31m one\r\nline two\n\nwire log:\nbell");
    }

    @Test
    void aRunThatFailsWithoutAFailingCaseStillFails() throws Exception {
        Report r = SampleReports.report(null, false);
        List<Report.CaseResult> passing = r.cases().stream()
                .filter(c -> c.verdict() != Verdict.FAIL && c.verdict() != Verdict.ERROR).toList();
        Report odd = new Report(r.schema(), r.suiteVersion(), r.target(), r.profile(), r.policy(), r.startedAt(),
                r.durationMs(), false, r.summary(), r.classification(), r.rootCauses(), r.events(), null, r.rules(),
                passing);

        Element suite = parse(JunitXmlWriter.xml(odd)).getDocumentElement();
        assertThat(suite.getAttribute("failures")).isEqualTo("1");
        assertThat(suite.getAttribute("tests")).isEqualTo(Integer.toString(passing.size() + 1));
        assertThat(testcases(suite)).containsKey("run result");
    }

    private static Document parse(Path file) throws Exception {
        return parse(java.nio.file.Files.readString(file));
    }

    private static Document parse(String xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
    }

    private static Map<String, Element> testcases(Element suite) {
        Map<String, Element> out = new LinkedHashMap<>();
        NodeList nodes = suite.getElementsByTagName("testcase");
        for (int i = 0; i < nodes.getLength(); i++) {
            Element e = (Element) nodes.item(i);
            assertThat(out.put(e.getAttribute("name"), e)).as("duplicate %s", e.getAttribute("name")).isNull();
        }
        return out;
    }

    /** The one child element of a testcase, which must be of the given kind. */
    private static Element only(Element testcase, String tag) {
        assertThat(testcase).isNotNull();
        List<Element> children = new ArrayList<>();
        for (int i = 0; i < testcase.getChildNodes().getLength(); i++) {
            if (testcase.getChildNodes().item(i) instanceof Element e) {
                children.add(e);
            }
        }
        assertThat(children).hasSize(1);
        assertThat(children.get(0).getTagName()).isEqualTo(tag);
        return children.get(0);
    }
}
