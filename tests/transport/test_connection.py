"""PeerConnection on a socket pair, without a server: send rules, close, waits."""
from __future__ import annotations

import socket
import threading
import unittest

from godot_ws.enums import Error
from godot_ws.protocol.limits import Limits
from godot_ws.transport.connection import ConnectionConfig, PeerConnection
from godot_ws.transport.events import EventQueue
from godot_ws.transport.server_handshake import Upgrade
from godot_ws.transport.writer import BacklogWriter
from tests.support import TIMEOUT


class PeerConnectionTests(unittest.TestCase):
    def setUp(self) -> None:
        self.server_sock, self.client = socket.socketpair()
        self.client.settimeout(TIMEOUT)
        self.writer = BacklogWriter()
        events = EventQueue()
        self.addCleanup(events.close)
        self.cfg = ConnectionConfig(events=events, writer=self.writer,
                                    limits=Limits.from_kb(64, 16, 1, 4), close_timeout=0.2)
        upgrade = Upgrade(b"GET / HTTP/1.1\r\n\r\n", "", [], "127.0.0.1", None, None, b"")
        self.conn = PeerConnection.open(self.cfg, self.server_sock, ("127.0.0.1", 1), upgrade)

    def tearDown(self) -> None:
        self.writer.stop()
        self.server_sock.close()
        self.client.close()

    def test_send_frames_a_message_and_applies_the_output_limits(self):
        self.assertEqual(self.conn.send(b"hi", True), Error.OK)
        self.assertEqual(self.client.recv(10), b"\x81\x02hi")
        self.assertEqual(self.conn.send(b"x" * 1024), Error.ERR_OUT_OF_MEMORY)  # 1 KiB output

    def test_close_once_then_sends_fail(self):
        self.assertTrue(self.conn.close(4001, "bye"))
        self.assertFalse(self.conn.close(1000))
        self.assertEqual(self.client.recv(10), b"\x88\x05\x0f\xa1bye")
        self.assertEqual(self.conn.send(b"late"), Error.FAILED)

    def test_no_close_reply_within_close_timeout_drops_tcp(self):
        self.conn.close()
        self.client.recv(10)
        self.assertEqual(self.client.recv(10), b"")  # aborted by the close deadline
        self.assertTrue(self.conn.aborted)

    def test_stop_close_sends_the_code_and_drops_tcp(self):
        self.conn.stop_close(1001)
        self.assertEqual(self.client.recv(10), b"\x88\x02\x03\xe9")
        self.assertEqual(self.client.recv(10), b"")

    def test_took_wakes_a_waiting_peer_thread(self):
        self.conn.produced = 5
        woke = threading.Event()

        def wait() -> None:
            if self.conn.wait_until(lambda: self.conn.consumed >= 5, TIMEOUT):
                woke.set()
        t = threading.Thread(target=wait)
        t.start()
        self.conn.took(5, 10)
        t.join(TIMEOUT)
        self.assertTrue(woke.is_set())
        self.assertFalse(self.conn.wait_until(lambda: False, 0.05))  # bounded

    def test_abort_ends_a_wait(self):
        t = threading.Thread(target=self.conn.wait_until, args=(lambda: False, None))
        t.start()
        self.conn.abort()
        t.join(TIMEOUT)
        self.assertFalse(t.is_alive())

    def test_sends_fail_once_aborted_before_the_end_is_reported(self):
        # The peer thread reports the end later; the socket is already shut down.
        self.conn.abort()
        self.assertEqual(self.conn.send(b"after"), Error.FAILED)
        self.assertEqual(self.client.recv(10), b"", "nothing was written after the abort")

    def test_sends_fail_once_a_write_broke_the_socket(self):
        self.client.close()
        with self.conn.lock:
            self.conn.out.break_locked()
        self.assertEqual(self.conn.send(b"after"), Error.FAILED)


if __name__ == "__main__":
    unittest.main()
