"""The client's half of Godot's multiplayer framing (pure)."""
from __future__ import annotations

import unittest

from godot_ws.protocol import multiplayer as mp
from godot_ws.protocol.multiplayer_client import ServerPacket, client_frame, parse_server_packet


class MultiplayerClientTest(unittest.TestCase):
    def test_system_messages_as_godots_server_sends_them(self):
        join = mp.join_messages(77, [5])
        mine = [parse_server_packet(frame) for to, frame in join if to == 77]
        self.assertEqual(mine, [ServerPacket(mp.SYS_ID, 1, 77, b""), ServerPacket(mp.SYS_ADD, 1, 1, b""),
                                ServerPacket(mp.SYS_ADD, 1, 5, b"")])
        ((_, gone),) = mp.leave_messages(5, [77])
        self.assertEqual(parse_server_packet(gone), ServerPacket(mp.SYS_DEL, 1, 5, b""))

    def test_user_packets(self):
        self.assertEqual(parse_server_packet(mp.server_frame(9, b"hi")),
                         ServerPacket(mp.SYS_NONE, 1, 0, b"hi"))
        relayed = client_frame(5, 0, b"yo")
        self.assertEqual(relayed, bytes.fromhex("00 05000000 00000000") + b"yo")
        self.assertEqual(parse_server_packet(relayed), ServerPacket(mp.SYS_NONE, 5, 0, b"yo"))
        self.assertEqual(client_frame(5, -7, b""), bytes.fromhex("00 05000000 f9ffffff"))

    def test_what_godot_drops(self):
        self.assertIn("shorter", parse_server_packet(b"\x00" * 8))
        self.assertIn("4-byte", parse_server_packet(mp.pack_header(mp.SYS_ADD, 1, 0) + b"\x01"))
        self.assertIn("type 9", parse_server_packet(mp.pack_header(9, 1, 0) + b"\0" * 4))


if __name__ == "__main__":
    unittest.main()
