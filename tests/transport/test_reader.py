"""The peer thread's read loop over real sockets: answer, then close; close codes."""
from __future__ import annotations

import socket
import struct
import types
import unittest

from wsproto.events import BytesMessage, TextMessage

from godot_ws.protocol.limits import DEFAULT_LIMITS
from godot_ws.transport import reader
from tests.conformance.wire import ServerFrames
from tests.support import ServerTestCase, echo_same_type, masked_frame, read_all

OP_TEXT, OP_BINARY, OP_CLOSE = 0x1, 0x2, 0x8


def server_events(data: bytes) -> list[tuple]:
    """What the server sent, parsed strictly (``("text", payload)``, ``("close", code, reason)``)."""
    frames = ServerFrames()
    frames.feed(data)
    return frames.events


class AnswerThenCloseTests(ServerTestCase):
    def configure(self, server):
        server.close_timeout = 1.0
        server.connect("data_received", lambda pid: echo_same_type(server, pid))

    def test_replies_to_messages_before_a_protocol_error_go_out_before_the_close(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        bad_opcode = masked_frame(0x3, b"x")
        c.send_raw(masked_frame(OP_TEXT, b"one") + masked_frame(OP_BINARY, b"two")
                   + bad_opcode + masked_frame(OP_TEXT, b"after the error"))
        self.assertEqual(self.rec.wait("client_disconnected"), [(pid, False, True)])
        self.assertEqual(server_events(c.recv_raw_until_eof()),
                         [("text", b"one"), ("binary", b"two"), ("close", 1002, b"")])
        self.assertEqual(len(self.rec.of("data_received")), 2)  # nothing after the error

    def test_too_big_message_after_a_valid_one(self):
        self.server.stop()
        self.server.set_buffers(1, 16, 64, 64)
        self.assertEqual(self.server.listen(0), 0)
        self.port = self.server.get_port()
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        c.send_raw(masked_frame(OP_TEXT, b"fits") + masked_frame(OP_BINARY, b"x" * 2000))
        self.assertEqual(self.rec.wait("client_disconnected"), [(pid, False, True)])
        self.assertEqual(server_events(c.recv_raw_until_eof()),
                         [("text", b"fits"), ("close", 1009, b"")])

    def test_without_poll_the_close_still_comes_within_close_timeout(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        c.send_raw(masked_frame(OP_TEXT, b"unanswered") + masked_frame(0x3, b""))
        # Nobody polls: the peer thread sends the close itself after close_timeout.
        self.assertEqual(server_events(read_all(c.sock, 10.0)), [("close", 1002, b"")])
        self.assertEqual(self.rec.wait("client_disconnected"), [(pid, False, True)])
        # The message before the error is still delivered (and its late reply refused).
        self.assertEqual(self.rec.of("data_received"), [(pid,)])


class CloseCodeTests(ServerTestCase):
    def test_registered_codes_1012_to_1014_are_accepted_and_echoed(self):
        for code in (1012, 1013, 1014):
            c = self.ws()
            c.send_raw(masked_frame(OP_CLOSE, struct.pack("!H", code) + b"later"))
            self.assertEqual(server_events(c.recv_raw_until_eof()), [("close", code, b"later")])
        requests = self.rec.wait("client_close_request", 3)
        self.assertEqual([r[1:] for r in requests], [(1012, "later"), (1013, "later"),
                                                     (1014, "later")])

    def test_reserved_code_fails_with_1002(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        c.send_raw(masked_frame(OP_CLOSE, struct.pack("!H", 1015)))
        self.assertEqual(server_events(c.recv_raw_until_eof()), [("close", 1002, b"")])
        self.assertEqual(self.rec.wait("client_disconnected"), [(pid, False, True)])
        self.assertEqual(self.rec.of("client_close_request"), [])

    def test_messages_in_the_same_read_as_a_close_are_delivered_first(self):
        self.server.connect("data_received", lambda pid: None)
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        c.send_raw(masked_frame(OP_TEXT, b"last words")
                   + masked_frame(OP_CLOSE, struct.pack("!H", 1000)))
        self.assertEqual(self.rec.wait("client_disconnected"), [(pid, True, True)])
        order = [name for name, *_ in self.rec.calls
                 if name in ("data_received", "client_close_request")]
        self.assertEqual(order, ["data_received", "client_close_request"])
        self.assertFalse(self.server.has_peer(pid))
        self.assertNotIsInstance(c.next_event(1.0), (TextMessage, BytesMessage))



class FirstReadTests(unittest.TestCase):
    """A read that fills the idle buffer continues into the big buffer only as
    far as the peer's input budget has room."""

    def test_no_room_left_reads_no_more_than_the_idle_size(self):
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        b.sendall(bytes(4000))
        conn = types.SimpleNamespace(
            sock=a, session=types.SimpleNamespace(receiving_message=False),
            produced=0, consumed=0, produced_bytes=0, consumed_bytes=0,
            cfg=types.SimpleNamespace(limits=DEFAULT_LIMITS))
        conn.produced_bytes = conn.cfg.limits.max_message_size  # the budget is used up
        buf = reader.ReadBuffer()
        got = reader._recv(conn, buf)  # type: ignore[arg-type]
        assert got is not None
        self.assertEqual(len(got), reader._IDLE_RECV_SIZE)
        self.assertEqual(len(a.recv(8192)), 4000 - reader._IDLE_RECV_SIZE, "the rest stays in TCP")


if __name__ == "__main__":
    unittest.main()
