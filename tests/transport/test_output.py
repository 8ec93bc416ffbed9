"""The write path over a real socket pair: order, backlog, cork, breakage, close_notify."""
from __future__ import annotations

import socket
import threading
import unittest

from godot_ws.protocol.limits import Limits
from godot_ws.transport.output import Cork, Output
from tests.support import TIMEOUT


class _Watcher:
    def __init__(self) -> None:
        self.watched: list[object] = []

    def watch(self, conn: object) -> None:
        self.watched.append(conn)


class _FakeTLS:
    """Encrypts as identity; records when close_notify is queued."""

    def __init__(self) -> None:
        self.shutdowns = 0
        self._out: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._out.append(bytes(data))

    def outgoing(self) -> bytes:
        out, self._out = b"".join(self._out), []
        return out

    def shutdown(self) -> None:
        self.shutdowns += 1
        self._out.append(b"<close_notify>")


class OutputTests(unittest.TestCase):
    def setUp(self) -> None:
        self.a, self.b = socket.socketpair()
        self.a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        self.b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.lock = threading.Lock()
        self.watcher = _Watcher()
        self.cork = Cork()
        self.broken: list[bool] = []
        self.out = Output(self.lock, self.a, "conn", self.watcher, self.cork,
                          lambda: self.broken.append(True))

    def tearDown(self) -> None:
        self.a.close()
        self.b.close()

    def read_exactly(self, n: int) -> bytes:
        self.b.settimeout(TIMEOUT)
        data = b""
        while len(data) < n:
            chunk = self.b.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def fill_until_backlogged(self) -> bytes:
        sent = b""
        with self.lock:
            while not self.out.backlog:
                chunk = bytes([len(sent) % 251]) * 8192
                self.out.write_locked((chunk,))
                sent += chunk
        return sent

    def test_locked_methods_assert_their_lock(self):
        with self.assertRaises(AssertionError):
            self.out.write_locked((b"x",))
        with self.assertRaises(AssertionError):
            self.out.queued_locked()
        with self.assertRaises(AssertionError):
            self.out.write_frame_locked(b"H", b"x")
        with self.assertRaises(AssertionError):
            self.out.full_locked(Limits.from_kb(64, 1024, 64, 1024), 1)

    def test_backlog_keeps_order_and_is_drained_by_flush(self):
        sent = self.fill_until_backlogged()
        self.assertEqual(self.watcher.watched, ["conn"])
        with self.lock:
            self.out.write_locked((b"tail",))  # behind the backlog, never before it
            packets, nbytes = self.out.queued_locked()
        self.assertGreater(nbytes, 0)
        got = b""
        while not self.out.flush():
            got += self.b.recv(65536)
        got += self.read_exactly(len(sent) + 4 - len(got))
        self.assertEqual(got, sent + b"tail")
        self.assertEqual(self.out.buffered(), 0)
        self.assertTrue(self.out.wait_drained(0))

    def test_cork_holds_the_dispatching_threads_frames_until_end(self):
        self.cork.begin()
        with self.lock:
            self.out.write_locked((b"one", b"two"))
            self.assertEqual(self.out.queued_locked(), (1, 6))
        self.assertEqual(self.cork.dirty, [self.out])
        self.b.setblocking(False)
        with self.assertRaises(BlockingIOError):
            self.b.recv(10)
        # Another thread's frame (a pong) waits behind the corked ones.
        t = threading.Thread(target=lambda: self._write(b"pong"))
        t.start()
        t.join(TIMEOUT)
        self.cork.end()
        self.b.setblocking(True)
        self.assertEqual(self.read_exactly(10), b"onetwopong")

    def test_frames_go_straight_out_corked_or_behind_the_backlog_in_order(self):
        with self.lock:
            self.out.write_frame_locked(b"H1", b"direct")
        self.assertEqual(self.read_exactly(8), b"H1direct")
        self.cork.begin()
        with self.lock:
            self.out.write_frame_locked(b"H2", b"corked")
            self.out.write_frame_locked(b"H3", b"")  # an empty message still counts
            self.assertEqual(self.out.queued_locked(), (2, 10))
        self.assertEqual(self.cork.dirty, [self.out])
        self.cork.end()
        self.assertEqual(self.read_exactly(10), b"H2corkedH3")
        sent = self.fill_until_backlogged()
        with self.lock:
            self.out.write_frame_locked(b"H4", b"behind")
        got = b""
        while not self.out.flush():
            got += self.b.recv(65536)
        got += self.read_exactly(len(sent) + 8 - len(got))
        self.assertEqual(got, sent + b"H4behind")

    def test_full_counts_the_backlog_and_the_cork(self):
        limits = Limits.from_kb(64, 1024, 1, 2)  # output: 1 KiB, 2 packets (Godot's rule)
        with self.lock:
            self.assertFalse(self.out.full_locked(limits, 1000))
            self.assertTrue(self.out.full_locked(limits, 1024))
        self.cork.begin()
        with self.lock:
            self.out.write_frame_locked(b"H", b"x" * 500)
            self.assertFalse(self.out.full_locked(limits, 500))
            self.assertTrue(self.out.full_locked(limits, 600))
            self.out.write_frame_locked(b"H", b"")
            self.assertTrue(self.out.full_locked(limits, 0))  # two packets queued
        self.cork.end()
        self.assertEqual(self.read_exactly(502), b"H" + b"x" * 500 + b"H")
        with self.lock:
            self.assertFalse(self.out.full_locked(limits, 1000))

    def _write(self, data: bytes) -> None:
        with self.lock:
            self.out.write_locked((data,))

    def test_a_failed_write_breaks_the_connection_and_drops_its_queue(self):
        self.fill_until_backlogged()
        self.b.close()
        self.b = socket.socket()
        for _ in range(100):
            if self.out.flush() or self.broken:
                break
        self.assertEqual(self.broken, [True])
        self.assertTrue(self.out.broken)
        self.assertEqual(self.out.buffered(), 0)

    def test_close_notify_only_after_everything_before_it(self):
        tls = _FakeTLS()
        self.out.tls = tls  # type: ignore[assignment]
        sent = self.fill_until_backlogged()
        with self.lock:
            self.out.close_tls_locked()  # backlog not empty: nothing may overtake it
        self.assertEqual(tls.shutdowns, 0)
        got = b""
        while not self.out.flush():
            got += self.b.recv(65536)
        got += self.read_exactly(len(sent) - len(got))
        with self.lock:
            self.out.close_tls_locked()
        self.assertEqual(got, sent)
        self.assertEqual(self.read_exactly(14), b"<close_notify>")

    def test_no_close_notify_after_a_broken_write(self):
        tls = _FakeTLS()
        self.out.tls = tls  # type: ignore[assignment]
        with self.lock:
            self.out.break_locked()
            self.out.close_tls_locked()
        self.assertEqual(tls.shutdowns, 0)


if __name__ == "__main__":
    unittest.main()
