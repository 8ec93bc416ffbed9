"""python -m godot_ws serve --rooms [--max-peers N]: every room relayed on its own, a lobby."""
import json
import struct
import unittest
import urllib.request

from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.test_cli import WAIT, ServeProcess, cli

H = struct.Struct("<Bii")


def joined(ws) -> int:
    """The id the server gave (SYS_ID), after checking SYS_ADD 1 follows it."""
    first = ws.recv(timeout=WAIT)
    assert H.unpack_from(first) == (3, 1, 0), first
    assert ws.recv(timeout=WAIT) == H.pack(1, 1, 0) + struct.pack("<i", 1)
    return struct.unpack_from("<i", first, 9)[0]


class ServeRoomsTest(unittest.TestCase):
    def test_rooms_relay_and_lobby(self):
        server = ServeProcess("--rooms", "--max-peers", "2")
        try:
            url = server.url()
            self.assertRegex(url, r"^ws://127\.0\.0\.1:\d+$")
            with connect(url + "/rooms/a", open_timeout=WAIT) as a1, \
                    connect(url + "/rooms/b", open_timeout=WAIT) as b1, \
                    connect(url + "/rooms/a", open_timeout=WAIT) as a2:
                ia1, ib1, ia2 = joined(a1), joined(b1), joined(a2)
                self.assertEqual(a1.recv(timeout=WAIT), H.pack(1, 1, 0) + struct.pack("<i", ia2))
                self.assertEqual(a2.recv(timeout=WAIT), H.pack(1, 1, 0) + struct.pack("<i", ia1))
                a2.send(H.pack(0, ia2, 0) + b"hello a")
                a2.send(H.pack(0, ia2, 1) + b"for the server: dropped")
                self.assertEqual(a1.recv(timeout=WAIT), H.pack(0, ia2, 0) + b"hello a")
                b1.send(H.pack(0, ib1, 0) + b"hello b")  # nobody else in b
                with self.assertRaises(InvalidStatus) as cm:
                    connect(url + "/rooms/a", open_timeout=WAIT)
                self.assertEqual(cm.exception.response.status_code, 409)
                with urllib.request.urlopen(url.replace("ws:", "http:") + "/rooms", timeout=WAIT) as r:
                    self.assertEqual(r.headers["Content-Type"], "application/json")
                    lobby = json.loads(r.read())
                self.assertEqual(lobby, {"rooms": [
                    {"name": "a", "players": 2, "max": 2, "sealed": False, "metadata": {}},
                    {"name": "b", "players": 1, "max": 2, "sealed": False, "metadata": {}}]})
                self.assertNotIn(ib1, (ia1, ia2))
                a1.send(H.pack(0, ia1, ia2) + b"ping")
                self.assertEqual(a2.recv(timeout=WAIT), H.pack(0, ia1, ia2) + b"ping")
        finally:
            self.assertEqual(server.stop(), 0)

    def test_bad_arguments(self):
        for args in (("--rooms", "--mode", "echo"), ("--max-peers", "3"),
                     ("--rooms", "--max-peers", "-1")):
            with self.subTest(args=args):
                done = cli("serve", *args)
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertIn("error:", done.stderr)


if __name__ == "__main__":
    unittest.main()
