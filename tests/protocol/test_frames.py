"""Server frame headers: byte-equal to wsproto's own serialization, read back by its parser."""
from __future__ import annotations

import unittest

from wsproto.frame_protocol import FrameDecoder, FrameProtocol, Opcode

from godot_ws.protocol.frames import frame_header

# Every length class of RFC 6455 §5.2 and its edges: 7-bit, 16-bit, 64-bit.
SERIALIZED_LENGTHS = (0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20)
# Too large to serialize with a real payload: checked through wsproto's parser.
HUGE_LENGTHS = ((1 << 32) - 1, 1 << 32, (1 << 32) + 1, (1 << 63) - 1)


def parsed_header(header: bytes):
    """wsproto's client-side reading of a server frame header (no payload needed);
    its client side refuses a masked frame."""
    decoder = FrameDecoder(client=True)
    decoder.receive_bytes(header)
    assert decoder.parse_header(), header
    assert not len(decoder.buffer), "the whole header was read"
    return decoder.header


class FrameHeaderTest(unittest.TestCase):
    def test_equals_wsproto_serialization_for_every_length_class(self):
        for text in (False, True):
            for length in SERIALIZED_LENGTHS:
                with self.subTest(text=text, length=length):
                    payload = "a" * length if text else bytes(length)
                    frame = FrameProtocol(client=False, extensions=[]).send_data(payload)
                    header = frame_header(length, text)
                    self.assertEqual(bytes(frame[:len(frame) - length]), header)
                    self.assertEqual(len(header), 2 if length < 126 else 4 if length < 65536 else 10)

    def test_wsproto_reads_every_length_back(self):
        for text in (False, True):
            for length in SERIALIZED_LENGTHS + HUGE_LENGTHS:
                with self.subTest(text=text, length=length):
                    header = parsed_header(frame_header(length, text))
                    self.assertEqual(header.opcode, Opcode.TEXT if text else Opcode.BINARY)
                    self.assertTrue(header.fin)
                    self.assertEqual(tuple(header.rsv), (False, False, False))
                    self.assertEqual(header.payload_len, length)

    def test_64_bit_layout(self):
        self.assertEqual(frame_header(1 << 32), b"\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x00")
        self.assertEqual(frame_header(65536, True), b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00")

    def test_lengths_outside_the_protocol_are_refused(self):
        for length in (-1, 1 << 63):
            with self.subTest(length=length), self.assertRaises(ValueError):
                frame_header(length)


if __name__ == "__main__":
    unittest.main()
