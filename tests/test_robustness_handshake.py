"""Hostile handshakes from outside: each bad request gets the right HTTP answer
(or is dropped within ``handshake_timeout``), and a well-behaved client keeps
being served the whole time. Complements tests/transport/test_handshake_sockets.py.
"""
from __future__ import annotations

import base64
import random
import select
import socket
import ssl
import time
import unittest

from tests.conformance.harness import WAIT, EchoServerCase
from tests.conformance.wire import OP_BINARY, OP_PING, OP_TEXT, Pump, frame, upgrade_request
from tests.support import SAMPLE_KEY, read_all, read_http_head

HANDSHAKE_TIMEOUT = 1.5
SLACK = 3.0          # generous: the machine may be loaded

GOOD = ("GET /ok HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Key: " + SAMPLE_KEY, "Sec-WebSocket-Version: 13")


def request(*lines: str, drop: tuple = ()) -> bytes:
    """GOOD with lines replaced by prefix (``"Upgrade: h2c"`` replaces ``Upgrade:``),
    lines named in ``drop`` removed, and new ones appended."""
    out = [line for line in GOOD if line.split(":")[0] not in drop]
    for line in lines:
        key = line.split(" ")[0] if line.startswith(("GET", "POST", "get", "PUT")) else \
            line.split(":")[0] + ":"
        for i, old in enumerate(out):
            if (i == 0 and key in ("GET", "POST", "get", "PUT")) or old.startswith(key):
                out[i] = line
                break
        else:
            out.append(line)
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


def key_of(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


#: (name, request bytes, expected status, a header the answer must carry)
BAD_REQUESTS = (
    ("POST method", request("POST /ok HTTP/1.1"), 400, None),
    ("PUT method", request("PUT /ok HTTP/1.1"), 400, None),
    ("lower-case get", request("get /ok HTTP/1.1"), 400, None),
    ("HTTP/1.0", request("GET /ok HTTP/1.0"), 400, None),
    ("HTTP/2.0", request("GET /ok HTTP/2.0"), 400, None),
    ("missing Sec-WebSocket-Key", request(drop=("Sec-WebSocket-Key",)), 400, None),
    ("key not base64", request("Sec-WebSocket-Key: !!!!not-base64!!!!!!!"), 400, None),
    ("key of 15 bytes", request("Sec-WebSocket-Key: " + key_of(b"k" * 15)), 400, None),
    ("key of 17 bytes", request("Sec-WebSocket-Key: " + key_of(b"k" * 17)), 400, None),
    ("empty key", request("Sec-WebSocket-Key: "), 400, None),
    ("key 'x' (Godot accepts it)", request("Sec-WebSocket-Key: x"), 400, None),
    ("two keys (joined with ',')", request()[:-2] + b"Sec-WebSocket-Key: "
     + key_of(b"1" * 16).encode() + b"\r\n\r\n", 400, None),
    ("missing Upgrade", request(drop=("Upgrade",)), 400, None),
    ("Upgrade: h2c", request("Upgrade: h2c"), 400, None),
    ("missing Connection", request(drop=("Connection",)), 400, None),
    ("version 8", request("Sec-WebSocket-Version: 8"), 426, b"Sec-WebSocket-Version: 13"),
    ("version 12", request("Sec-WebSocket-Version: 12"), 426, b"Sec-WebSocket-Version: 13"),
    ("missing version", request(drop=("Sec-WebSocket-Version",)), 426,
     b"Sec-WebSocket-Version: 13"),
    ("header line without colon", request("X-Broken-Header-Line"), 400, None),
    ("request line only", b"GET / HTTP/1.1\r\n\r\n", 400, None),
    ("three lines", b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", 400, None),
    ("empty request", b"\r\n\r\n", 400, None),
    ("many small headers over 4096 bytes",
     request(*(f"X-H{i}: {'v' * 40}" for i in range(100))), 431, None),
    ("subprotocol offered, none configured",
     request("Sec-WebSocket-Protocol: chat"), 400, None),
    ("binary garbage with a blank line", bytes(random.Random(6455).randrange(256)
                                               for _ in range(300)) + b"\r\n\r\n", 400, None),
    ("5000 bytes of garbage, no blank line",
     bytes(random.Random(8).choice(b"abc\r\x00\xff") for _ in range(5000)), 431, None),
)


def tls_client_hello() -> bytes:
    """A real ClientHello, as a browser would send to a wss:// URL."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


class HandshakeAttackTests(EchoServerCase):
    def configure(self, server):
        super().configure(server)
        server.handshake_timeout = HANDSHAKE_TIMEOUT

    def roundtrip(self, pump: Pump, payload: bytes) -> None:
        """One echo on the good client, within a bounded wait."""
        n = len(pump.events)
        self.assertTrue(pump.send(frame(OP_BINARY, payload)))
        self.assertTrue(pump.wait_events(n + 1, WAIT), "good client not served")
        self.assertEqual(pump.events[n], ("binary", payload))

    def test_bad_requests_get_their_status_and_good_client_is_served(self):
        _, good, good_id = self.open_pump()
        for name, raw, status, header in BAD_REQUESTS:
            with self.subTest(name):
                s = self.raw()
                start = time.monotonic()
                s.sendall(raw)
                head, body = read_http_head(s, HANDSHAKE_TIMEOUT + SLACK)
                self.assertTrue(head.startswith(f"HTTP/1.1 {status} ".encode()), head[:80])
                if header:
                    self.assertIn(b"\r\n" + header + b"\r\n", head)
                self.assertIn(b"\r\nConnection: close\r\n", head)
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                rest = body + read_all(s, HANDSHAKE_TIMEOUT + SLACK)
                self.assertEqual(len(rest), length, "body must match Content-Length, then EOF")
                self.assertLess(time.monotonic() - start, HANDSHAKE_TIMEOUT + SLACK)
                self.roundtrip(good, name.encode())
        self.assertEqual([c[0] for c in self.rec.of("client_connected")], [good_id])
        self.assertIn("refused (400)", self.logs.text())

    def test_request_head_of_exactly_4096_bytes_accepted_4097_refused(self):
        pad = 4096 - len(upgrade_request(self.port)) - len("X-Pad: \r\n")
        _, pump, _ = self.open_pump(headers=("X-Pad: " + "p" * pad,))
        self.roundtrip(pump, b"still fine")
        s = self.raw()
        s.sendall(upgrade_request(self.port, ("X-Pad: " + "p" * (pad + 1),)))
        self.assertTrue(read_all(s, HANDSHAKE_TIMEOUT + SLACK).startswith(b"HTTP/1.1 431 "))

    def test_silent_drops_without_an_answer(self):
        """Inputs that never form a request head are dropped at the deadline."""
        _, good, _ = self.open_pump()
        cases = {"bare LF line endings": request().replace(b"\r\n", b"\n"),
                 "real TLS ClientHello": tls_client_hello(),
                 "nothing at all": b"",
                 "random bytes, no blank line": bytes(random.Random(1).randrange(256)
                                                      for _ in range(1000)).replace(b"\r", b"")}
        socks = {}
        for name, data in cases.items():
            s = self.raw()
            if data:
                s.sendall(data)
            socks[name] = s
        outcome = wait_all_dropped(self, list(socks.values()), good)
        for name, s in socks.items():
            got, elapsed = outcome[s]
            self.assertEqual(got, b"", name)
            self.assertLess(elapsed, HANDSHAKE_TIMEOUT + SLACK, name)
        self.assertEqual(len(self.rec.of("client_connected")), 1)

    def test_request_and_frame_in_one_byte_writes(self):
        sock = self.raw()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = upgrade_request(self.port) + frame(OP_TEXT, b"byte by byte")
        for i in range(len(data)):
            sock.send(data[i:i + 1])
        head, rest = read_http_head(sock)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "))
        pump = Pump(self.server, sock, rest)
        self.assertTrue(pump.wait_events(1, WAIT))
        self.assertEqual(pump.events, [("text", b"byte by byte")])

    def test_frames_in_the_request_segment_are_not_lost(self):
        early = (frame(OP_TEXT, b"first") + frame(OP_BINARY, b"\x00second")
                 + frame(OP_PING, b"early ping") + frame(OP_BINARY, b"x" * 70000)[:40])
        _, pump, pid = self.open_pump(trailing=early)
        self.assertTrue(pump.wait_events(3, WAIT))
        self.assertEqual(sorted(pump.events), sorted([("pong", b"early ping"),
                                                      ("text", b"first"),
                                                      ("binary", b"\x00second")]))
        # The half frame that came with the request completes later.
        pump.send(frame(OP_BINARY, b"x" * 70000)[40:])
        self.assertTrue(pump.wait_eof(WAIT))  # 70000 > 64 KiB: 1009
        self.assertEqual(pump.events[-1][:2], ("close", 1009))

    def test_garbage_after_the_request_fails_with_1002(self):
        _, pump, pid = self.open_pump(trailing=b"\x00\x00\x00garbage")
        self.assertTrue(pump.wait_eof(WAIT))
        self.assertEqual(pump.events[-1][:2], ("close", 1002))
        self.assertEqual(self.rec.wait("client_disconnected")[0][:2], (pid, False))


class HalfOpenFloodTests(EchoServerCase):
    """200 connections that never finish the handshake and a slowloris client,
    while a good client exchanges messages; all bad ones are gone in time."""

    HALF_OPEN = 200

    def configure(self, server):
        super().configure(server)
        server.handshake_timeout = HANDSHAKE_TIMEOUT

    def test_200_half_open_and_slowloris(self):
        _, good, _ = self.open_pump()
        bad: list[socket.socket] = []
        for i in range(self.HALF_OPEN):
            s = self.raw()
            if i % 2:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
            bad.append(s)
        slow = self.raw()
        bad.append(slow)
        outcome = wait_all_dropped(self, bad, good, slowloris=slow)
        dropped_late = [e for _, e in outcome.values() if e >= HANDSHAKE_TIMEOUT + SLACK]
        self.assertEqual(dropped_late, [])
        self.assertTrue(all(got == b"" for got, _ in outcome.values()))
        # A newcomer after the flood is served at once.
        _, late, _ = self.open_pump()
        n = len(late.events)
        late.send(frame(OP_TEXT, b"after the flood"))
        self.assertTrue(late.wait_events(n + 1, WAIT))
        self.assertEqual(len(self.rec.of("client_connected")), 2)
        self.assertIn("timed out", self.logs.text())


def wait_all_dropped(test: unittest.TestCase, socks: list[socket.socket], good: Pump,
                     slowloris: socket.socket | None = None) -> dict[socket.socket, tuple]:
    """Until every socket in ``socks`` reads EOF (bounded): keep the good
    client exchanging messages, and feed ``slowloris`` one valid byte every
    50 ms. Returns {sock: (bytes read, seconds from start to EOF)}."""
    start = time.monotonic()
    end = start + HANDSHAKE_TIMEOUT + SLACK + 2.0
    got: dict[socket.socket, bytes] = {s: b"" for s in socks}
    done: dict[socket.socket, tuple] = {}
    slow_bytes = request()[:-2] + b"X-Slow: " + b"s" * 10000
    slow_pos = 0
    next_slow = start
    pending_echo: bytes | None = None
    echoes = 0
    for s in socks:
        s.setblocking(False)
    while len(done) < len(socks) and time.monotonic() < end:
        now = time.monotonic()
        if slowloris is not None and slowloris not in done and now >= next_slow:
            try:
                slowloris.send(slow_bytes[slow_pos:slow_pos + 1])
                slow_pos += 1
            except OSError:
                pass
            next_slow = now + 0.05
        if pending_echo is None:
            pending_echo = f"echo {echoes}".encode()
            want = len(good.events) + 1
            test.assertTrue(good.send(frame(OP_BINARY, pending_echo)))
        good.step(0)
        if len(good.events) >= want:
            test.assertEqual(good.events[-1], ("binary", pending_echo))
            pending_echo = None
            echoes += 1
        live = [s for s in socks if s not in done]
        readable, _, _ = select.select(live, [], [], 0.01)
        for s in readable:
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                chunk = b""
            if chunk:
                got[s] += chunk
            else:
                done[s] = (got[s], time.monotonic() - start)
    test.assertEqual(len(done), len(socks), f"{len(socks) - len(done)} sockets never dropped")
    test.assertGreater(echoes, 3, "the good client was not served during the flood")
    return done


if __name__ == "__main__":
    unittest.main()
