"""Bounded fuzz of the handshake parser and the frame path against a live echo
server (stdlib mutation, fixed seeds; see tests/fuzz_wire.py).

Each iteration is one connection carrying a mutated request (or a valid
request followed by a mutated frame stream). Every answer must be a documented
outcome (``fuzz_wire.judge``), every connection must end within the handshake
timeout plus slack, no exception may escape a server thread (``threading.excepthook``
and the library's ``logger.exception`` are both watched), memory stays bounded,
and a good client keeps being served throughout.
"""
from __future__ import annotations

import random
import selectors
import socket
import threading
import time
from collections import Counter
from typing import Callable

from tests.conformance.harness import EchoServerCase
from tests.conformance.wire import OP_BINARY, Pump, frame, upgrade_request
from tests.fuzz_wire import fuzz_frames, fuzz_request, judge
from tests.test_robustness_faults import rss_kb

HANDSHAKE_ITERATIONS = 3000
FRAME_ITERATIONS = 3000
SEED = 6455
IN_FLIGHT = 48
HANDSHAKE_TIMEOUT = 0.5
SLACK = 4.0
RSS_TOLERANCE_KB = 32 * 1024


class _Conn:
    __slots__ = ("sock", "received", "shut", "started", "payload")

    def __init__(self, sock: socket.socket, payload: bytes) -> None:
        self.sock = sock
        self.payload = payload
        self.received = b""
        self.shut = False
        self.started = time.monotonic()


class FuzzTests(EchoServerCase):
    def configure(self, server):
        super().configure(server)
        server.handshake_timeout = HANDSHAKE_TIMEOUT

    def setUp(self) -> None:
        super().setUp()
        self.thread_errors: list[str] = []
        saved = threading.excepthook

        def hook(args):
            self.thread_errors.append(f"{args.thread.name}: {args.exc_type.__name__}: "
                                      f"{args.exc_value}")
        threading.excepthook = hook
        self.addCleanup(setattr, threading, "excepthook", saved)

    def fuzz(self, make_payload: Callable[[random.Random], bytes], iterations: int,
             seed: int, keep_open: float) -> Counter:
        """Run ``iterations`` connections; a ``keep_open`` fraction does not
        half-close after sending (timeouts, echoes)."""
        rng = random.Random(seed)
        _, good, _ = self.open_pump()
        sel = selectors.DefaultSelector()
        live: dict[socket.socket, _Conn] = {}
        outcomes: Counter = Counter()
        started = 0
        echo = _GoodClient(self, good)
        rss0 = rss_kb()
        deadline = time.monotonic() + 120
        try:
            while (started < iterations or live) and time.monotonic() < deadline:
                while started < iterations and len(live) < IN_FLIGHT:
                    started += 1
                    conn = self._start(make_payload(rng), rng.random() < keep_open)
                    live[conn.sock] = conn
                    sel.register(conn.sock, selectors.EVENT_READ)
                for key, _ in sel.select(0.002):
                    conn = live[key.fileobj]
                    if self._read(conn, outcomes):
                        sel.unregister(conn.sock)
                        conn.sock.close()
                        del live[conn.sock]
                now = time.monotonic()
                for conn in live.values():
                    # Kept-open connections: an upgraded one gets 0.15 s to
                    # see its echoes, a pending one outlives the handshake timeout.
                    if not conn.shut and now - conn.started > (
                            0.15 if b"\r\n\r\n" in conn.received else HANDSHAKE_TIMEOUT + 0.3):
                        _shut(conn)
                    self.assertLess(now - conn.started, HANDSHAKE_TIMEOUT + 1.0 + SLACK,
                                    f"connection never ended; sent {conn.payload[:120]!r}")
                self.server.poll(0)
                echo.step()
        finally:
            for sock in list(live):
                sel.unregister(sock)
                sock.close()
            sel.close()
        self.assertEqual(started, iterations)
        self.assertEqual(live, {}, "fuzz loop ran out of time")
        self.assertEqual(sum(outcomes.values()), iterations)
        self.assertEqual(self.thread_errors, [])
        self.assertEqual(self.logs.exceptions, [])
        self.assertGreater(echo.done, 5, "the good client was not served during the fuzz")
        self.assertLess(rss_kb() - rss0, RSS_TOLERANCE_KB)
        self.assertTrue(self.server.has_peer(self.rec.of("client_connected")[0][0]))
        self.outcomes = outcomes
        return outcomes

    def _start(self, payload: bytes, keep_open: bool) -> _Conn:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        conn = _Conn(sock, payload)
        try:
            sock.sendall(payload)
            if not keep_open:
                _shut(conn)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before all was sent; read it
        sock.setblocking(False)
        return conn

    def _read(self, conn: _Conn, outcomes: Counter) -> bool:
        """True when the connection has ended and was judged."""
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return False
        except ConnectionResetError:
            outcomes[self._judge(conn, True)] += 1
            return True
        if data:
            conn.received += data
            return False
        outcomes[self._judge(conn, False)] += 1
        return True

    def _judge(self, conn: _Conn, was_reset: bool) -> str:
        try:
            return judge(conn.received, was_reset)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nsent: {conn.payload[:300]!r}\n"
                                 f"got: {conn.received[:300]!r}") from None

    def test_handshake_parser_fuzz(self):
        outcomes = self.fuzz(lambda rng: fuzz_request(rng, self.port),
                             HANDSHAKE_ITERATIONS, SEED, keep_open=0.1)
        # The corpus must exercise every branch, not only one.
        for kind in ("upgraded", "refused", "dropped"):
            self.assertGreater(outcomes[kind], 0, outcomes)

    def test_frame_path_fuzz(self):
        outcomes = self.fuzz(lambda rng: upgrade_request(self.port) + fuzz_frames(rng),
                             FRAME_ITERATIONS, SEED + 1, keep_open=0.3)
        self.assertEqual(set(outcomes) - {"upgraded", "reset"}, set(), outcomes)
        self.assertGreater(outcomes["upgraded"], FRAME_ITERATIONS // 2, outcomes)
        echoed = len(self.rec.of("data_received"))
        self.assertGreater(echoed, 0)


def _shut(conn: _Conn) -> None:
    conn.shut = True
    try:
        conn.sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class _GoodClient:
    """Echo round trips on a well-behaved client, one in flight at a time."""

    def __init__(self, test: FuzzTests, pump: Pump) -> None:
        self.test = test
        self.pump = pump
        self.done = 0
        self.want = 0
        self.pending = None

    def step(self) -> None:
        pump = self.pump
        if self.pending is None:
            self.pending = f"good {self.done}".encode()
            self.want = len(pump.events) + 1
            self.test.assertTrue(pump.send(frame(OP_BINARY, self.pending)))
        pump._read(0)
        if len(pump.events) >= self.want:
            self.test.assertEqual(pump.events[self.want - 1], ("binary", self.pending))
            self.pending = None
            self.done += 1


if __name__ == "__main__":
    import unittest
    unittest.main()
