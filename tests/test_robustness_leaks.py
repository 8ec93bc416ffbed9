"""Leaks: thousands of connect / exchange / disconnect cycles leave the thread
count, open file descriptors and RSS where they started.

Clients run on ``CONCURRENCY`` threads of raw sockets while the test thread
polls an echo server. Cycles rotate through the ways a connection ends (clean
close, FIN, RST, a protocol error the server fails, a refused handshake) so
that each clean-up path is exercised. Tolerances: threads and fds exact (after
a bounded settle), RSS ``RSS_TOLERANCE_KB``.
"""
from __future__ import annotations

import socket
import threading
import time
import unittest
from typing import Callable

from godot_ws.crypto import X509Certificate
from godot_ws.server import WebSocketServer
from tests.conformance.harness import CaptureLogs, echo_all
from tests.conformance.wire import (
    OP_BINARY,
    OP_CLOSE,
    OP_TEXT,
    ServerFrames,
    close_payload,
    frame,
    upgrade_request,
)
from tests.support import fd_count, read_http_head, thread_count
from tests.test_robustness_faults import reset, rss_kb

PLAIN_CYCLES = 2000
TLS_CYCLES = 2000
CONCURRENCY = 8
RSS_TOLERANCE_KB = 8 * 1024
_IO_TIMEOUT = 10.0

#: Kinds of ending, rotated over the cycles.
ENDINGS = ("close", "fin", "rst", "protocol_error", "refused")


def _recv_event(sock, frames: ServerFrames, count: int) -> None:
    while len(frames.events) < count:
        data = sock.recv(65536)
        if not data:
            raise AssertionError("server closed early")
        frames.feed(data)


def _read_to_eof(sock, frames: ServerFrames | None) -> None:
    """Read until EOF; ``frames`` None discards (after a TLS socket's shutdown
    the bytes are raw TLS records)."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            if frames is not None:
                frames.feed(data)
    except ConnectionResetError:
        return


def one_cycle(connect: Callable[[], socket.socket], port: int, i: int) -> None:
    """Connect, exchange one message, end the connection the ``i``-th way."""
    ending = ENDINGS[i % len(ENDINGS)]
    sock = connect()
    try:
        if ending == "refused":
            sock.sendall(b"GET / HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
            head, _ = read_http_head(sock, _IO_TIMEOUT)
            assert head.startswith(b"HTTP/1.1 400 "), head
            _read_to_eof(sock, None)
            return
        sock.sendall(upgrade_request(port))
        head, rest = read_http_head(sock, _IO_TIMEOUT)
        assert head.startswith(b"HTTP/1.1 101 "), head
        frames = ServerFrames()
        frames.feed(rest)
        payload = f"cycle {i}".encode()
        sock.sendall(frame(OP_TEXT, payload))
        _recv_event(sock, frames, 1)
        assert frames.events[0] == ("text", payload), frames.events
        if ending == "close":
            sock.sendall(frame(OP_CLOSE, close_payload(1000)))
            _read_to_eof(sock, frames)
            assert frames.events[-1][:2] == ("close", 1000), frames.events
        elif ending == "fin":
            sock.shutdown(socket.SHUT_WR)
            _read_to_eof(sock, None)
        elif ending == "rst":
            reset(sock)
            return
        else:
            sock.sendall(frame(OP_BINARY, b"unmasked", masked=False))
            _read_to_eof(sock, frames)
            assert frames.events[-1][:2] == ("close", 1002), frames.events
    finally:
        sock.close()


class LeakChecks:
    """The leak test, mixed into one TestCase per transport below."""

    cycles = PLAIN_CYCLES
    warmup = 64      # cycles before the baseline: caches and allocator pools fill

    def make_server(self) -> WebSocketServer:
        return WebSocketServer()

    def connector(self, port: int) -> Callable[[], socket.socket]:
        return lambda: socket.create_connection(("127.0.0.1", port), timeout=_IO_TIMEOUT)

    def run_cycles(self, server: WebSocketServer, connect, count: int, start: int) -> None:
        """``count`` cycles on CONCURRENCY client threads; this thread polls."""
        next_i = [start]
        lock = threading.Lock()
        errors: list[BaseException] = []
        port = server.get_port()

        def worker():
            while not errors:
                with lock:
                    i = next_i[0]
                    if i >= start + count:
                        return
                    next_i[0] += 1
                try:
                    one_cycle(connect, port, i)
                except BaseException as exc:  # reported on the test thread
                    errors.append(exc)
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(CONCURRENCY)]
        for t in threads:
            t.start()
        end = time.monotonic() + 120
        while any(t.is_alive() for t in threads) and time.monotonic() < end:
            server.poll(0.01)
        for t in threads:
            t.join(_IO_TIMEOUT)
        self.assertFalse(any(t.is_alive() for t in threads), "client threads hung")
        if errors:
            raise errors[0]

    def settle(self, server: WebSocketServer, threads: int, fds: int) -> None:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            server.poll(0.02)
            if (thread_count() <= threads and fd_count() <= fds
                    and not server.get_peer_ids()):
                return

    def test_cycles_leave_threads_fds_and_rss_unchanged(self):
        with CaptureLogs():
            server = self.make_server()
            server.connect("data_received", lambda pid: echo_all(server, pid))
            connected: list[int] = []
            server.connect("client_connected", lambda pid, proto: connected.append(pid))
            self.assertEqual(server.listen(0), 0)
            try:
                connect = self.connector(server.get_port())
                self.run_cycles(server, connect, self.warmup, 0)
                self.settle(server, thread_count(), fd_count())
                threads0, fds0, rss0 = thread_count(), fd_count(), rss_kb()
                self.run_cycles(server, connect, self.cycles, self.warmup)
                self.settle(server, threads0, fds0)
                threads1, fds1, rss1 = thread_count(), fd_count(), rss_kb()
            finally:
                server.stop()
        self.figures = {"cycles": self.cycles, "threads": threads1 - threads0,
                        "fds": fds1 - fds0, "rss_kb": rss1 - rss0}
        self.assertEqual(server.get_peer_ids(), [])
        upgraded = sum(1 for i in range(self.warmup + self.cycles)
                       if ENDINGS[i % len(ENDINGS)] != "refused")
        self.assertEqual(len(connected), upgraded)
        self.assertLessEqual(threads1, threads0, self.figures)
        self.assertLessEqual(fds1, fds0, self.figures)
        self.assertLess(rss1 - rss0, RSS_TOLERANCE_KB, self.figures)


class PlainLeakTests(LeakChecks, unittest.TestCase):
    cycles = PLAIN_CYCLES


class TLSLeakTests(LeakChecks, unittest.TestCase):
    cycles = TLS_CYCLES
    warmup = 500     # OpenSSL's first few hundred handshakes grow its pools

    def make_server(self) -> WebSocketServer:
        from tests.transport.test_tls_server import chain
        c = chain()
        server = WebSocketServer()
        server.private_key = c.leaf_crypto_key()
        server.ssl_certificate = X509Certificate.from_cryptography(c.leaf_cert)
        server.ca_chain = X509Certificate.from_cryptography(c.inter_cert)
        return server

    def connector(self, port: int) -> Callable[[], socket.socket]:
        from tests.transport.test_tls_server import client_context
        ctx = client_context()

        def connect() -> socket.socket:
            raw = socket.create_connection(("127.0.0.1", port), timeout=_IO_TIMEOUT)
            return ctx.wrap_socket(raw, server_hostname="localhost")
        return connect


if __name__ == "__main__":
    unittest.main()
