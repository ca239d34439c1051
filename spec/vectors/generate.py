#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the VLESS test vectors, spec/vectors/*.json, field by field from the wire layout of spec/VLESS.md.

Re-run after changing a vector (from any directory; standard library only, Python 3.8+):

    python3 spec/vectors/generate.py

The output is deterministic: the same script writes byte-identical files, so commit the script and the JSON files
together and review the diff. No implementation is run here: every byte comes from the layouts of §4 to §10 and
§23, and every expected error from the rules of §15.3. README.md in this directory describes the file format.
"""

import ipaddress
import json
import os
import re
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))

# §4 and §5 wire values.
COMMANDS = {"tcp": 1, "udp": 2, "mux": 3, "crumfurs": 4, "udp-mux": 5}
ADDRESS_TYPES = {"ipv4": 1, "domain": 2, "ipv6": 3}

# §15.3: the rule each error kind breaks when no more specific rule applies.
DEFAULT_RULES = {
    "bad-version": "VER-2",
    "unknown-command": "HDR-5",
    "command-not-in-version": "HDR-6",
    "unknown-address-type": "ADR-1",
    "empty-domain": "ADR-2",
    "invalid-domain": "ADR-3",
    "port-zero": "HDR-8",
    "truncated": "HDR-12",
    "bad-acknowledgement": "CRF-6",
    "bad-source-type": "UMF-2",
    "source-port-zero": "UMF-6",
    "bad-response-version": "RSP-3",
    "mux-unavailable": "MUX-5",
}

# User IDs: Appendix A's, a random one, and the two extremes (the codec does not judge users; HDR-3 is the server's).
U1 = "a684455c-b14f-11ea-bf0d-42010aaa0003"
U2 = "27848739-7e62-4138-9fd3-098a63964b6b"
U_NIL = "00000000-0000-0000-0000-000000000000"
U_MAX = "ffffffff-ffff-ffff-ffff-ffffffffffff"


def u8(n):
    return bytes([n])


def u16(n):
    return n.to_bytes(2, "big")


def uid(text):
    return uuidlib.UUID(text).bytes


def pattern(n):
    """n payload bytes counting up from 0x00, wrapping at 0xff."""
    return bytes(i & 0xFF for i in range(n))


class Address:
    """An address type byte and its address field (§5), with the text a decoder reports."""

    def __init__(self, kind, field, text):
        self.kind = kind
        self.atyp = ADDRESS_TYPES[kind]
        self.field = field
        self.text = text

    def wire(self):
        return u8(self.atyp) + self.field


def ipv4(text):
    return Address("ipv4", ipaddress.IPv4Address(text).packed, text)


def ipv6(text):
    ip = ipaddress.IPv6Address(text)
    # Vectors spell IPv6 in RFC 5952 form, IPv4-mapped addresses in its mixed notation (RFC 5952 §5).
    canonical = "::ffff:" + str(ip.ipv4_mapped) if ip.ipv4_mapped else str(ip)
    assert text == canonical, (text, canonical)
    return Address("ipv6", ip.packed, text)


def domain(name):
    raw = name.encode("ascii") if isinstance(name, str) else name
    # Latin-1 keeps the bytes of invalid names one-to-one; valid names are ASCII.
    return Address("domain", u8(len(raw)) + raw, raw.decode("latin-1"))


def request(version, user, command, port=None, address=None, addons=b""):
    """The bytes of a request header (§4.1) and the fields a decoder reports for it."""
    wire = u8(version) + uid(user)
    if version == 0:
        wire += u8(len(addons)) + addons
    wire += u8(COMMANDS[command])
    decoded = {"version": version, "user": user, "addons": addons.hex(), "command": command,
               "port": None, "address_type": None, "address": None}
    if address is not None:
        wire += u16(port) + address.wire()
        decoded.update(port=port, address_type=address.kind, address=address.text)
    return wire, decoded


def umfurs(source, port, payload):
    """The bytes of a UMFURS (§10): address type, source IP, source port, length, payload."""
    return source.wire() + u16(port) + u16(len(payload)) + payload


def umfurs_decoded(address_text, port, payload):
    return {"source_address": address_text, "source_port": port, "payload": payload.hex()}


def frame(payload):
    """The bytes of a UDP frame (§8)."""
    return u16(len(payload)) + payload


def mux_frame(address, port, payload):
    """The bytes of a UDP-MUX frame (§23.2), the UMFURS layout: address type, address, port, length, payload."""
    return address.wire() + u16(port) + u16(len(payload)) + payload


def mux_decoded(address, port, payload, canonical=None):
    """The fields a decoder reports for a MUX frame; an IPv4-mapped address is reported as its IPv4 form."""
    a = canonical or address
    return {"address_type": a.kind, "address": a.text, "port": port, "payload": payload.hex()}


# Appendix A.8: a client's datagram "ping" to dummy.com:5000, and the reply "pong" from 127.0.0.3:5000, the address
# dummy.com resolved to in the example, labelled with that address (MUX-8, MUX-23).
A8_CLIENT_FRAME = mux_frame(domain("dummy.com"), 5000, b"ping")
A8_SERVER_FRAME = mux_frame(ipv4("127.0.0.3"), 5000, b"pong")
# A.8's keepalive: a client frame to port 0 with no payload, which the server discards (MUX-10).
A8_KEEPALIVE = mux_frame(ipv4("0.0.0.0"), 0, b"")
# What a client that mistakes UDP-MUX for command 2 sends after its request: a command-2 frame, 00 04 "ping".
# Its first byte is read as an address type (HDR-11, MUX-4) and fails as a frame (MUX-11).
EARLY_NOT_A_FRAME = frame(b"ping")


class VectorFile:
    def __init__(self, name, message, profile, spec, layout, truncated_rule, stream, error_rule=None):
        self.name = name
        self.doc = {"message": message, "profile": profile, "spec": spec, "layout": layout, "vectors": []}
        self.truncated_rule = truncated_rule
        # A rule that every other error of this file breaks (MUX-11 for a MUX frame), instead of the kind's default.
        self.error_rule = error_rule
        self.stream = stream

    def valid(self, vid, description, wire, decoded, rules, trailing=b"", canonical=None):
        v = {"id": vid, "description": description, "hex": wire.hex() + trailing.hex(), "valid": True,
             "decoded": decoded}
        if not self.stream:
            v["trailing"] = trailing.hex()
        else:
            assert not trailing
        if canonical is not None:
            v["canonical_hex"] = canonical.hex()
        v["rules"] = rules
        self.doc["vectors"].append(v)

    def invalid(self, vid, description, wire, error, at_eof=False, decoded_before=None, rule=None):
        if rule is None:
            if error == "truncated":
                rule = self.truncated_rule
            else:
                rule = self.error_rule or DEFAULT_RULES[error]
        # Only the end of the stream shows a truncation, and a missing MUX answer (MUX-5) when nothing came at all.
        assert at_eof == (error == "truncated" or (error == "mux-unavailable" and not wire)), vid
        v = {"id": vid, "description": description, "hex": wire.hex(), "valid": False, "error": error, "rule": rule}
        if at_eof:
            v["at_eof"] = True
        if decoded_before:
            assert self.stream
            v["decoded"] = decoded_before
        self.doc["vectors"].append(v)

    def write(self):
        ids = [v["id"] for v in self.doc["vectors"]]
        assert len(ids) == len(set(ids)), self.name
        text = json.dumps(self.doc, indent=2, ensure_ascii=False)
        # Lists of rule IDs on one line each: easier to read and to diff.
        text = re.sub(r'\[\s+("[A-Z]+-[0-9]+"(?:,\s+"[A-Z]+-[0-9]+")*)\s+\]',
                      lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
        with open(os.path.join(HERE, self.name), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.write("\n")


# ---------------------------------------------------------------------------------------------------------------------
# request-v1.json
# ---------------------------------------------------------------------------------------------------------------------

def request_v1():
    f = VectorFile("request-v1.json", "request-v1", "v1", "VLESS.md §4",
                   "version(1)=0x01 user(16) command(1) [port(2) address_type(1) address] for commands 1 and 2",
                   "HDR-12", stream=False)

    def ok(vid, description, command, port, address, rules, user=U1, trailing=b""):
        wire, decoded = request(1, user, command, port, address)
        f.valid(vid, description, wire, decoded, rules, trailing)

    dummy = domain("dummy.com")
    http_get = b"GET / HTTP/1.1\r\nHost: dummy.com\r\n\r\n"
    ok("v1-tcp-domain-dummy-com", "Appendix A.2: TCP to dummy.com:80", "tcp", 80, dummy,
       ["VER-1", "HDR-1", "ADR-1"])
    ok("v1-tcp-domain-with-payload", "Appendix A.2 with the first payload in the same write: the bytes after the"
       " header are the start of the TCP stream", "tcp", 80, dummy, ["HDR-1", "HDR-11"], trailing=http_get)
    ok("v1-tcp-ipv4-443", "TCP to an IPv4 address, port 443", "tcp", 443, ipv4("192.0.2.1"),
       ["HDR-1", "ADR-1"])
    ok("v1-tcp-ipv4-port-1", "the lowest valid port", "tcp", 1, ipv4("198.51.100.7"), ["HDR-1", "HDR-8"])
    ok("v1-tcp-ipv4-port-65535", "the highest port: big-endian and unsigned", "tcp", 65535,
       ipv4("203.0.113.255"), ["HDR-1", "HDR-8"])
    ok("v1-tcp-ipv6-compressed", "IPv6 written 2001:db8::1", "tcp", 443, ipv6("2001:db8::1"), ["HDR-1", "ADR-1"])
    ok("v1-tcp-ipv6-loopback", "IPv6 ::1, fifteen zero bytes then 1", "tcp", 8080, ipv6("::1"), ["HDR-1", "ADR-1"])
    ok("v1-tcp-ipv6-uncompressed", "IPv6 without a zero run to compress", "tcp", 443,
       ipv6("2001:db8:85a3:8d3:1319:8a2e:370:7348"), ["HDR-1", "ADR-1"])
    ok("v1-tcp-ipv6-first-longest-zero-run", "two equal zero runs: RFC 5952 text compresses the first", "tcp", 443,
       ipv6("2001:db8::1:0:0:1"), ["HDR-1", "ADR-1"])
    ok("v1-tcp-ipv6-single-zero-field", "a single zero field is not compressed in RFC 5952 text", "tcp", 443,
       ipv6("2001:db8:0:1:1:1:1:1"), ["HDR-1", "ADR-1"])
    ok("v1-tcp-ipv6-ipv4-mapped", "an IPv4-mapped IPv6 target: the header keeps type 3; ADR-4 canonicalises it"
       " to 192.0.2.1 only for lookups and comparisons", "tcp", 443, ipv6("::ffff:192.0.2.1"),
       ["HDR-1", "ADR-1", "ADR-4"])
    ok("v1-tcp-domain-1-byte", "the shortest domain name", "tcp", 443, domain("a"), ["HDR-1", "ADR-2"])
    labels = ".".join(c * 63 for c in "abcd")
    assert len(labels) == 255
    ok("v1-tcp-domain-255-bytes", "the longest domain name: four 63-byte labels and three dots", "tcp", 443,
       domain(labels), ["HDR-1", "ADR-2"])
    ok("v1-tcp-domain-a-label", "an internationalised name (buecher with u-umlaut) in A-label form", "tcp", 443,
       domain("xn--bcher-kva.example"), ["HDR-1", "ADR-3"])
    ok("v1-tcp-domain-printable-edges", "a domain name may hold any byte from 0x21 (!) to 0x7e (~)", "tcp", 443,
       domain("!example~"), ["ADR-3"])
    ok("v1-tcp-domain-looks-like-ipv4", "an IPv4 literal sent as a domain name stays a domain name", "tcp", 443,
       domain("192.0.2.1"), ["ADR-1"])
    ok("v1-udp-ipv4-with-frame", "Appendix A.4: UDP to 127.0.0.3:5000 with the frame \"ping\" in the same write",
       "udp", 5000, ipv4("127.0.0.3"), ["HDR-1", "HDR-11", "UDP-1"], trailing=frame(b"ping"))
    ok("v1-udp-ipv4-53", "UDP to an IPv4 address, port 53", "udp", 53, ipv4("192.0.2.53"), ["HDR-1"])
    ok("v1-udp-ipv6-65535", "UDP to IPv6, port 65535", "udp", 65535, ipv6("2001:db8::53"), ["HDR-1", "ADR-1"])
    ok("v1-udp-domain-port-1", "UDP to a domain name, port 1", "udp", 1, domain("dns.example"), ["HDR-1"])
    ok("v1-udp-with-empty-frame", "UDP followed by an empty datagram", "udp", 3478, ipv4("192.0.2.3"),
       ["HDR-11", "UDP-2"], trailing=frame(b""))
    ok("v1-mux", "command 3 (Mux): nothing follows the command byte (§4.3); a server may refuse it (HDR-7), but the"
       " header still decodes", "mux", None, None, ["HDR-1", "HDR-5"])
    ok("v1-mux-with-payload", "command 3 (Mux): the bytes after the command byte are Mux.Cool payload, not an"
       " address", "mux", None, None, ["HDR-1", "HDR-5", "HDR-11"], trailing=bytes.fromhex("0000010101"))
    ok("v1-crumfurs", "Appendix A.3: the CRUMFURS request, exactly 18 bytes", "crumfurs", None, None,
       ["HDR-1", "HDR-9"])
    ok("v1-crumfurs-with-trailing", "CRUMFURS followed by client bytes: they are CRUMFURS input, which the server"
       " reads and discards, not part of the header", "crumfurs", None, None, ["HDR-9", "HDR-11", "CRF-4"],
       trailing=bytes.fromhex("0000000001"))
    ok("v1-crumfurs-other-user", "CRUMFURS of another user ID", "crumfurs", None, None, ["HDR-9"], user=U2)
    ok("v1-udp-mux", "Appendix A.8: the UDP-MUX request, exactly 18 bytes", "udp-mux", None, None,
       ["HDR-1", "MUX-1"])
    ok("v1-udp-mux-other-user", "UDP-MUX of another user ID", "udp-mux", None, None, ["MUX-1"], user=U2)
    ok("v1-udp-mux-with-frame", "UDP-MUX followed at once by a client frame (A.8's frame to dummy.com:5000): not part"
       " of the header (HDR-11); the server reads it as the first frame once its 0x15 is out, although MUX-4 tells a"
       " client to wait for 0x15", "udp-mux", None, None, ["MUX-1", "HDR-11", "MUX-4"], trailing=A8_CLIENT_FRAME)
    ok("v1-udp-mux-with-command-2-frame", "UDP-MUX followed by a command-2 frame (00 04 \"ping\"): the header"
       " decodes, and the bytes after it fail as a frame (vector muxc-after-request-command-2-frame)", "udp-mux",
       None, None, ["MUX-1", "HDR-11"], trailing=EARLY_NOT_A_FRAME)
    ok("v1-user-nil", "the nil UUID decodes; whether it is a user is the server's business (HDR-3)", "tcp", 443,
       ipv4("192.0.2.1"), ["HDR-1"], user=U_NIL)
    ok("v1-user-all-ones", "a UUID of all one bits (no sign trouble in 64-bit halves)", "udp", 443,
       ipv4("192.0.2.1"), ["HDR-1"], user=U_MAX)

    v1 = u8(1) + uid(U1)
    dst = u16(443) + ipv4("192.0.2.1").wire()

    def bad(vid, description, wire, error):
        f.invalid(vid, description, wire, error)

    bad("v1-bad-version-02", "version 0x02", u8(2) + uid(U1) + u8(1) + dst, "bad-version")
    bad("v1-bad-version-ff", "version 0xff", u8(0xFF) + uid(U1) + u8(1) + dst, "bad-version")
    bad("v1-bad-version-first-byte-only", "version 0x02 alone: bad as soon as it arrives", u8(2), "bad-version")
    bad("v1-bad-version-http-probe", "an HTTP request where a header should be", b"GET / HTTP/1.1\r\n\r\n",
        "bad-version")
    bad("v1-bad-version-tls-client-hello", "the start of a TLS ClientHello on a plaintext listener",
        bytes.fromhex("160301020001"), "bad-version")
    for cmd in (0x00, 0x06, 0xFF):
        bad("v1-unknown-command-%02x" % cmd, "command 0x%02x" % cmd, v1 + u8(cmd) + dst, "unknown-command")
    bad("v1-v0-layout-with-version-1", "a v0 header (addons length 0) sent with version 1: the addons length byte"
        " is read as command 0", v1 + u8(0) + u8(1) + dst, "unknown-command")
    bad("v1-unknown-command-before-address", "command 0x06 is bad as soon as it arrives, before any address",
        v1 + u8(6), "unknown-command")
    bad("v1-port-zero-ipv4", "port 0 with an IPv4 address", v1 + u8(1) + u16(0) + ipv4("192.0.2.1").wire(),
        "port-zero")
    bad("v1-port-zero-domain", "port 0 with a domain name", v1 + u8(1) + u16(0) + domain("example.com").wire(),
        "port-zero")
    bad("v1-port-zero-ipv6", "port 0 with an IPv6 address", v1 + u8(1) + u16(0) + ipv6("2001:db8::1").wire(),
        "port-zero")
    bad("v1-port-zero-udp", "port 0 in a UDP request", v1 + u8(2) + u16(0) + ipv4("192.0.2.1").wire(), "port-zero")
    bad("v1-port-zero-before-address", "port 0 is bad as soon as both port bytes arrive", v1 + u8(1) + u16(0),
        "port-zero")
    for atyp, why in ((0x00, ""), (0x04, ": SOCKS5's number for IPv6"), (0xFF, "")):
        bad("v1-unknown-address-type-%02x" % atyp, "address type 0x%02x%s" % (atyp, why),
            v1 + u8(1) + u16(443) + u8(atyp) + ipv4("192.0.2.1").field, "unknown-address-type")
    bad("v1-empty-domain", "domain name of length 0", v1 + u8(1) + u16(443) + u8(2) + u8(0), "empty-domain")
    bad("v1-empty-domain-with-payload", "domain name of length 0 followed by bytes that could pass for a name",
        v1 + u8(1) + u16(443) + u8(2) + u8(0) + b"example.com", "empty-domain")
    for byte, name in ((0x20, "space"), (0x00, "nul"), (0x7F, "del"), (0x80, "80"), (0xFF, "ff")):
        name_bytes = b"exa" + u8(byte) + b"mple.com"
        bad("v1-domain-byte-%s" % name, "domain name with the byte 0x%02x" % byte,
            v1 + u8(1) + u16(443) + domain(name_bytes).wire(), "invalid-domain")
    bad("v1-domain-utf8", "an internationalised name in UTF-8 instead of A-label form",
        v1 + u8(1) + u16(443) + domain("b\u00fccher.example".encode("utf-8")).wire(), "invalid-domain")
    bad("v1-domain-bad-byte-before-end", "a bad domain byte is bad as soon as it arrives, before the name is complete",
        v1 + u8(1) + u16(443) + u8(2) + u8(11) + b"ex mp", "invalid-domain")

    # Truncation at every field boundary and inside every field (§4.6): only the end of the stream shows it.
    full4 = v1 + u8(1) + u16(443) + ipv4("192.0.2.1").wire()
    full6 = v1 + u8(1) + u16(443) + ipv6("2001:db8::1").wire()
    fulld = v1 + u8(1) + u16(443) + domain("example.com").wire()
    cuts = [
        ("v1-truncated-after-version", "after the version byte", full4[:1]),
        ("v1-truncated-inside-user", "inside the user ID (8 of 16 bytes)", full4[:9]),
        ("v1-truncated-after-user", "after the user ID, before the command", full4[:17]),
        ("v1-truncated-after-command", "after the command, before the port", full4[:18]),
        ("v1-truncated-inside-port", "inside the port", full4[:19]),
        ("v1-truncated-inside-port-zero-high-byte", "after a port high byte of 0x00: not yet port 0",
         v1 + u8(2) + u8(0)),
        ("v1-truncated-after-port", "after the port, before the address type", full4[:20]),
        ("v1-truncated-after-address-type-ipv4", "after address type 1, before the address", full4[:21]),
        ("v1-truncated-inside-ipv4", "inside the IPv4 address (3 of 4 bytes)", full4[:24]),
        ("v1-truncated-after-address-type-ipv6", "after address type 3, before the address", full6[:21]),
        ("v1-truncated-inside-ipv6", "inside the IPv6 address (15 of 16 bytes)", full6[:36]),
        ("v1-truncated-after-address-type-domain", "after address type 2, before the length", fulld[:21]),
        ("v1-truncated-after-domain-length", "after the domain length, before the name", fulld[:22]),
        ("v1-truncated-inside-domain", "inside the domain name (10 of 11 bytes)", fulld[:32]),
    ]
    for vid, where, wire in cuts:
        f.invalid(vid, "stream ends " + where, wire, "truncated", at_eof=True)
    return f


# ---------------------------------------------------------------------------------------------------------------------
# request-v0.json
# ---------------------------------------------------------------------------------------------------------------------

def request_v0():
    f = VectorFile("request-v0.json", "request-v0", "both", "VLESS.md §4",
                   "version(1)=0x00 user(16) addons_length(1) addons(N) command(1) [port(2) address_type(1) address] for"
                   " commands 1 and 2",
                   "HDR-12", stream=False)

    def ok(vid, description, command, port, address, rules, addons=b"", user=U1, trailing=b""):
        wire, decoded = request(0, user, command, port, address, addons)
        f.valid(vid, description, wire, decoded, rules, trailing)

    ok("v0-tcp-domain-dummy-com", "Appendix A.1 (wire-facts example): TCP to dummy.com:80", "tcp", 80,
       domain("dummy.com"), ["VER-1", "HDR-2", "ADR-1"])
    ok("v0-tcp-domain-with-payload", "v0 TCP with the first payload in the same write", "tcp", 80,
       domain("dummy.com"), ["HDR-2", "HDR-11"], trailing=b"GET / HTTP/1.1\r\n\r\n")
    ok("v0-tcp-ipv4-443", "v0 TCP to an IPv4 address, port 443", "tcp", 443, ipv4("192.0.2.1"), ["HDR-2"])
    ok("v0-tcp-ipv4-port-1", "v0, the lowest valid port", "tcp", 1, ipv4("192.0.2.1"), ["HDR-2", "HDR-8"])
    ok("v0-tcp-ipv6-compressed", "v0 TCP to 2001:db8::1", "tcp", 443, ipv6("2001:db8::1"), ["HDR-2", "ADR-1"])
    ok("v0-tcp-ipv6-ipv4-mapped", "v0 TCP to an IPv4-mapped IPv6 address (kept as type 3)", "tcp", 443,
       ipv6("::ffff:198.51.100.1"), ["HDR-2", "ADR-4"])
    ok("v0-udp-ipv4-with-frame", "v0 UDP with its first frame in the same write", "udp", 53, ipv4("192.0.2.53"),
       ["HDR-2", "HDR-11", "UDP-1"], trailing=frame(bytes.fromhex("abcd")))
    ok("v0-udp-ipv6-65535", "v0 UDP to IPv6, port 65535", "udp", 65535, ipv6("2001:db8::53"), ["HDR-2"])
    ok("v0-udp-domain", "v0 UDP to a domain name", "udp", 53, domain("dns.example"), ["HDR-2"])
    ok("v0-mux", "v0 command 3 (Mux): nothing follows the command byte, as v2fly and Xray send it (§4.3); a"
       " server may refuse it (HDR-7)", "mux", None, None, ["HDR-2", "HDR-5"])
    vision = bytes.fromhex("0a10") + b"xtls-rprx-vision"
    ok("v0-addons-flow", "v0 with 18 addon bytes (protobuf Addons{Flow: \"xtls-rprx-vision\"}), skipped by length",
       "tcp", 443, domain("example.com"), ["HDR-2"], addons=vision)
    ok("v0-addons-udp", "v0 UDP with one opaque addon byte", "udp", 443, ipv4("192.0.2.1"), ["HDR-2"],
       addons=bytes.fromhex("04"))
    labels = ".".join(c * 63 for c in "wxyz")
    ok("v0-longest-header", "the longest header: 255 addon bytes and a 255-byte domain name (533 bytes)", "tcp",
       65535, domain(labels), ["HDR-2", "ADR-2"], addons=pattern(255))
    ok("v0-addons-look-like-command-4", "addon bytes equal to 0x04 are not a command", "tcp", 443,
       ipv4("192.0.2.1"), ["HDR-2"], addons=bytes.fromhex("0404"))
    ok("v0-user-all-ones", "v0 with a UUID of all one bits", "tcp", 443, ipv4("192.0.2.1"), ["HDR-2"], user=U_MAX)

    v0 = u8(0) + uid(U1) + u8(0)
    dst = u16(443) + ipv4("192.0.2.1").wire()

    def bad(vid, description, wire, error, rule=None):
        f.invalid(vid, description, wire, error, rule=rule)

    for cmd in (0x00, 0x06, 0xFF):
        bad("v0-unknown-command-%02x" % cmd, "v0 command 0x%02x" % cmd, v0 + u8(cmd) + dst, "unknown-command")
    bad("v0-crumfurs-command", "command 4 (CRUMFURS) in v0, laid out as a v1 CRUMFURS request", v0 + u8(4),
        "command-not-in-version")
    bad("v0-crumfurs-command-with-address", "command 4 in v0 followed by an address", v0 + u8(4) + dst,
        "command-not-in-version")
    bad("v0-udp-mux-command", "command 5 (UDP-MUX) in v0, laid out as a v1 UDP-MUX request", v0 + u8(5),
        "command-not-in-version", rule="MUX-1")
    bad("v0-udp-mux-command-with-address", "command 5 in v0 followed by an address", v0 + u8(5) + dst,
        "command-not-in-version", rule="MUX-1")
    bad("v0-crumfurs-command-after-addons", "command 4 in v0 after two addon bytes",
        u8(0) + uid(U1) + u8(2) + bytes.fromhex("abcd") + u8(4), "command-not-in-version")
    bad("v0-port-zero-ipv4", "v0 port 0 with an IPv4 address", v0 + u8(1) + u16(0) + ipv4("192.0.2.1").wire(),
        "port-zero")
    bad("v0-port-zero-domain", "v0 port 0 with a domain name", v0 + u8(1) + u16(0) + domain("example.com").wire(),
        "port-zero")
    bad("v0-port-zero-ipv6", "v0 port 0 with an IPv6 address", v0 + u8(2) + u16(0) + ipv6("2001:db8::1").wire(),
        "port-zero")
    for atyp in (0x00, 0x04, 0xFF):
        bad("v0-unknown-address-type-%02x" % atyp, "v0 address type 0x%02x" % atyp,
            v0 + u8(1) + u16(443) + u8(atyp) + ipv4("192.0.2.1").field, "unknown-address-type")
    f.invalid("v0-socks5-domain-type", "a domain name sent with SOCKS5's type 3 is read as a 16-byte IPv6 address,"
              " and the stream ends short of it", v0 + u8(1) + u16(443) + u8(3) + domain("example.com").field,
              "truncated", at_eof=True)
    bad("v0-empty-domain", "v0 domain name of length 0", v0 + u8(1) + u16(443) + u8(2) + u8(0), "empty-domain")
    bad("v0-domain-byte-space", "v0 domain name with a space",
        v0 + u8(1) + u16(443) + domain(b"exa mple.com").wire(), "invalid-domain")

    full4 = v0 + u8(1) + dst
    fulld = v0 + u8(1) + u16(443) + domain("example.com").wire()
    full6 = v0 + u8(1) + u16(443) + ipv6("2001:db8::1").wire()
    addons = u8(0) + uid(U1) + u8(5) + bytes.fromhex("0a03616263") + u8(1) + dst
    cuts = [
        ("v0-truncated-after-version", "after the version byte", full4[:1]),
        ("v0-truncated-inside-user", "inside the user ID (15 of 16 bytes)", full4[:16]),
        ("v0-truncated-after-user", "after the user ID, before the addons length", full4[:17]),
        ("v0-truncated-inside-addons", "inside the addons (2 of 5 bytes)", addons[:20]),
        ("v0-truncated-after-addons", "after 5 addon bytes, before the command", addons[:23]),
        ("v0-truncated-before-command", "after an addons length of 0, before the command", full4[:18]),
        ("v0-truncated-after-command", "after the command, before the port", full4[:19]),
        ("v0-truncated-inside-port", "inside the port", full4[:20]),
        ("v0-truncated-before-address-type", "after the port, before the address type", full4[:21]),
        ("v0-truncated-inside-ipv4", "inside the IPv4 address (1 of 4 bytes)", full4[:23]),
        ("v0-truncated-inside-ipv6", "inside the IPv6 address (8 of 16 bytes)", full6[:30]),
        ("v0-truncated-after-domain-length", "after the domain length, before the name", fulld[:23]),
        ("v0-truncated-inside-domain", "inside the domain name (1 of 11 bytes)", fulld[:24]),
    ]
    for vid, where, wire in cuts:
        f.invalid(vid, "stream ends " + where, wire, "truncated", at_eof=True)
    return f


# ---------------------------------------------------------------------------------------------------------------------
# response-v0.json
# ---------------------------------------------------------------------------------------------------------------------

def response_v0():
    f = VectorFile("response-v0.json", "response-v0", "both", "VLESS.md §6",
                   "version(1)=0x00 addons_length(1) addons(M), then response data",
                   "RSP-3", stream=False)

    def ok(vid, description, addons, rules, trailing=b""):
        f.valid(vid, description, u8(0) + u8(len(addons)) + addons, {"version": 0, "addons": addons.hex()}, rules,
                trailing)

    ok("v0rsp-empty", "the header every v0 server sends, alone", b"", ["RSP-2", "RSP-3"])
    ok("v0rsp-with-data", "Appendix A.2: 00 00 in front of the target's first bytes", b"", ["RSP-2", "RSP-3"],
       trailing=b"HTTP/1.1 200 OK\r\n")
    ok("v0rsp-before-udp-frame", "on a command-2 connection the header precedes the first frame and is not part of"
       " it", b"", ["RSP-2", "UDP-1"], trailing=frame(bytes.fromhex("010203")))
    ok("v0rsp-with-addons", "three addon bytes the client skips", bytes.fromhex("0a0178"), ["RSP-3"],
       trailing=bytes.fromhex("0102"))
    ok("v0rsp-addons-255", "the longest response header: 255 addon bytes", pattern(255), ["RSP-3"],
       trailing=b"x")

    f.invalid("v0rsp-bad-version-01", "response version 0x01", bytes.fromhex("0100"), "bad-response-version")
    f.invalid("v0rsp-bad-version-ff", "response version 0xff", bytes.fromhex("ff00"), "bad-response-version")
    f.invalid("v0rsp-v1-server-data", "a v1 server answers with target data only (RSP-1)", b"HTTP/1.1 200 OK\r\n",
              "bad-response-version")
    f.invalid("v0rsp-truncated-after-version", "stream ends after the version byte", u8(0), "truncated",
              at_eof=True)
    f.invalid("v0rsp-truncated-inside-addons", "stream ends inside the addons (1 of 3 bytes)",
              bytes.fromhex("000301"), "truncated", at_eof=True)
    return f


# ---------------------------------------------------------------------------------------------------------------------
# udp-frame.json
# ---------------------------------------------------------------------------------------------------------------------

def udp_frame():
    f = VectorFile("udp-frame.json", "udp-frame", "both", "VLESS.md §8",
                   "a stream of frames: length(2, big-endian, unsigned) payload(length)",
                   "UDP-1", stream=True)

    def ok(vid, description, payloads, rules):
        f.valid(vid, description, b"".join(frame(p) for p in payloads), [{"payload": p.hex()} for p in payloads],
                rules)

    ok("udp-empty-frame", "Appendix A.4: an empty datagram", [b""], ["UDP-1", "UDP-2"])
    ok("udp-ping", "Appendix A.4: the datagram \"ping\"", [b"ping"], ["UDP-1"])
    ok("udp-one-byte", "a one-byte datagram", [b"\xff"], ["UDP-1"])
    ok("udp-length-32768", "length 0x8000: negative if read as a signed 16-bit number", [pattern(32768)],
       ["UDP-1", "UDP-2"])
    ok("udp-length-65535", "the largest frame the length field allows", [pattern(65535)], ["UDP-1", "UDP-2"])
    ok("udp-several-frames", "several frames in one stream, an empty one among them",
       [b"", b"\x00", bytes.fromhex("010203"), b"hello", b""], ["UDP-1", "UDP-2"])
    ok("udp-no-frames", "a stream that ends before any frame", [], ["UDP-1"])

    f.invalid("udp-truncated-inside-length", "stream ends after one byte of the length", bytes.fromhex("00"),
              "truncated", at_eof=True)
    f.invalid("udp-truncated-inside-length-high", "stream ends after a length byte of 0x80", bytes.fromhex("80"),
              "truncated", at_eof=True)
    f.invalid("udp-truncated-before-payload", "stream ends after the length 1", bytes.fromhex("0001"), "truncated",
              at_eof=True)
    f.invalid("udp-truncated-inside-payload", "stream ends after 3 of 5 payload bytes", bytes.fromhex("0005010203"),
              "truncated", at_eof=True)
    f.invalid("udp-truncated-inside-32768-payload", "length 0x8000 but only 16 payload bytes",
              u16(32768) + pattern(16), "truncated", at_eof=True)
    f.invalid("udp-truncated-after-frames", "two whole frames, then the stream ends inside a third",
              frame(b"") + frame(b"\xff") + bytes.fromhex("000201"), "truncated", at_eof=True,
              decoded_before=[{"payload": ""}, {"payload": "ff"}])
    return f


# ---------------------------------------------------------------------------------------------------------------------
# crumfurs-ack.json
# ---------------------------------------------------------------------------------------------------------------------

def crumfurs_ack():
    f = VectorFile("crumfurs-ack.json", "crumfurs-ack", "v1", "VLESS.md §9",
                   "one byte 0x14 (CRUMFURS_ESTABLISHED), then UMFURS messages",
                   "CRF-1", stream=False)
    ack = u8(0x14)
    f.valid("ack-alone", "Appendix A.3: the acknowledgement", ack, {"value": "14"}, ["CRF-1"])
    f.valid("ack-then-umfurs", "the acknowledgement and, in the same segment, the UMFURS of Appendix A.5: the"
            " bytes after it belong to the UMFURS stream", ack, {"value": "14"}, ["CRF-1"],
            trailing=umfurs(ipv4("127.0.0.2"), 4000, b"hi"))
    f.valid("ack-then-byte-14", "a UMFURS stream starting with another 0x14 byte is not a second acknowledgement",
            ack, {"value": "14"}, ["CRF-1"], trailing=u8(0x14))

    for value, why in ((0x00, "(a v0 response header)"), (0x15, "(one more than 0x14)"), (0x01, "(a UMFURS type)"),
                       (0xFF, "")):
        f.invalid("ack-byte-%02x" % value, ("first byte 0x%02x %s" % (value, why)).strip(), u8(value) + u8(0x14),
                  "bad-acknowledgement")
    f.invalid("ack-empty-stream", "the stream ends before the acknowledgement", b"", "truncated", at_eof=True)
    return f


# ---------------------------------------------------------------------------------------------------------------------
# umfurs.json
# ---------------------------------------------------------------------------------------------------------------------

def umfurs_file():
    f = VectorFile("umfurs.json", "umfurs", "v1", "VLESS.md §10",
                   "a stream of messages: address_type(1)=1|3 source_ip(4|16) source_port(2) length(2, unsigned)"
                   " payload(length)",
                   "UMF-1", stream=True)

    def ok(vid, description, messages, rules, canonical=None):
        wire = b"".join(umfurs(a, p, d) for a, p, d, _ in messages)
        decoded = [umfurs_decoded(text or a.text, p, d) for a, p, d, text in messages]
        f.valid(vid, description, wire, decoded, rules, canonical=canonical)

    v4 = ipv4("127.0.0.2")
    v6 = ipv6("2001:db8::1")
    ok("umfurs-ipv4", "Appendix A.5: \"hi\" from 127.0.0.2:4000, address before port", [(v4, 4000, b"hi", None)],
       ["UMF-1", "UMF-2"])
    ok("umfurs-ipv6", "Appendix A.6: \"hi\" from [2001:db8::1]:4000", [(v6, 4000, b"hi", None)], ["UMF-1", "UMF-2"])
    ok("umfurs-ipv4-empty-payload", "an empty datagram from an IPv4 source", [(ipv4("203.0.113.7"), 3478, b"", None)],
       ["UMF-1", "UMF-5"])
    ok("umfurs-ipv6-empty-payload", "an empty datagram from an IPv6 source", [(v6, 3478, b"", None)],
       ["UMF-1", "UMF-5"])
    ok("umfurs-port-1", "source port 1", [(ipv4("198.51.100.9"), 1, b"\x01", None)], ["UMF-1", "UMF-6"])
    ok("umfurs-port-65535", "source port 65535", [(ipv6("2001:db8:85a3::8a2e:370:7334"), 65535, b"\x01", None)],
       ["UMF-1"])
    ok("umfurs-length-32768", "length 0x8000: unsigned", [(v4, 4000, pattern(32768), None)], ["UMF-1"])
    ok("umfurs-ipv4-mapped-source", "type 3 with an IPv4-mapped source decodes as 127.0.0.2 (ADR-4); a server"
       " sends it as type 1 (UMF-3), the bytes of Appendix A.5", [(ipv6("::ffff:127.0.0.2"), 4000, b"hi", "127.0.0.2")],
       ["UMF-1", "UMF-3", "ADR-4"], canonical=umfurs(v4, 4000, b"hi"))
    ok("umfurs-several", "three messages in one stream: IPv4, IPv6, then an empty datagram",
       [(v4, 4000, b"hi", None), (v6, 4001, b"there", None), (ipv4("192.0.2.1"), 53, b"", None)],
       ["UMF-1", "UMF-5"])
    ok("umfurs-no-messages", "a stream that ends before any message", [], ["UMF-1"])

    hi = u16(4000) + u16(2) + b"hi"
    f.invalid("umfurs-domain-type", "address type 2: a source is never a domain name",
              domain("example.com").wire() + hi, "bad-source-type")
    for atyp in (0x00, 0x04, 0xFF):
        f.invalid("umfurs-type-%02x" % atyp, "address type 0x%02x" % atyp, u8(atyp) + v4.field + hi,
                  "bad-source-type")
    f.invalid("umfurs-port-before-address", "port first, as in a request header: 0x0f is no address type",
              u16(4000) + v4.wire() + u16(2) + b"hi", "bad-source-type")
    f.invalid("umfurs-source-port-zero-ipv4", "IPv4 source port 0", v4.wire() + u16(0) + u16(2) + b"hi",
              "source-port-zero")
    f.invalid("umfurs-source-port-zero-ipv6", "IPv6 source port 0", v6.wire() + u16(0) + u16(2) + b"hi",
              "source-port-zero")
    f.invalid("umfurs-source-port-zero-before-length", "source port 0 is bad as soon as the port arrives",
              v4.wire() + u16(0), "source-port-zero")
    f.invalid("umfurs-bad-type-after-valid", "a valid message, then one of address type 2",
              umfurs(v4, 4000, b"hi") + domain("example.com").wire() + hi, "bad-source-type",
              decoded_before=[umfurs_decoded("127.0.0.2", 4000, b"hi")])

    msg4 = umfurs(v4, 4000, b"hello")
    msg6 = umfurs(v6, 4000, b"hello")
    cuts = [
        ("umfurs-truncated-after-type", "after the address type", msg4[:1]),
        ("umfurs-truncated-inside-ipv4", "inside the IPv4 source (2 of 4 bytes)", msg4[:3]),
        ("umfurs-truncated-inside-ipv6", "inside the IPv6 source (15 of 16 bytes)", msg6[:16]),
        ("umfurs-truncated-inside-port", "inside the source port", msg4[:6]),
        ("umfurs-truncated-inside-length", "inside the length", msg4[:8]),
        ("umfurs-truncated-before-payload", "after the header, before the payload", msg4[:9]),
        ("umfurs-truncated-inside-payload", "inside the payload (3 of 5 bytes)", msg4[:12]),
        ("umfurs-truncated-ipv6-inside-payload", "inside the payload of an IPv6 message (1 of 5 bytes)", msg6[:22]),
    ]
    for vid, where, wire in cuts:
        f.invalid(vid, "stream ends " + where, wire, "truncated", at_eof=True)
    f.invalid("umfurs-truncated-after-valid", "a whole message, then the stream ends inside the next",
              umfurs(v4, 4000, b"hi") + msg6[:10], "truncated", at_eof=True,
              decoded_before=[umfurs_decoded("127.0.0.2", 4000, b"hi")])
    return f


# ---------------------------------------------------------------------------------------------------------------------
# mux-ack.json
# ---------------------------------------------------------------------------------------------------------------------

def mux_ack():
    f = VectorFile("mux-ack.json", "mux-ack", "v1", "VLESS.md §23",
                   "one byte 0x15 (MUX_ESTABLISHED), then frames in both directions",
                   "MUX-3", stream=False)
    ack = u8(0x15)
    f.valid("mux-ack-alone", "Appendix A.8: the answer to a UDP-MUX request", ack, {"value": "15"}, ["MUX-3"])
    f.valid("mux-ack-then-frame", "the answer and, in the same segment, A.8's server frame: the bytes after it are"
            " frames, which the client reads as such (MUX-4)", ack, {"value": "15"}, ["MUX-3", "MUX-4"],
            trailing=A8_SERVER_FRAME)
    f.valid("mux-ack-then-byte-15", "a frame stream starting with another 0x15 byte is not a second answer (as a"
            " frame it is then bad, but that is the frame decoder's business)", ack, {"value": "15"}, ["MUX-3"],
            trailing=u8(0x15))

    def unavailable(vid, description, wire):
        f.invalid(vid, description, wire, "mux-unavailable", at_eof=not wire)

    unavailable("mux-ack-empty-stream", "the stream ends before the answer: the server closed (for instance after"
                " the handshake deadline of a server without the mode, MUX-2)", b"")
    unavailable("mux-ack-byte-14", "0x14, the CRUMFURS acknowledgement, is not the UDP-MUX answer", u8(0x14))
    unavailable("mux-ack-byte-00", "0x00, as a v0 response header starts", bytes.fromhex("0000"))
    unavailable("mux-ack-http-answer", "a fallback's HTTP answer: the 'H' of HTTP/1.1 is the first byte",
                b"HTTP/1.1 400 Bad Request\r\n")
    unavailable("mux-ack-frame-without-answer", "a server frame with no 0x15 before it: address type 1 is no answer",
                A8_SERVER_FRAME)
    unavailable("mux-ack-byte-ff", "0xff", u8(0xFF))
    return f


# ---------------------------------------------------------------------------------------------------------------------
# mux-frame-client.json and mux-frame-server.json
# ---------------------------------------------------------------------------------------------------------------------

def mux_frame_files():
    """The two directions of a UDP-MUX stream: the same layout, but only a client may name a domain or port 0."""
    client = VectorFile("mux-frame-client.json", "mux-frame-client", "v1", "VLESS.md §23",
                        "client to server, after 0x15: a stream of frames: address_type(1)=1|2|3 address(4|1+L|16)"
                        " port(2) length(2, unsigned) payload(length); port 0 is a no-op",
                        "MUX-12", stream=True, error_rule="MUX-11")
    server = VectorFile("mux-frame-server.json", "mux-frame-server", "v1", "VLESS.md §23",
                        "server to client, after 0x15: a stream of frames: address_type(1)=1|3 source_ip(4|16)"
                        " source_port(2)=1..65535 length(2, unsigned) payload(length)",
                        "MUX-12", stream=True, error_rule="MUX-11")

    def ok(f, vid, description, frames, rules):
        """frames: (address, port, payload, canonical address or None) tuples."""
        wire = b"".join(mux_frame(a, p, d) for a, p, d, _ in frames)
        decoded = [mux_decoded(a, p, d, c) for a, p, d, c in frames]
        canonical = None
        if any(c is not None for _, _, _, c in frames):
            canonical = b"".join(mux_frame(c or a, p, d) for a, p, d, c in frames)
        f.valid(vid, description, wire, decoded, rules, canonical=canonical)

    dummy = domain("dummy.com")
    z = ipv4("127.0.0.3")
    p = ipv4("127.0.0.2")
    v6 = ipv6("2001:db8::1")
    labels = ".".join(c * 63 for c in "abcd")

    # ---- client to server ----
    c = client
    ok(c, "muxc-domain", "Appendix A.8: \"ping\" to dummy.com:5000, address before port",
       [(dummy, 5000, b"ping", None)],
       ["MUX-7", "MUX-8"])
    ok(c, "muxc-ipv4", "\"ping\" to 127.0.0.3:5000: the bytes a UMFURS from there would have",
       [(z, 5000, b"ping", None)],
       ["MUX-7", "MUX-8"])
    ok(c, "muxc-ipv6", "\"hi\" to [2001:db8::1]:443", [(v6, 443, b"hi", None)], ["MUX-7"])
    ok(c, "muxc-ipv4-mapped", "type 3 with an IPv4-mapped destination decodes as 192.0.2.1 (ADR-4); the canonical"
       " encoding is type 1", [(ipv6("::ffff:192.0.2.1"), 443, b"hi", ipv4("192.0.2.1"))], ["MUX-7", "ADR-4"])
    ok(c, "muxc-empty-payload", "Appendix A.8: an empty datagram to dummy.com:5000", [(dummy, 5000, b"", None)],
       ["MUX-7", "MUX-9"])
    ok(c, "muxc-keepalive", "Appendix A.8: a keepalive, an empty frame to 0.0.0.0 port 0; it decodes, and the server"
       " discards it (MUX-10)", [(ipv4("0.0.0.0"), 0, b"", None)], ["MUX-7", "MUX-10"])
    ok(c, "muxc-port-zero-padding", "16 bytes of padding to a domain, port 0: also a no-op",
       [(dummy, 0, bytes(16), None)],
       ["MUX-10"])
    ok(c, "muxc-port-65535", "destination port 65535: big-endian and unsigned", [(z, 65535, b"\x01", None)], ["MUX-7"])
    ok(c, "muxc-domain-1-byte", "the shortest domain name", [(domain("a"), 53, b"q", None)], ["MUX-7", "ADR-2"])
    ok(c, "muxc-domain-printable-edges", "a domain name may hold any byte from 0x21 (!) to 0x7e (~)",
       [(domain("!example~"), 53, b"q", None)], ["MUX-7", "ADR-3"])
    ok(c, "muxc-length-32768", "length 0x8000: negative if read as a signed 16-bit number",
       [(z, 5000, pattern(32768), None)],
       ["MUX-9"])
    ok(c, "muxc-longest-frame", "the longest client frame: a 255-byte domain name and 65535 payload bytes, 65795 bytes",
       [(domain(labels), 65535, pattern(65535), None)], ["MUX-7", "MUX-9"])
    ok(c, "muxc-several", "frames back to back: a domain, IPv4, IPv6, a keepalive, then an empty datagram",
       [(dummy, 5000, b"ping", None), (z, 5000, b"ping", None), (v6, 443, b"hello", None),
        (ipv4("0.0.0.0"), 0, b"", None), (p, 4000, b"", None)], ["MUX-7", "MUX-9", "MUX-10"])
    ok(c, "muxc-no-frames", "a stream that ends before any frame", [], ["MUX-7", "MUX-12"])

    hi = u16(443) + u16(2) + b"hi"
    for atyp, why in ((0x00, ""), (0x04, ": SOCKS5's number for IPv6"), (0xFF, "")):
        c.invalid("muxc-type-%02x" % atyp, "address type 0x%02x%s" % (atyp, why), u8(atyp) + z.field + hi,
                  "unknown-address-type")
    c.invalid("muxc-type-before-address", "an unknown address type is bad as soon as it arrives", u8(0x05),
              "unknown-address-type")
    c.invalid("muxc-after-request-command-2-frame", "the bytes after the request of v1-udp-mux-with-command-2-frame:"
              " a command-2 frame, whose first byte 0x00 is read as an address type", EARLY_NOT_A_FRAME,
              "unknown-address-type")
    c.invalid("muxc-port-before-address", "port first, as in a request header: 0x13 is no address type",
              u16(5000) + z.wire() + u16(4) + b"ping", "unknown-address-type")
    c.invalid("muxc-empty-domain", "domain name of length 0", u8(2) + u8(0) + hi, "empty-domain")
    c.invalid("muxc-empty-domain-alone", "length 0 is bad as soon as it arrives", u8(2) + u8(0), "empty-domain")
    for byte, name in ((0x20, "space"), (0x00, "nul"), (0x7F, "del"), (0x80, "80"), (0xFF, "ff")):
        c.invalid("muxc-domain-byte-%s" % name, "domain name with the byte 0x%02x" % byte,
                  domain(b"exa" + u8(byte) + b"mple.com").wire() + hi, "invalid-domain")
    c.invalid("muxc-domain-bad-byte-before-end", "a bad domain byte is bad as soon as it arrives, before the name is"
              " complete", u8(2) + u8(11) + b"ex mp", "invalid-domain")
    c.invalid("muxc-bad-type-after-valid", "a valid frame, then one of address type 0",
              A8_CLIENT_FRAME + u8(0) + z.field + hi, "unknown-address-type",
              decoded_before=[mux_decoded(dummy, 5000, b"ping")])
    c.invalid("muxc-bad-domain-after-keepalive", "a keepalive, then a frame whose domain holds a space",
              A8_KEEPALIVE + domain(b"a b").wire() + hi, "invalid-domain",
              decoded_before=[mux_decoded(ipv4("0.0.0.0"), 0, b"")])

    msg4 = mux_frame(z, 5000, b"hello")
    msg6 = mux_frame(v6, 5000, b"hello")
    msgd = mux_frame(domain("example.com"), 5000, b"hello")
    cuts = [
        ("muxc-truncated-after-type", "after the address type", msg4[:1]),
        ("muxc-truncated-inside-ipv4", "inside the IPv4 address (2 of 4 bytes)", msg4[:3]),
        ("muxc-truncated-inside-ipv6", "inside the IPv6 address (15 of 16 bytes)", msg6[:16]),
        ("muxc-truncated-after-domain-type", "after address type 2, before the length", msgd[:1]),
        ("muxc-truncated-after-domain-length", "after the domain length, before the name", msgd[:2]),
        ("muxc-truncated-inside-domain", "inside the domain name (10 of 11 bytes)", msgd[:12]),
        ("muxc-truncated-inside-port", "inside the port", msg4[:6]),
        ("muxc-truncated-inside-port-zero", "after a port high byte of 0x00: port 0 is valid from a client anyway",
         mux_frame(z, 0, b"")[:6]),
        ("muxc-truncated-inside-length", "inside the length", msg4[:8]),
        ("muxc-truncated-before-payload", "after the header, before the payload", msg4[:9]),
        ("muxc-truncated-inside-payload", "inside the payload (3 of 5 bytes)", msg4[:12]),
        ("muxc-length-past-end", "length 65535, and the stream ends after 10 payload bytes",
         z.wire() + u16(5000) + u16(65535) + pattern(10)),
    ]
    for vid, where, wire in cuts:
        c.invalid(vid, "stream ends " + where, wire, "truncated", at_eof=True)
    c.invalid("muxc-truncated-after-valid", "a whole frame, then the stream ends inside the next",
              A8_CLIENT_FRAME + msgd[:10], "truncated", at_eof=True,
              decoded_before=[mux_decoded(dummy, 5000, b"ping")])

    # ---- server to client ----
    s = server
    ok(s, "muxs-ipv4", "Appendix A.8: \"pong\" from 127.0.0.3:5000, the address dummy.com resolved to",
       [(z, 5000, b"pong", None)], ["MUX-7", "MUX-8", "MUX-23"])
    ok(s, "muxs-umfurs-bytes", "the UMFURS of Appendix A.5 is also a server frame, byte for byte: \"hi\" from"
       " 127.0.0.2:4000", [(p, 4000, b"hi", None)], ["MUX-7", "UMF-1"])
    ok(s, "muxs-ipv6", "\"hi\" from [2001:db8::1]:4000: IPv6 sources are type 3, as in UMFURS",
       [(v6, 4000, b"hi", None)], ["MUX-7", "MUX-8"])
    ok(s, "muxs-ipv4-mapped-source", "type 3 with an IPv4-mapped source decodes as 127.0.0.2 (ADR-4); a server sends"
       " it as type 1 (MUX-8), the canonical encoding", [(ipv6("::ffff:127.0.0.2"), 4000, b"hi", p)],
       ["MUX-7", "MUX-8", "ADR-4"])
    ok(s, "muxs-empty-payload", "an empty datagram from an IPv4 source", [(ipv4("203.0.113.7"), 3478, b"", None)],
       ["MUX-7", "MUX-9"])
    ok(s, "muxs-ipv6-empty-payload", "an empty datagram from an IPv6 source", [(v6, 3478, b"", None)],
       ["MUX-7", "MUX-9"])
    ok(s, "muxs-port-1", "source port 1, the lowest", [(ipv4("198.51.100.9"), 1, b"\x01", None)], ["MUX-7", "MUX-11"])
    ok(s, "muxs-port-65535", "source port 65535", [(ipv6("2001:db8:85a3::8a2e:370:7334"), 65535, b"\x01", None)],
       ["MUX-7"])
    ok(s, "muxs-length-32768", "length 0x8000: unsigned", [(p, 4000, pattern(32768), None)], ["MUX-9"])
    ok(s, "muxs-length-65535", "the largest length: 65535 payload bytes from IPv6, as a jumbogram could bring",
       [(v6, 4000, pattern(65535), None)], ["MUX-7", "MUX-9"])
    ok(s, "muxs-several", "frames back to back: the reply, a datagram from a peer never contacted, IPv6, empty",
       [(z, 5000, b"pong", None), (p, 4000, b"hi", None), (v6, 4001, b"there", None),
        (ipv4("192.0.2.1"), 53, b"", None)], ["MUX-7", "MUX-9", "MUX-18"])
    ok(s, "muxs-no-frames", "a stream that ends before any frame", [], ["MUX-7"])

    s.invalid("muxs-domain-type", "address type 2: a server's frame never names a domain",
              domain("dummy.com").wire() + u16(5000) + u16(4) + b"pong", "bad-source-type")
    s.invalid("muxs-domain-type-alone", "address type 2 is bad as soon as it arrives", u8(2), "bad-source-type")
    for atyp in (0x00, 0x04, 0xFF):
        s.invalid("muxs-type-%02x" % atyp, "address type 0x%02x" % atyp,
                  u8(atyp) + p.field + u16(4000) + u16(2) + b"hi", "bad-source-type")
    s.invalid("muxs-port-before-address", "port first, as in a request header: 0x0f is no address type",
              u16(4000) + p.wire() + u16(2) + b"hi", "bad-source-type")
    s.invalid("muxs-source-port-zero-ipv4", "IPv4 source port 0", p.wire() + u16(0) + u16(2) + b"hi",
              "source-port-zero")
    s.invalid("muxs-source-port-zero-ipv6", "IPv6 source port 0", v6.wire() + u16(0) + u16(2) + b"hi",
              "source-port-zero")
    s.invalid("muxs-source-port-zero-before-length", "source port 0 is bad as soon as the port arrives",
              p.wire() + u16(0), "source-port-zero")
    s.invalid("muxs-client-keepalive", "a client's keepalive (port 0) sent by a server", A8_KEEPALIVE,
              "source-port-zero")
    s.invalid("muxs-bad-type-after-valid", "a valid frame, then one naming a domain",
              A8_SERVER_FRAME + A8_CLIENT_FRAME, "bad-source-type", decoded_before=[mux_decoded(z, 5000, b"pong")])

    msg4 = mux_frame(p, 4000, b"hello")
    msg6 = mux_frame(v6, 4000, b"hello")
    cuts = [
        ("muxs-truncated-after-type", "after the address type", msg4[:1]),
        ("muxs-truncated-inside-ipv4", "inside the IPv4 source (2 of 4 bytes)", msg4[:3]),
        ("muxs-truncated-inside-ipv6", "inside the IPv6 source (15 of 16 bytes)", msg6[:16]),
        ("muxs-truncated-inside-port", "inside the source port", msg4[:6]),
        ("muxs-truncated-inside-port-zero-high-byte", "after a port high byte of 0x00: not yet port 0",
         mux_frame(p, 4000, b"")[:5] + u8(0)),
        ("muxs-truncated-inside-length", "inside the length", msg4[:8]),
        ("muxs-truncated-before-payload", "after the header, before the payload", msg4[:9]),
        ("muxs-truncated-inside-payload", "inside the payload (3 of 5 bytes)", msg4[:12]),
        ("muxs-length-past-end", "length 65535, and the stream ends after 10 payload bytes",
         v6.wire() + u16(4000) + u16(65535) + pattern(10)),
    ]
    for vid, where, wire in cuts:
        s.invalid(vid, "stream ends " + where, wire, "truncated", at_eof=True)
    s.invalid("muxs-truncated-after-valid", "a whole frame, then the stream ends inside the next",
              A8_SERVER_FRAME + msg6[:10], "truncated", at_eof=True,
              decoded_before=[mux_decoded(z, 5000, b"pong")])
    return client, server


def main():
    files = [request_v1(), request_v0(), response_v0(), udp_frame(), crumfurs_ack(), umfurs_file(), mux_ack(),
             *mux_frame_files()]
    ids = [v["id"] for f in files for v in f.doc["vectors"]]
    assert len(ids) == len(set(ids)), "vector IDs must be unique across files"
    for f in files:
        f.write()
        vectors = f.doc["vectors"]
        valid = sum(1 for v in vectors if v["valid"])
        print("%-22s %3d valid %3d invalid" % (f.name, valid, len(vectors) - valid))


if __name__ == "__main__":
    main()
