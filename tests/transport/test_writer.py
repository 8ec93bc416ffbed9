"""The backlog writer thread: drains backlogs when sockets become writable,
fires deadlines in order, drops stalled peers."""
from __future__ import annotations

import socket
import threading
import time
import unittest
from types import SimpleNamespace

from godot_ws.transport.writer import BacklogWriter
from tests.support import TIMEOUT


class _Conn:
    """What the writer uses of a connection: a socket, a backlog, deadlines."""

    def __init__(self, stall_timeout: float = 0.0) -> None:
        self.sock, self.other = socket.socketpair()
        self.sock.setblocking(False)
        self.cfg = SimpleNamespace(output_stall_timeout=stall_timeout)
        self.peer_id = 7
        self.pending = b""
        self.fired: list[str] = []
        self.flushed = threading.Event()
        self.aborted = threading.Event()
        self.stall = 0.0

    def flush_backlog(self) -> bool:
        if self.pending:
            try:
                n = self.sock.send(self.pending)
            except BlockingIOError:
                n = 0
            self.pending = self.pending[n:]
        if not self.pending:
            self.flushed.set()
            return True
        return False

    def on_deadline(self, kind: str) -> None:
        self.fired.append(kind)

    def stalled_for(self) -> float:
        return self.stall

    def abort(self) -> None:
        self.aborted.set()

    def close(self) -> None:
        self.sock.close()
        self.other.close()


class BacklogWriterTests(unittest.TestCase):
    def setUp(self) -> None:
        self.writer = BacklogWriter()
        self.conns: list[_Conn] = []

    def tearDown(self) -> None:
        self.writer.stop()
        for c in self.conns:
            c.close()

    def conn(self, **kw) -> _Conn:
        c = _Conn(**kw)
        self.conns.append(c)
        return c

    def test_backlog_is_drained_once_the_reader_reads(self):
        c = self.conn()
        while True:  # fill the socket, keep the rest as backlog
            try:
                c.sock.send(b"x" * 65536)
            except BlockingIOError:
                break
        c.pending = b"y" * 100000
        self.writer.watch(c)  # type: ignore[arg-type]
        self.assertFalse(c.flushed.wait(0.2))
        got = 0
        c.other.settimeout(0.1)  # short: the last bytes may be read before flushed is set
        end = time.monotonic() + TIMEOUT
        while not c.flushed.is_set() and time.monotonic() < end:
            try:
                got += len(c.other.recv(1 << 20))
            except socket.timeout:
                pass
        self.assertTrue(c.flushed.wait(TIMEOUT))
        self.assertEqual(c.pending, b"")

    def test_deadlines_fire_in_time_order(self):
        c = self.conn()
        now = time.monotonic()
        self.writer.add_deadline(c, now + 0.2, "second")  # type: ignore[arg-type]
        self.writer.add_deadline(c, now + 0.05, "first")  # type: ignore[arg-type]
        end = time.monotonic() + TIMEOUT
        while len(c.fired) < 2 and time.monotonic() < end:
            time.sleep(0.01)
        self.assertEqual(c.fired, ["first", "second"])

    def test_a_stalled_backlog_drops_the_peer(self):
        c = self.conn(stall_timeout=0.5)
        while True:
            try:
                c.sock.send(b"x" * 65536)
            except BlockingIOError:
                break
        c.pending = b"y"
        c.stall = 1.0  # no progress for longer than the limit
        with self.assertLogs("godot_ws", "WARNING"):
            self.writer.watch(c)  # type: ignore[arg-type]
            self.assertTrue(c.aborted.wait(TIMEOUT))
            c.aborted.clear()
        # Warned and aborted once: no longer watched, though never forgotten.
        self.assertFalse(c.aborted.wait(1.5))  # bounded: the writer checks each second

    def test_forget_stops_watching(self):
        c = self.conn()
        while True:
            try:
                c.sock.send(b"x" * 65536)
            except BlockingIOError:
                break
        c.pending = b"y"
        self.writer.watch(c)  # type: ignore[arg-type]
        self.writer.forget(c)  # type: ignore[arg-type]
        c.other.setblocking(False)
        try:
            while c.other.recv(1 << 20):
                pass
        except BlockingIOError:
            pass
        self.assertFalse(c.flushed.wait(0.3))  # bounded wait: nothing drains a forgotten peer


if __name__ == "__main__":
    unittest.main()
