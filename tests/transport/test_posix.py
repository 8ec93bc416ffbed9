"""transport/posix.py: the POSIX-only check, with the missing features simulated."""
from __future__ import annotations

import socket
import types
import unittest
from unittest import mock

from godot_ws import WebSocketServer
from godot_ws.transport import posix


def _socket_module(dontwait: bool, sendmsg: bool) -> types.SimpleNamespace:
    """A stand-in for the ``socket`` module with or without the two features."""
    sock_cls = socket.socket if sendmsg else type("socket", (), {})
    fake = types.SimpleNamespace(socket=sock_cls)
    if dontwait:
        fake.MSG_DONTWAIT = socket.MSG_DONTWAIT
    return fake


class PosixCheckTest(unittest.TestCase):
    def test_this_system_has_everything(self):
        self.assertEqual(posix.missing_posix_features(), [])
        posix.require_posix_sockets()

    def test_each_missing_feature_is_named(self):
        cases = {(False, True): ["socket.MSG_DONTWAIT"],
                 (True, False): ["socket.socket.sendmsg"],
                 (False, False): ["socket.MSG_DONTWAIT", "socket.socket.sendmsg"]}
        for (dontwait, sendmsg), expected in cases.items():
            with self.subTest(dontwait=dontwait, sendmsg=sendmsg), \
                    mock.patch.object(posix, "socket", _socket_module(dontwait, sendmsg)):
                self.assertEqual(posix.missing_posix_features(), expected)
                with self.assertRaisesRegex(OSError, "needs a POSIX system"):
                    posix.require_posix_sockets()

    def test_listen_refuses_before_opening_anything(self):
        server = WebSocketServer()
        with mock.patch.object(posix, "socket", _socket_module(False, True)), \
                mock.patch("godot_ws.server.open_listener") as open_listener:
            with self.assertRaisesRegex(OSError, r"POSIX system .*MSG_DONTWAIT"):
                server.listen(0)
        open_listener.assert_not_called()
        self.assertFalse(server.is_listening())


if __name__ == "__main__":
    unittest.main()
