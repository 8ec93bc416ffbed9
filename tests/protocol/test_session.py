"""The sans-I/O WebSocket session, driven byte by byte without sockets."""
from __future__ import annotations

import struct
import unittest
import zlib

from godot_ws.protocol.deflate import negotiate
from godot_ws.protocol.limits import DEFAULT_LIMITS, Limits
from godot_ws.protocol.session import (
    CloseReceived,
    Message,
    PongReceived,
    ProtocolError,
    Session,
    State,
    valid_close_code,
)
from tests.conformance.wire import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    close_payload,
    frame,
)


def feed(session: Session, data: bytes, step: int = 0) -> list:
    """All events of ``data``, fed whole or ``step`` bytes at a time."""
    if not step:
        return session.receive(data)
    events = []
    for i in range(0, len(data), step):
        events += session.receive(data[i:i + step])
    return events


class MessageTests(unittest.TestCase):
    def test_text_and_binary_whole_and_byte_by_byte(self):
        wire = frame(OP_TEXT, "héllo".encode()) + frame(OP_BINARY, b"\x00\xff")
        for step in (0, 1, 3):
            s = Session(DEFAULT_LIMITS)
            self.assertEqual(feed(s, wire, step),
                             [Message("héllo".encode(), True), Message(b"\x00\xff", False)])
            self.assertEqual(s.data_to_send(), [])

    def test_fragments_with_a_ping_between_are_one_message(self):
        wire = (frame(OP_TEXT, b"ab", fin=False) + frame(OP_PING, b"p")
                + frame(OP_CONT, b"", fin=False) + frame(OP_CONT, b"cd"))
        for step in (0, 1):
            s = Session(DEFAULT_LIMITS)
            self.assertEqual(feed(s, wire, step), [Message(b"abcd", True)])
            self.assertEqual(s.data_to_send(), [b"\x8a\x01p"])

    def test_receiving_message_while_a_message_is_partly_in(self):
        s = Session(DEFAULT_LIMITS)
        s.receive(frame(OP_BINARY, b"x" * 10, fin=False))
        self.assertTrue(s.receiving_message)
        self.assertEqual(s.receive(frame(OP_CONT, b"y")), [Message(b"x" * 10 + b"y", False)])
        self.assertFalse(s.receiving_message)

    def test_message_over_the_limit_fails_with_1009_after_what_came_before(self):
        limits = Limits.from_kb(1, 16, 64, 1024)  # 1 KiB messages
        s = Session(limits)
        wire = frame(OP_BINARY, b"ok") + frame(OP_BINARY, b"x" * 1025) + frame(OP_BINARY, b"no")
        events = s.receive(wire)
        self.assertEqual(events[0], Message(b"ok", False))
        self.assertEqual(type(events[1]), ProtocolError)
        self.assertEqual(events[1].code, 1009)
        self.assertEqual(len(events), 2)  # nothing after the error
        self.assertEqual(s.failure_close(), b"\x88\x02\x03\xf1")

    def test_fragments_over_the_limit_fail_too(self):
        s = Session(Limits.from_kb(1, 16, 64, 1024))
        events = s.receive(frame(OP_BINARY, b"x" * 600, fin=False) + frame(OP_CONT, b"y" * 600))
        self.assertEqual([type(e) for e in events], [ProtocolError])
        self.assertEqual(events[0].code, 1009)


class PingTests(unittest.TestCase):
    def test_ping_is_answered_and_pong_reported(self):
        s = Session(DEFAULT_LIMITS)
        self.assertEqual(s.receive(frame(OP_PING, b"hi") + frame(OP_PONG, b"yo")),
                         [PongReceived(b"yo")])
        self.assertEqual(s.data_to_send(), [b"\x8a\x02hi"])

    def test_pongs_stay_within_the_output_limits(self):
        limits = Limits.from_kb(64, 1024, 1, 4)  # 4 output packets
        s = Session(limits)
        s.receive(b"".join(frame(OP_PING, b"p") for _ in range(10)))
        self.assertEqual(len(s.data_to_send()), 4)
        s.receive(frame(OP_PING, b"p"), queued_packets=4, queued_bytes=12)
        self.assertEqual(s.data_to_send(), [])

    def test_no_pong_after_our_close(self):
        s = Session(DEFAULT_LIMITS)
        s.close(1000)
        s.receive(frame(OP_PING, b"p"))
        self.assertEqual(s.data_to_send(), [])


class CloseTests(unittest.TestCase):
    def test_peer_close_is_reported_with_godot_mappings_and_echoed(self):
        s = Session(DEFAULT_LIMITS)
        events = s.receive(frame(OP_CLOSE, close_payload(4000, b"bye\x00junk")))
        self.assertEqual(events, [CloseReceived(4000, "bye")])
        self.assertEqual(s.data_to_send(), [b"\x88\x0a\x0f\xa0bye\x00junk"])
        self.assertIs(s.state, State.CLOSED)
        self.assertTrue(s.clean)
        self.assertEqual(s.receive(frame(OP_TEXT, b"late")), [])  # nothing after the close

    def test_close_without_code_reports_0_and_answers_empty(self):
        s = Session(DEFAULT_LIMITS)
        self.assertEqual(s.receive(frame(OP_CLOSE)), [CloseReceived(0, "")])
        self.assertEqual(s.data_to_send(), [b"\x88\x00"])

    def test_registered_codes_are_accepted(self):
        for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                     3000, 4999):
            s = Session(DEFAULT_LIMITS)
            self.assertEqual(s.receive(frame(OP_CLOSE, struct.pack("!H", code))),
                             [CloseReceived(code, "")], code)

    def test_reserved_and_unknown_codes_fail_with_1002(self):
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535):
            s = Session(DEFAULT_LIMITS)
            events = s.receive(frame(OP_CLOSE, struct.pack("!H", code)))
            self.assertEqual([(type(e), e.code) for e in events], [(ProtocolError, 1002)], code)
            self.assertFalse(valid_close_code(code))

    def test_bad_close_payloads(self):
        for payload, code in ((b"\x03", 1002), (struct.pack("!H", 1000) + b"\xff", 1007)):
            s = Session(DEFAULT_LIMITS)
            self.assertEqual([e.code for e in s.receive(frame(OP_CLOSE, payload))], [code])

    def test_our_close_then_the_answer(self):
        s = Session(DEFAULT_LIMITS)
        self.assertEqual(s.close(1000, "done"), b"\x88\x06\x03\xe8done")
        self.assertIs(s.state, State.CLOSING)
        self.assertEqual(s.close(1000), b"")  # once
        # Data after our close is ignored; the answer completes the handshake quietly.
        self.assertEqual(s.receive(frame(OP_TEXT, b"x") + frame(OP_CLOSE, close_payload(1000))),
                         [])
        self.assertIs(s.state, State.CLOSED)
        self.assertTrue(s.clean)
        self.assertEqual(s.data_to_send(), [])

    def test_misuse_raises(self):
        s = Session(DEFAULT_LIMITS)
        with self.assertRaises(ValueError):
            s.close(1005)
        with self.assertRaises(RuntimeError):
            s.failure_close()
        s.close(1000)
        with self.assertRaises(RuntimeError):
            s.encode(b"x", False)


# One representative of each protocol-error family of the conformance suite:
# (wire, expected close code).
_BAD = {
    "reserved opcode": (frame(0x3, b"x"), 1002),
    "reserved control opcode": (frame(0xB, b"x"), 1002),
    "rsv bit without extension": (frame(OP_TEXT, b"x", rsv=1), 1002),
    "unexpected continuation": (frame(OP_CONT, b"x"), 1002),
    "text inside a fragmented message": (frame(OP_TEXT, b"a", fin=False) + frame(OP_TEXT, b"b"),
                                         1002),
    "fragmented ping": (frame(OP_PING, b"x", fin=False), 1002),
    "ping over 125 bytes": (frame(OP_PING, b"x" * 126), 1002),
    "unmasked client frame": (frame(OP_TEXT, b"x", masked=False), 1002),
    "non-minimal 16-bit length": (frame(OP_BINARY, b"x" * 10, length_bytes=2), 1002),
    "non-minimal 64-bit length": (frame(OP_BINARY, b"x" * 200, length_bytes=8), 1002),
    "invalid UTF-8": (frame(OP_TEXT, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xed\xa0\x80"), 1007),
    "UTF-8 cut at the end of a message": (frame(OP_TEXT, b"\xce", fin=False)
                                          + frame(OP_CONT, b""), 1007),
}


class ProtocolErrorTests(unittest.TestCase):
    def test_each_family_answers_then_closes(self):
        for name, (bad, code) in _BAD.items():
            with self.subTest(name):
                s = Session(DEFAULT_LIMITS)
                events = s.receive(frame(OP_TEXT, b"before") + bad + frame(OP_TEXT, b"after"))
                self.assertEqual(events[0], Message(b"before", True))
                self.assertEqual([(type(e), e.code) for e in events[1:]],
                                 [(ProtocolError, code)])
                self.assertIs(s.failure, events[1])
                # Replies to "before" may still go out; then the close, once.
                self.assertEqual(len(s.encode(b"reply", True)), 2)
                self.assertEqual(s.failure_close(), b"\x88\x02" + struct.pack("!H", code))
                self.assertEqual(s.failure_close(), b"")
                self.assertEqual(s.receive(frame(OP_TEXT, b"more")), [])
                with self.assertRaises(RuntimeError):
                    s.encode(b"x", False)

    def test_byte_by_byte_error_stops_at_the_bad_frame(self):
        s = Session(DEFAULT_LIMITS)
        events = feed(s, frame(OP_BINARY, b"ok") + frame(0x3) + frame(OP_BINARY, b"no"), 1)
        self.assertEqual([type(e) for e in events], [Message, ProtocolError])

    def test_failure_after_our_close_sends_nothing_more(self):
        s = Session(DEFAULT_LIMITS)
        s.close(1001)
        self.assertEqual([e.code for e in s.receive(frame(0x3))], [1002])
        self.assertEqual(s.failure_close(), b"")


class EncodeTests(unittest.TestCase):
    def test_server_frames_leave_the_payload_alone(self):
        s = Session(DEFAULT_LIMITS)
        payload = b"x" * 70000
        header, body = s.encode(payload, False)
        self.assertIs(body, payload)
        self.assertEqual(header, b"\x82\x7f" + struct.pack("!Q", 70000))
        self.assertEqual(s.encode(b"hi", True), (b"\x81\x02", b"hi"))

    def test_client_session_masks_and_reads_server_frames(self):
        server, client = Session(DEFAULT_LIMITS), Session(DEFAULT_LIMITS, client=True)
        wire, rest = client.encode(b"hello", False)
        self.assertEqual(rest, b"")
        self.assertEqual(wire[1] & 0x80, 0x80)  # masked
        self.assertEqual(server.receive(wire), [Message(b"hello", False)])
        self.assertEqual(client.receive(b"".join(server.encode(b"back", True))),
                         [Message(b"back", True)])
        # A client refuses masked frames from the server.
        self.assertEqual([e.code for e in Session(DEFAULT_LIMITS, client=True).receive(wire)],
                         [1002])

    def test_ping_frame(self):
        s = Session(DEFAULT_LIMITS)
        self.assertEqual(s.ping(b"k"), b"\x89\x01k")
        s.close()
        self.assertEqual(s.ping(b"k"), b"")


class DeflateTests(unittest.TestCase):
    def test_compressed_message_in_and_out(self):
        ext, _ = negotiate("permessage-deflate", DEFAULT_LIMITS.max_message_size)
        assert ext is not None
        s = Session(DEFAULT_LIMITS, extensions=[ext])
        c = zlib.compressobj(wbits=-15)
        body = c.compress(b"hello hello hello") + c.flush(zlib.Z_SYNC_FLUSH)
        self.assertEqual(s.receive(frame(OP_TEXT, body[:-4], rsv=4)),
                         [Message(b"hello hello hello", True)])
        out, rest = s.encode(b"reply reply", True)
        self.assertEqual(rest, b"")
        self.assertEqual(out[0], 0xC1)  # FIN + RSV1 + text
        d = zlib.decompressobj(wbits=-15)
        self.assertEqual(d.decompress(out[2:] + b"\x00\x00\xff\xff"), b"reply reply")


if __name__ == "__main__":
    unittest.main()
