"""Session drives wsproto's frame and message decoders directly: the internals
it relies on, and the reads where skipping an empty buffer could go wrong."""
from __future__ import annotations

import unittest

from wsproto.frame_protocol import FrameDecoder, FrameProtocol, MessageDecoder, Opcode

from godot_ws.protocol.limits import DEFAULT_LIMITS
from godot_ws.protocol.session import Message, PongReceived, Session
from tests.conformance.wire import OP_BINARY, OP_CONT, OP_PING, OP_PONG, OP_TEXT, frame


class WsprotoInternalsTest(unittest.TestCase):
    """Fails loudly when the wsproto internals Session.receive uses change:
    pin wsproto back or adapt protocol/session.py."""

    def test_the_protocol_holds_its_two_decoders(self):
        protocol = FrameProtocol(client=False, extensions=[])
        self.assertIsInstance(protocol._frame_decoder, FrameDecoder)
        self.assertIsInstance(protocol._message_decoder, MessageDecoder)

    def test_the_decoder_buffers_in_one_bytearray_that_it_keeps(self):
        decoder = FrameDecoder(client=False)
        pending = decoder.buffer.buffer
        self.assertIsInstance(pending, bytearray)
        self.assertIsNone(decoder.header)
        pending += frame(OP_BINARY, b"abc") + b"\x82"
        got = decoder.process_buffer()
        assert got is not None
        self.assertEqual((got.opcode, got.payload), (Opcode.BINARY, b"abc"))
        self.assertIs(decoder.buffer.buffer, pending, "consumed in place")
        self.assertEqual(bytes(pending), b"\x82", "the next frame's first byte stays")
        self.assertIsNone(decoder.header, "no header while the next one is incomplete")
        self.assertIsNone(decoder.process_buffer())
        self.assertEqual(bytes(pending), b"\x82", "an incomplete header is not consumed")

    def test_a_parsed_header_waits_for_its_payload(self):
        decoder = FrameDecoder(client=False)
        wire = frame(OP_BINARY, b"payload")
        decoder.buffer.buffer += wire[:6]  # header and mask, no payload
        self.assertIsNone(decoder.process_buffer())
        self.assertIsNotNone(decoder.header, "the header stays parsed")
        self.assertEqual(len(decoder.buffer.buffer), 0)


class EmptyBufferSkipTests(unittest.TestCase):
    """Every way a read can end: mid-header, after a header, mid-payload,
    between frames; and frames with no payload."""

    def test_every_split_of_two_frames(self):
        wire = frame(OP_BINARY, b"first") + frame(OP_TEXT, b"second")
        for cut in range(len(wire) + 1):
            for cut2 in range(cut, len(wire) + 1):
                s = Session(DEFAULT_LIMITS)
                got = s.receive(wire[:cut]) + s.receive(wire[cut:cut2]) + s.receive(wire[cut2:])
                self.assertEqual(got, [Message(b"first", False), Message(b"second", True)],
                                 f"cut at {cut} and {cut2}")

    def test_empty_frames_whole_and_byte_by_byte(self):
        wire = (frame(OP_BINARY, b"", fin=False) + frame(OP_CONT, b"")
                + frame(OP_PONG, b"") + frame(OP_TEXT, b""))
        expected = [Message(b"", False), PongReceived(b""), Message(b"", True)]
        s = Session(DEFAULT_LIMITS)
        self.assertEqual(s.receive(wire), expected)
        s = Session(DEFAULT_LIMITS)
        got = []
        for i in range(len(wire)):
            got += s.receive(wire[i:i + 1])
        self.assertEqual(got, expected)

    def test_a_read_of_nothing_after_a_header_delivers_the_payload_later(self):
        s = Session(DEFAULT_LIMITS)
        wire = frame(OP_PING, b"pi")
        self.assertEqual(s.receive(wire[:6]), [])
        self.assertEqual(s.receive(b""), [])
        self.assertEqual(s.receive(wire[6:]), [])
        self.assertEqual(s.data_to_send(), [b"\x8a\x02pi"])

    def test_budget_stop_then_an_empty_read_goes_on(self):
        s = Session(DEFAULT_LIMITS)
        wire = b"".join(frame(OP_BINARY, bytes([i])) for i in range(3))
        self.assertEqual(s.receive(wire, max_messages=1), [Message(b"\x00", False)])
        self.assertTrue(s.more_buffered)
        self.assertEqual(s.receive(b""), [Message(b"\x01", False), Message(b"\x02", False)])
        self.assertFalse(s.more_buffered)


if __name__ == "__main__":
    unittest.main()
