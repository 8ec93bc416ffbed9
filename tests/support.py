"""Shared test helpers: a server on 127.0.0.1:0, bounded polling, raw clients.

Raw clients use wsproto (client side) for well-formed frames; only tests of
malformed input build bytes by hand.
"""
from __future__ import annotations

import base64
import contextlib
import logging
import os
import socket
import struct
import time
import unittest
from typing import Callable

from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, TextMessage

from godot_ws.server import WebSocketServer
from godot_ws.testing import thread_count

TIMEOUT = 10.0
SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def poll_until(server: WebSocketServer, predicate: Callable[[], bool],
               timeout: float = TIMEOUT, step: float = 0.05) -> bool:
    """Poll ``server`` until ``predicate()`` holds; False after ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        server.poll(step)
    return predicate()


class Recorder:
    """Connects to every raw-mode (or multiplayer) signal and records the calls."""

    def __init__(self, server: WebSocketServer, signals=None) -> None:
        self.calls: list[tuple] = []
        self.server = server
        for name in signals or ("client_connected", "client_disconnected",
                                "client_close_request", "data_received"):
            server.connect(name, self._make(name))

    def _make(self, name: str):
        def record(*args):
            extra = ()
            if name == "client_disconnected":
                extra = (self.server.has_peer(args[0]),)
            self.calls.append((name,) + args + extra)
        return record

    def of(self, name: str) -> list[tuple]:
        return [c[1:] for c in self.calls if c[0] == name]

    def wait(self, name: str, count: int = 1, timeout: float = TIMEOUT) -> list[tuple]:
        ok = poll_until(self.server, lambda: len(self.of(name)) >= count, timeout)
        if not ok:
            raise AssertionError(f"{name} fired {len(self.of(name))} times, wanted {count}; "
                                 f"calls: {self.calls[-10:]}")
        return self.of(name)


class ServerTestCase(unittest.TestCase):
    """Starts a raw-mode server per test; checks threads and fds come back."""

    mp = False
    protocols: tuple[str, ...] = ()

    def setUp(self) -> None:
        self.threads_before = thread_count()
        self.fds_before = fd_count()
        self.server = WebSocketServer()
        self.configure(self.server)
        self.assertEqual(self.server.listen(0, self.protocols, self.mp), 0)
        self.port = self.server.get_port()
        self.rec = Recorder(self.server, self.signals())
        self.clients: list[socket.socket] = []

    def signals(self):
        if self.mp:
            return ("peer_connected", "peer_disconnected", "peer_packet", "client_close_request")
        return None

    def configure(self, server: WebSocketServer) -> None:
        pass

    def tearDown(self) -> None:
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass
        self.server.stop()
        end = time.monotonic() + 5
        while time.monotonic() < end and thread_count() > self.threads_before:
            time.sleep(0.01)
        self.assertLessEqual(thread_count(), self.threads_before, "threads leaked")
        self.assertLessEqual(fd_count(), self.fds_before, "file descriptors leaked")

    # -- raw clients ------------------------------------------------------------

    def raw(self, timeout: float = TIMEOUT) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        self.clients.append(s)
        return s

    def ws(self, protocols: str | None = None, extra: bytes = b"", path: str = "/chat") -> RawClient:
        """A raw socket that completed the upgrade (checked), with a wsproto parser."""
        s = self.raw()
        headers = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                   "Upgrade: websocket", "Connection: Upgrade",
                   f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
                   "Sec-WebSocket-Version: 13"]
        if protocols is not None:
            headers.append(f"Sec-WebSocket-Protocol: {protocols}")
        s.sendall(("\r\n".join(headers) + "\r\n\r\n").encode() + extra)
        head, rest = read_http_head(s)
        if not head.startswith(b"HTTP/1.1 101 "):
            raise AssertionError(f"upgrade refused: {head!r}")
        return RawClient(s, head, rest)


def read_http_head(s: socket.socket, limit: float = TIMEOUT) -> tuple[bytes, bytes]:
    buf = b""
    end = time.monotonic() + limit
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > end:
            raise AssertionError("no HTTP answer in time")
        chunk = s.recv(4096)
        if not chunk:
            return buf, b""
        buf += chunk
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


def read_all(s: socket.socket, limit: float = TIMEOUT) -> bytes:
    """Everything until EOF (or reset)."""
    s.settimeout(limit)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    except ConnectionResetError:
        return out


def masked_frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0,
                 mask: bool = True) -> bytes:
    """A frame built by hand: only for tests of malformed input."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if n <= 125:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + body


class RawClient:
    """A client socket after the upgrade: wsproto frames out, parsed frames in."""

    def __init__(self, sock: socket.socket, head: bytes, rest: bytes) -> None:
        self.sock = sock
        self.head = head
        self.conn = Connection(ConnectionType.CLIENT)
        self.pending: list = []
        self.raw_in = bytearray(rest)
        if rest:
            self.conn.receive_data(rest)

    def send(self, data, fin: bool = True) -> None:
        self.sock.sendall(self.conn.send(Message(data=data, message_finished=fin)))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def ping(self, payload: bytes) -> None:
        self.sock.sendall(self.conn.send(Ping(payload)))

    def close(self, code: int | None = 1000, reason: str | None = None) -> None:
        self.sock.sendall(self.conn.send(CloseConnection(code, reason)))

    def next_event(self, timeout: float = TIMEOUT):
        """The next wsproto event (messages joined), or None on EOF/timeout."""
        end = time.monotonic() + timeout
        parts: list = []
        while True:
            while self.pending:
                e = self.pending.pop(0)
                if isinstance(e, (BytesMessage, TextMessage)):
                    parts.append(e.data)
                    if e.message_finished:
                        joined = (b"" if isinstance(e, BytesMessage) else "").join(parts)
                        return type(e)(data=joined)
                    continue
                return e
            remaining = end - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                return None
            if not data:
                return None
            self.raw_in += data
            self.conn.receive_data(data)
            self.pending.extend(self.conn.events())

    def recv_raw_until_eof(self, timeout: float = TIMEOUT) -> bytes:
        return bytes(self.raw_in) + read_all(self.sock, timeout)


def echo_same_type(server: WebSocketServer, peer_id: int) -> None:
    """Send every queued packet of ``peer_id`` back with its own frame type."""
    from godot_ws.enums import WriteMode
    peer = server.get_peer(peer_id)
    while peer.get_available_packet_count():
        data = peer.get_packet()
        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT if peer.was_string_packet()
                            else WriteMode.WRITE_MODE_BINARY)
        peer.put_packet(data)


@contextlib.contextmanager
def no_logs(test: unittest.TestCase, logger: str = "godot_ws", level="WARNING"):
    """``assertNoLogs`` for Python 3.9 too (it arrived in 3.10)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level if isinstance(level, int) else getattr(logging, level))
    handler.emit = records.append  # type: ignore[assignment]
    log = logging.getLogger(logger)
    old_level = log.level
    log.addHandler(handler)
    if log.getEffectiveLevel() > handler.level:
        log.setLevel(handler.level)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
    test.assertEqual([r.getMessage() for r in records], [], "unexpected log lines")


def default_signals() -> None:
    """``preexec_fn`` for a child that is stopped with Ctrl-C: a child inherits
    an ignored SIGINT (a background job of a non-interactive shell, a CI
    runner), and Python then never raises KeyboardInterrupt in it."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)
