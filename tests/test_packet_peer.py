"""PacketPeer's get_var/put_var over an in-memory subclass (no sockets)."""
from __future__ import annotations

import collections
import unittest

from godot_ws.enums import Error
from godot_ws.object import Object
from godot_ws.packet_peer import PacketPeer
from godot_ws.variant.codec import MAX_DEPTH, var2bytes
from godot_ws.variant.types import EncodedObjectAsID, GodotObject, Vector2

FULL_REFERENCE = bytes.fromhex("11000000090000005265666572656e6365000000"
                               "0100000006000000736372697074000000000000")


class MemoryPeer(PacketPeer):
    """Packets go to ``sent``; ``get_packet`` pops from ``inbox``."""

    _CLASS_NAME = "MemoryPeer"

    def __init__(self, *packets: bytes) -> None:
        self.inbox = collections.deque(packets)
        self.sent: list[bytes] = []
        self.put_result = Error.OK

    def get_packet(self) -> bytes:
        if not self.inbox:
            self._packet_error = Error.ERR_UNAVAILABLE
            return b""
        self._packet_error = Error.OK
        return self.inbox.popleft()

    def put_packet(self, data: bytes) -> Error:
        self.sent.append(bytes(data))
        return self.put_result

    def get_available_packet_count(self) -> int:
        return len(self.inbox)


class PutVar(unittest.TestCase):
    def test_sends_exactly_var2bytes(self):
        peer = MemoryPeer()
        value = {"pos": Vector2(1, 2), "hp": 100, "name": "bob"}
        self.assertEqual(peer.put_var(value), Error.OK)
        self.assertEqual(peer.put_var("hi"), Error.OK)
        self.assertEqual(peer.sent, [var2bytes(value), bytes.fromhex("040000000200000068690000")])

    def test_returns_put_packet_error(self):
        peer = MemoryPeer()
        peer.put_result = Error.ERR_OUT_OF_MEMORY
        self.assertEqual(peer.put_var(1), Error.ERR_OUT_OF_MEMORY)

    def test_over_encode_buffer_max_size_is_not_sent(self):
        peer = MemoryPeer()
        peer.encode_buffer_max_size = 1024
        with self.assertLogs("godot_ws", "ERROR") as logs:
            self.assertEqual(peer.put_var(b"x" * 1017), Error.ERR_OUT_OF_MEMORY)
        self.assertIn("encode_buffer_max_size", logs.output[0])
        self.assertEqual(peer.sent, [])
        self.assertEqual(peer.put_var(b"x" * 1016), Error.OK)  # 8 + 1016 = 1024 bytes
        self.assertEqual(len(peer.sent[0]), 1024)

    def test_too_deep_is_out_of_memory(self):
        value: list = []
        for _ in range(MAX_DEPTH):
            value = [value]
        peer = MemoryPeer()
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(peer.put_var(value), Error.ERR_OUT_OF_MEMORY)
        cycle: list = []
        cycle.append(cycle)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(peer.put_var(cycle), Error.ERR_OUT_OF_MEMORY)
        self.assertEqual(peer.sent, [])

    def test_unencodable_python_value_raises(self):
        peer = MemoryPeer()
        with self.assertRaises(TypeError):
            peer.put_var({1, 2})
        with self.assertRaises(ValueError):
            peer.put_var(1 << 64)
        self.assertEqual(peer.sent, [])

    def test_objects_as_ids_unless_full(self):
        peer = MemoryPeer()
        obj = GodotObject("Reference", {"script": None})
        with self.assertRaises(ValueError):
            peer.put_var(obj)
        self.assertEqual(peer.put_var(obj, True), Error.OK)
        peer.allow_object_decoding = True  # as Godot: also sends objects in full
        self.assertEqual(peer.put_var(obj), Error.OK)
        self.assertEqual(peer.sent, [FULL_REFERENCE, FULL_REFERENCE])
        peer.put_var(EncodedObjectAsID(7))
        self.assertEqual(peer.sent[-1], bytes.fromhex("110001000700000000000000"))


class GetVar(unittest.TestCase):
    def test_decodes_packets_in_order(self):
        peer = MemoryPeer(var2bytes([1, "a"]), var2bytes(Vector2(3, 4)) + b"trailing")
        self.assertEqual(peer.get_var(), [1, "a"])
        self.assertEqual(peer.get_packet_error(), Error.OK)
        self.assertEqual(peer.get_var(), Vector2(3, 4))
        self.assertEqual(peer.get_available_packet_count(), 0)

    def test_no_packet(self):
        peer = MemoryPeer()
        self.assertIsNone(peer.get_var())
        self.assertEqual(peer.get_packet_error(), Error.ERR_UNAVAILABLE)

    def test_bad_data_returns_none_and_sets_the_error(self):
        cases = [(b"\x02\x00\x00", Error.ERR_INVALID_DATA),
                 (bytes.fromhex("040000000100000061"), Error.ERR_FILE_EOF),
                 (b"", Error.ERR_INVALID_DATA),
                 (FULL_REFERENCE, Error.ERR_UNAUTHORIZED)]
        peer = MemoryPeer(*(data for data, _ in cases))
        for data, error in cases:
            with self.subTest(data=data.hex()), self.assertLogs("godot_ws", "ERROR") as logs:
                self.assertIsNone(peer.get_var())
                self.assertEqual(peer.get_packet_error(), error)
                self.assertIn("decode", logs.output[0])

    def test_error_clears_on_next_good_packet(self):
        peer = MemoryPeer(b"\xff\x00\x00\x00", var2bytes(5))
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertIsNone(peer.get_var())
        self.assertEqual(peer.get_packet_error(), Error.ERR_INVALID_DATA)
        self.assertEqual(peer.get_var(), 5)
        self.assertEqual(peer.get_packet_error(), Error.OK)

    def test_objects_allowed_by_argument_or_property(self):
        expected = GodotObject("Reference", {"script": None})
        peer = MemoryPeer(FULL_REFERENCE, FULL_REFERENCE)
        self.assertEqual(peer.get_var(allow_objects=True), expected)
        peer.set_allow_object_decoding(True)
        self.assertTrue(peer.is_object_decoding_allowed())
        self.assertEqual(peer.get_var(), expected)

    def test_object_ids_decode_without_permission(self):
        peer = MemoryPeer(bytes.fromhex("11000100d204000000000000"))
        self.assertEqual(peer.get_var(), EncodedObjectAsID(1234))


class Properties(unittest.TestCase):
    def test_defaults_as_godot(self):
        peer = MemoryPeer()
        self.assertEqual(peer.encode_buffer_max_size, 8388608)
        self.assertEqual(peer.get_encode_buffer_max_size(), 8388608)
        self.assertFalse(peer.allow_object_decoding)
        self.assertEqual(peer.get_packet_error(), Error.OK)
        self.assertIsInstance(peer, Object)
        self.assertEqual(peer.get_class(), "MemoryPeer")
        self.assertTrue(peer.is_class("PacketPeer"))

    def test_encode_buffer_max_size_rounds_up_to_power_of_two(self):
        peer = MemoryPeer()
        for value, expected in ((1024, 1024), (1025, 2048), (5000, 8192),
                                (256 * 1024 * 1024, 256 * 1024 * 1024)):
            peer.set_encode_buffer_max_size(value)
            self.assertEqual(peer.get_encode_buffer_max_size(), expected)

    def test_encode_buffer_max_size_out_of_range_is_logged_and_ignored(self):
        peer = MemoryPeer()
        peer.encode_buffer_max_size = 4096
        for value, text in ((1023, "at least 1024"), (256 * 1024 * 1024 + 1, "256 MiB")):
            with self.assertLogs("godot_ws", "ERROR") as logs:
                peer.encode_buffer_max_size = value
            self.assertIn(text, logs.output[0])
            self.assertEqual(peer.encode_buffer_max_size, 4096)
        with self.assertRaises(TypeError):
            peer.encode_buffer_max_size = "big"

    def test_object_get_set_and_property_list(self):
        peer = MemoryPeer()
        peer.set("encode_buffer_max_size", 3000)
        self.assertEqual(peer.get("encode_buffer_max_size"), 4096)
        peer.set("allow_object_decoding", True)
        self.assertTrue(peer.get("allow_object_decoding"))
        props = [(p["name"], p["type"]) for p in peer.get_property_list()]
        self.assertEqual(props[:2], [("encode_buffer_max_size", 2), ("allow_object_decoding", 1)])

    def test_packet_methods_are_abstract(self):
        bare = PacketPeer()
        for call in (bare.get_packet, lambda: bare.put_packet(b""), bare.get_available_packet_count):
            with self.assertRaises(NotImplementedError):
                call()


if __name__ == "__main__":
    unittest.main()
