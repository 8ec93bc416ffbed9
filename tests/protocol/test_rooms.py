"""Room bookkeeping without sockets: names, reservations, capacity, seal, grace, lobby."""
import json
import unittest

from godot_ws.protocol.handshake import HandshakeError
from godot_ws.protocol.rooms import (
    JoinRoom,
    RoomRegistry,
    check_metadata,
    check_room_name,
    lobby_request,
    lobby_response,
    room_from_path,
)


class NamesTest(unittest.TestCase):
    def test_room_from_path(self):
        self.assertEqual(room_from_path("/rooms/match-7"), "match-7")
        self.assertEqual(room_from_path("/rooms/a?token=x"), "a")
        self.assertEqual(room_from_path("/rooms/"), "")
        self.assertIsNone(room_from_path("/"))
        self.assertIsNone(room_from_path("/roomsx/a"))

    def test_check_room_name(self):
        self.assertEqual(check_room_name("A_b.c~d-9"), "A_b.c~d-9")
        for bad in ("", "a/b", "a b", "é", "x" * 65, "a%20b"):
            with self.subTest(name=bad):
                self.assertRaises(ValueError, check_room_name, bad)
        self.assertRaises(TypeError, check_room_name, 7)

    def test_metadata_must_be_json(self):
        self.assertEqual(check_metadata({"map": "dust", "n": [1, 2.5, None, True]}),
                         {"map": "dust", "n": [1, 2.5, None, True]})
        for bad in ({"x": object()}, {"x": float("nan")}, {1: 2}, [1]):
            with self.subTest(metadata=bad):
                self.assertRaises(TypeError, check_metadata, bad)

    def test_join_room(self):
        self.assertEqual(JoinRoom("a"), ("a", None))
        self.assertEqual(JoinRoom("a", {"u": 1}).data, {"u": 1})


def refused(test, call, status):
    with test.assertRaises(HandshakeError) as cm:
        call()
    test.assertEqual(cm.exception.status, status, str(cm.exception))
    return str(cm.exception)


class RegistryTest(unittest.TestCase):
    def test_first_join_creates_and_capacity_counts_reservations(self):
        reg = RoomRegistry(max_peers=2, grace=5)
        room = reg.reserve("a", now=0)
        self.assertEqual((room.name, room.pending, room.players, room.max_peers), ("a", 1, 0, 2))
        reg.reserve("a", now=0)
        self.assertIn("full", refused(self, lambda: reg.reserve("a", now=0), 409))
        self.assertIs(reg.admit("a"), room)
        self.assertEqual((room.pending, room.players), (1, 1))
        reg.release("a", now=1)  # the other handshake failed: its place comes back
        reg.reserve("a", now=1)
        refused(self, lambda: reg.reserve("a", now=1), 409)

    def test_refusals(self):
        reg = RoomRegistry(auto_create=False)
        self.assertIn("no room 'x'", refused(self, lambda: reg.reserve("x", now=0), 404))
        refused(self, lambda: reg.reserve(None, now=0), 404)
        refused(self, lambda: reg.reserve("bad name", now=0), 400)
        refused(self, lambda: reg.reserve("", now=0), 400)
        reg.create("x", now=0)
        reg.get("x").sealed = True
        self.assertIn("sealed", refused(self, lambda: reg.reserve("x", now=0), 403))
        self.assertRaises(ValueError, reg.create, "x", 0)
        self.assertRaises(ValueError, reg.create, "no/slash", 0)
        self.assertRaises(ValueError, RoomRegistry, max_peers=-1)
        self.assertRaises(ValueError, RoomRegistry, grace=-1)
        self.assertRaises(TypeError, RoomRegistry, max_peers="2")

    def test_grace_period(self):
        reg = RoomRegistry(grace=5)
        reg.reserve("a", now=0)
        reg.admit("a")
        self.assertIsNone(reg.next_deadline())
        reg.leave("a", now=10)
        self.assertEqual(reg.next_deadline(), 15)
        self.assertEqual(reg.expired(now=14.9), [])
        reg.reserve("a", now=14.9)  # someone comes back in time: no close
        self.assertIsNone(reg.next_deadline())
        reg.admit("a")
        reg.leave("a", now=20)
        self.assertEqual(reg.expired(now=25), ["a"])
        self.assertIsNone(reg.get("a"))
        self.assertIsNone(reg.next_deadline())

    def test_created_ahead_rooms_wait_their_grace_or_stay(self):
        reg = RoomRegistry(grace=3, auto_create=False)
        reg.create("lobby", now=0, grace=None, max_peers=8, metadata={"mode": "ffa"})
        reg.create("match", now=0)
        self.assertEqual(reg.get("lobby").max_peers, 8)
        self.assertEqual(reg.next_deadline(), 3)
        self.assertEqual(reg.expired(now=100), ["match"])
        self.assertEqual([r.name for r in reg], ["lobby"])

    def test_close_waits_for_the_last_player_then_goes_at_once(self):
        reg = RoomRegistry(grace=None)
        reg.reserve("a", now=0)
        reg.admit("a")
        reg.close("a", now=1)
        refused(self, lambda: reg.reserve("a", now=1), 404)
        self.assertEqual(reg.expired(now=2), [])
        reg.leave("a", now=3)
        self.assertEqual(reg.expired(now=3), ["a"])
        reg.reserve("a", now=4)  # the name is free again
        self.assertEqual(reg.get("a").pending, 1)

    def test_admit_without_reservation_is_refused(self):
        reg = RoomRegistry()
        self.assertIsNone(reg.admit("nowhere"))
        reg.create("a", now=0)
        self.assertIsNone(reg.admit("a"))
        reg.leave("a", now=0)  # no player: nothing to count down
        self.assertEqual(reg.get("a").players, 0)

    def test_listing(self):
        reg = RoomRegistry(max_peers=4)
        reg.create("b", now=0, metadata={"map": "x"})
        reg.reserve("a", now=0)
        reg.admit("a")
        reg.create("secret", now=0, hidden=True)
        reg.create("open", now=0, max_peers=0)
        reg.get("b").sealed = True
        self.assertEqual(reg.listing(), [
            {"name": "b", "players": 0, "max": 4, "sealed": True, "metadata": {"map": "x"}},
            {"name": "a", "players": 1, "max": 4, "sealed": False, "metadata": {}},
            {"name": "open", "players": 0, "max": None, "sealed": False, "metadata": {}},
        ])


class LobbyHttpTest(unittest.TestCase):
    def test_lobby_request(self):
        self.assertIs(lobby_request(b"GET /rooms HTTP/1.1\r\nHost: x\r\n\r\n"), True)
        self.assertIs(lobby_request(b"GET /rooms?x=1 HTTP/1.0\r\n\r\n"), True)
        self.assertIs(lobby_request(b"HEAD /rooms HTTP/1.1\r\nHost: x\r\n\r\n"), False)
        for other in (b"GET /rooms/a HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n",
                      b"POST /rooms HTTP/1.1\r\n\r\n", b"GET /rooms\r\n\r\n",
                      b"GET /rooms HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
                      b"GET /rooms HTTP/1.1\r\nupgrade : websocket\r\n\r\n"):
            with self.subTest(head=other):
                self.assertIsNone(lobby_request(other))

    def test_lobby_response(self):
        listing = [{"name": "a", "players": 1, "max": None, "sealed": False, "metadata": {"é": 1}}]
        answer = lobby_response(listing)
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.assertEqual(lines[0], "HTTP/1.1 200 OK")
        self.assertIn("Content-Type: application/json", lines)
        self.assertIn(f"Content-Length: {len(body)}", lines)
        self.assertIn("Connection: close", lines)
        self.assertIn("Access-Control-Allow-Origin: *", lines)
        self.assertEqual(json.loads(body), {"rooms": listing})
        self.assertEqual(lobby_response(listing, with_body=False), head + b"\r\n\r\n")


if __name__ == "__main__":
    unittest.main()
