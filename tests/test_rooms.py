"""Rooms over real sockets: ids and bytes per room, refusals, life cycle, lobby, isolation."""
from __future__ import annotations

import json
import socket
import struct
import threading
import time

from wsproto.events import BytesMessage, CloseConnection

from godot_ws import MultiplayerAPI
from godot_ws.enums import ConnectionStatus, Error
from godot_ws.rooms import JoinRoom, Rooms
from tests.support import ServerTestCase, poll_until, read_all
from tests.transport import test_server_mp as mp_tests
from tests.transport.test_handshake_hook import upgrade
from tests.transport.test_server_mp import H, pkt, sys_msg


class RoomsCase(ServerTestCase):
    mp = True
    rooms_args: dict = {}

    def configure(self, server):
        self.rooms = Rooms(**self.rooms_args)
        server.rooms = self.rooms
        self.room_events: list[tuple] = []
        for sig in ("room_created", "room_closed", "peer_joined", "peer_left"):
            self.rooms.connect(sig, lambda *a, sig=sig: self.room_events.append((sig,) + a))

    def named(self, sig):
        return [e[1:] for e in self.room_events if e[0] == sig]

    def join(self, room: str):
        """A raw client in ``room``; returns (client, its id) once its join messages came."""
        n = len(self.named("peer_joined")) + 1
        c = self.ws(path=f"/rooms/{room}")
        self.assertTrue(poll_until(self.server, lambda: len(self.named("peer_joined")) >= n, 10))
        first = c.next_event()
        self.assertEqual(H.unpack_from(first.data), (3, 1, 0))
        peer_id = struct.unpack_from("<i", first.data, 9)[0]
        self.assertEqual(c.next_event().data, sys_msg(1, 1))
        return c, peer_id

    next = mp_tests.MultiplayerSocketTests.next
    expect = mp_tests.MultiplayerSocketTests.expect

    def expect_only(self, c, room, frames):
        """``frames`` then the marker ``room`` sends: nothing else was queued for ``c``."""
        room.set_target_peer(0)
        self.assertEqual(room.put_packet(b"MARK"), Error.OK)
        self.expect(c, list(frames) + [pkt(1, 0, b"MARK")])

    def http(self, request: bytes) -> bytes:
        s = self.raw()
        s.sendall(request)
        return read_all(s, 5)

    def lobby(self) -> list:
        answer = self.http(b"GET /rooms HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"), answer)
        return json.loads(body)["rooms"]


class TwoRoomsTest(RoomsCase):
    def test_each_room_is_its_own_game(self):
        a1, ia1 = self.join("a")
        b1, ib1 = self.join("b")
        a2, ia2 = self.join("a")
        b2, ib2 = self.join("b")
        ra, rb = self.rooms.get_room("a"), self.rooms.get_room("b")
        self.assertEqual(self.named("room_created"), [(ra,), (rb,)])
        self.assertEqual(self.named("peer_joined"), [(ra, ia1), (rb, ib1), (ra, ia2), (rb, ib2)])
        self.assertEqual(len({ia1, ia2, ib1, ib2}), 4)  # unique in the server
        self.assertEqual(sorted(ra.get_peer_ids()), sorted([ia1, ia2]))
        # Join messages: each newcomer hears of its partner only, each partner of its newcomer.
        self.expect(a2, [sys_msg(1, ia1)])
        self.expect(b2, [sys_msg(1, ib1)])
        self.expect(a1, [sys_msg(1, ia2)])
        self.expect(b1, [sys_msg(1, ib2)])
        # Relay: broadcast, all-but-one, direct, to the server; never across rooms.
        got = {ra: [], rb: []}
        for room in (ra, rb):
            room.connect("peer_packet", lambda src, room=room: got[room].append(
                (room.get_packet_peer(), room.get_packet())))
        a1.send(pkt(ia1, 0, b"a-all"))
        b1.send(pkt(ib1, 0, b"b-all"))
        a2.send(pkt(ia2, ia1, b"a-direct"))
        b2.send(pkt(ib2, -ib1, b"b-not-b1"))
        self.expect(a2, [pkt(ia1, 0, b"a-all")])
        self.expect(b2, [pkt(ib1, 0, b"b-all")])
        self.expect(a1, [pkt(ia2, ia1, b"a-direct")])
        # A packet to a player of another room: that player "does not exist" here.
        with self.assertLogs("godot_ws", "ERROR") as logs:
            a1.send(pkt(ia1, ib1, b"cross"))
            poll_until(self.server, lambda: logs.output, 5)
        self.assertIn(f"target peer {ib1} does not exist", logs.output[0])
        poll_until(self.server, lambda: len(got[ra]) >= 1 and len(got[rb]) >= 2, 5)
        self.assertEqual(got[ra], [(ia1, b"a-all")])
        self.assertEqual(sorted(got[rb]), sorted([(ib1, b"b-all"), (ib2, b"b-not-b1")]))
        # The server's own packets: per room.
        ra.set_target_peer(0)
        self.assertEqual(ra.put_packet(b"A!"), Error.OK)
        rb.set_target_peer(ib2)
        self.assertEqual(rb.put_packet(b"B2!"), Error.OK)
        rb.set_target_peer(ia1)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(rb.put_packet(b"no"), Error.FAILED)
        self.expect(a1, [pkt(1, 0, b"A!")])
        self.expect(a2, [pkt(1, 0, b"A!")])
        self.expect(b2, [pkt(1, ib2, b"B2!")])
        # Leaving: only the room's other player hears of it.
        a1.close(1000)
        self.assertTrue(poll_until(self.server, lambda: self.named("peer_left"), 5))
        self.assertEqual(self.named("peer_left"), [(ra, ia1)])
        self.assertEqual(ra.get_peer_ids(), [ia2])
        self.expect_only(a2, ra, [sys_msg(2, ia1)])
        self.expect_only(b1, rb, [])
        self.expect_only(b2, rb, [])
        # The server itself is no game in rooms mode; its peers are everybody's.
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(self.server.put_packet(b"x"), Error.ERR_UNCONFIGURED)
        self.assertEqual(sorted(self.server.get_peer_ids()), sorted([ia2, ib1, ib2]))

    def test_a_multiplayer_api_per_room(self):
        apis = {}

        def on_created(room):
            api = MultiplayerAPI()
            api.network_peer = room
            got = []
            api.connect("network_peer_packet", lambda sender, data: got.append((sender, data)))
            apis[room.name] = (api, got)
        self.rooms.connect("room_created", on_created)
        a, ia = self.join("a")
        b, ib = self.join("b")
        a.send(pkt(ia, 1, b"\x04from a"))  # a RAW command (send_bytes)
        b.send(pkt(ib, 1, b"\x04from b"))
        end = time.monotonic() + 5
        while time.monotonic() < end and not (apis["a"][1] and apis["b"][1]):
            for api, _ in apis.values():
                api.poll(0.02)
        self.assertEqual(apis["a"][1], [(ia, b"from a")])
        self.assertEqual(apis["b"][1], [(ib, b"from b")])
        self.assertEqual(apis["a"][0].get_network_connected_peers(), [ia])
        self.assertTrue(apis["b"][0].is_network_server())
        self.assertEqual(apis["a"][0].send_bytes(b"hi a"), Error.OK)
        self.expect(a, [pkt(1, 0, b"\x04hi a")])
        apis["b"][0].refuse_new_network_connections = True
        self.assertTrue(self.rooms.get_room("b").sealed)


class RefusalTest(RoomsCase):
    rooms_args = {"auto_create": False, "max_peers": 2}

    def configure(self, server):
        super().configure(server)
        server.handshake_hook = self.hook

    def hook(self, request, address, protocol):
        if "match=" in request.path:
            return JoinRoom(request.path.split("match=")[1], {"matched": True})
        if "bad" in request.path:
            return False
        return "welcome"

    def refused(self, path, status):
        answer = self.http(upgrade(path))
        self.assertTrue(answer.startswith(f"HTTP/1.1 {status} ".encode()), answer)
        return answer

    def test_unknown_full_sealed_and_picked_rooms(self):
        with self.assertLogs("godot_ws", "WARNING"):
            self.assertIn(b"no room 'x'", self.refused("/rooms/x", 404))
            self.refused("/", 404)
            self.refused("/rooms/a%20b", 400)
            self.refused("/rooms/bad", 403)  # the hook's own refusal stands
        self.assertIsNone(self.rooms.get_room("x"))
        room = self.rooms.create_room("x", metadata={"map": "dune"})
        self.assertEqual(self.named("room_created"), [(room,)])
        c1, i1 = self.join("x")
        self.assertEqual(self.server.get_peer(i1).get_handshake_data(), "welcome")
        c2, i2 = self.join("x")
        with self.assertLogs("godot_ws", "WARNING"):
            self.assertIn(b"full", self.refused("/rooms/x", 409))
        room.max_peers = 3
        room.sealed = True
        with self.assertLogs("godot_ws", "WARNING"):
            self.assertIn(b"sealed", self.refused("/rooms/x", 403))
        room.sealed = False
        # The hook picks the room, whatever the path.
        other = self.rooms.create_room("y")
        c3, i3 = self.join("x?match=y")
        self.assertEqual(other.get_peer_ids(), [i3])
        self.assertEqual(self.server.get_peer(i3).get_handshake_data(), {"matched": True})
        self.assertEqual(sorted(room.get_peer_ids()), sorted([i1, i2]))
        # No id was given to any refused client.
        self.assertEqual(len(self.named("peer_joined")), 3)
        self.assertEqual(self.rec.of("peer_connected"), [])
        self.assertRaises(ValueError, self.rooms.create_room, "x")

    def test_failed_handshakes_give_their_place_back(self):
        entered, go = threading.Event(), threading.Event()

        def slow_hook(*args):
            entered.set()
            go.wait(5)
        self.server.stop()
        self.server.handshake_hook = slow_hook
        self.assertEqual(self.server.listen(0, (), True), Error.OK)
        self.port = self.server.get_port()
        room = self.rooms.create_room("r", max_peers=1)
        for _ in range(5):
            entered.clear()
            go.clear()
            s = socket.create_connection(("127.0.0.1", self.port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.sendall(upgrade("/rooms/r"))
            self.assertTrue(entered.wait(5))
            s.close()  # a reset while the hook runs: the place is taken, the 101 cannot go out
            go.set()

        def places_held() -> int:
            with self.rooms._lock:
                state = self.rooms._registry.rooms["r"]
                return state.pending + state.players
        # The last peer thread reserves and then gives back its place after go.set(), on
        # its own time: wait until every peer thread has ended (before that, no place may
        # be taken yet), then until no place is held. On a loaded machine the reset can
        # reach the server after its 101 went out: that client joined and then left (its
        # disconnect is polled here), which also frees its place.
        registry = self.server._registry
        assert registry is not None
        self.assertTrue(poll_until(self.server,
                                   lambda: len(registry) == 0 and places_held() == 0, 5))
        self.assertEqual(len(self.named("peer_joined")), len(self.named("peer_left")))
        c, i = self.join("r")  # a place is left: every failed handshake gave its own back
        self.assertEqual(room.get_peer_ids(), [i])
        self.assertEqual(self.named("peer_joined")[-1], (room, i))


class LifeCycleTest(RoomsCase):
    rooms_args = {"grace": 0.3}

    def test_empty_room_closes_after_its_grace_unless_someone_comes_back(self):
        a, ia = self.join("g")
        room = self.rooms.get_room("g")
        a.close()
        self.assertTrue(poll_until(self.server, lambda: self.named("peer_left"), 5))
        self.assertEqual(room.get_connection_status(), ConnectionStatus.CONNECTION_CONNECTED)
        b, ib = self.join("g")  # in time: the same room
        self.assertIs(self.rooms.get_room("g"), room)
        b.close()
        self.assertTrue(poll_until(self.server, lambda: self.named("room_closed"), 5))
        self.assertEqual(self.named("room_closed"), [(room,)])
        self.assertEqual(room.get_connection_status(), ConnectionStatus.CONNECTION_DISCONNECTED)
        self.assertIsNone(self.rooms.get_room("g"))
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(room.put_packet(b"x"), Error.ERR_UNCONFIGURED)
        c, ic = self.join("g")  # a new room of the same name
        self.assertIsNot(self.rooms.get_room("g"), room)

    def test_poll_wakes_up_for_a_closing_room(self):
        a, _ = self.join("g")
        a.close()
        self.assertTrue(poll_until(self.server, lambda: self.named("peer_left"), 5))
        start = time.monotonic()
        self.server.poll(5.0)  # returns when the room closes, not after 5 s
        self.assertLess(time.monotonic() - start, 4.0)
        self.assertEqual(len(self.named("room_closed")), 1)

    def test_close_disconnects_the_players(self):
        a, ia = self.join("c")
        b, ib = self.join("c")
        room = self.rooms.get_room("c")
        self.assertEqual(room.close(4000, "match over"), Error.OK)
        for c in (a, b):
            event = self.next(c)
            while isinstance(event, BytesMessage):
                event = self.next(c)
            self.assertIsInstance(event, CloseConnection)
            self.assertEqual((event.code, event.reason), (4000, "match over"))
            c.close(4000)
        self.assertTrue(poll_until(self.server, lambda: self.named("room_closed"), 5))
        self.assertEqual(sorted(self.named("peer_left")), sorted([(room, ia), (room, ib)]))
        self.assertEqual(room.close(), Error.ERR_DOES_NOT_EXIST)

    def test_stop_closes_every_room_silently(self):
        self.join("s")
        room = self.rooms.get_room("s")
        self.server.stop()
        self.assertEqual(room.get_connection_status(), ConnectionStatus.CONNECTION_DISCONNECTED)
        self.assertEqual(self.named("room_closed"), [])
        self.assertEqual(self.rooms.get_rooms(), [])
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertIsNone(self.rooms.create_room("t"))

    def test_rooms_need_multiplayer_mode(self):
        self.server.stop()
        self.assertRaises(ValueError, self.server.listen, 0)


class LobbyTest(RoomsCase):
    def test_lobby_follows_players_and_settings(self):
        self.assertEqual(self.lobby(), [])
        a, ia = self.join("alpha")
        b, ib = self.join("alpha")
        room = self.rooms.get_room("alpha")
        room.metadata = {"map": "dune", "mode": "ctf"}
        room.max_peers = 4
        secret = self.rooms.create_room("secret", hidden=True)
        self.rooms.create_room("beta", max_peers=2)
        self.assertEqual(self.lobby(), [
            {"name": "alpha", "players": 2, "max": 4, "sealed": False,
             "metadata": {"map": "dune", "mode": "ctf"}},
            {"name": "beta", "players": 0, "max": 2, "sealed": False, "metadata": {}},
        ])
        self.assertEqual(self.rooms.get_lobby(), self.lobby())
        a.close()
        self.assertTrue(poll_until(self.server, lambda: self.named("peer_left"), 5))
        room.sealed = True
        secret.hidden = False
        self.assertEqual([(r["name"], r["players"], r["sealed"]) for r in self.lobby()],
                         [("alpha", 1, True), ("secret", 0, False), ("beta", 0, False)])
        self.assertRaises(TypeError, setattr, room, "metadata", {"x": object()})

    def test_http_answers(self):
        answer = self.http(b"HEAD /rooms HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer)
        self.assertTrue(answer.endswith(b"\r\n\r\n"), answer)
        self.assertIn(b"Content-Length: 12\r\n", answer)  # {"rooms":[]}
        # Every other plain HTTP request gets today's answer.
        with self.assertLogs("godot_ws", "WARNING"):
            answer = self.http(b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer)
        self.assertTrue(answer.endswith(b"missing or invalid Upgrade header\n"), answer)


class IsolationTest(RoomsCase):
    """Many rooms, players joining, talking and leaving at once, from many threads."""

    ROOMS, PLAYERS, ROUNDS = 8, 3, 2

    def test_nothing_crosses_rooms(self):
        errors: list[str] = []
        seen: dict[str, set] = {f"r{i}": set() for i in range(self.ROOMS)}
        ids_in: dict[str, set] = {name: set() for name in seen}
        stop = threading.Event()
        self.rooms.connect("peer_joined", lambda room, pid: ids_in[room.name].add(pid))

        def player(name: str, n: int) -> None:
            try:
                for r in range(self.ROUNDS):
                    c = self.ws(path=f"/rooms/{name}")
                    first = c.next_event()
                    my_id = struct.unpack_from("<i", first.data, 9)[0]
                    tag = f"{name}:{my_id}:{r}".encode()
                    for i in range(5):
                        c.send(pkt(my_id, 0, tag))
                        c.send(pkt(my_id, 1, tag))
                    end = time.monotonic() + 0.5
                    while time.monotonic() < end:
                        event = c.next_event(0.05)
                        if isinstance(event, BytesMessage):
                            t, frm, to = H.unpack_from(event.data)
                            if t in (1, 2):  # SYS_ADD / SYS_DEL: the id it names
                                seen[name].add(struct.unpack_from("<i", event.data, 9)[0])
                            elif t == 0:
                                seen[name].add(frm)
                                if not event.data[9:].startswith(f"{name}:".encode()):
                                    errors.append(f"{name} got {event.data[9:]!r}")
                    c.sock.close()
            except Exception as exc:  # reported on the test thread
                errors.append(f"{name}#{n}: {exc!r}")

        server_got: dict[str, list] = {name: [] for name in seen}

        def on_created(room):
            room.connect("peer_packet", lambda src: server_got[room.name].append(room.get_packet()))
        self.rooms.connect("room_created", on_created)
        threads = [threading.Thread(target=player, args=(name, n))
                   for name in seen for n in range(self.PLAYERS)]
        for t in threads:
            t.start()
        end = time.monotonic() + 60
        while any(t.is_alive() for t in threads) and time.monotonic() < end:
            self.server.poll(0.02)
        stop.set()
        for t in threads:
            t.join(5)
        self.assertTrue(poll_until(self.server, lambda: not self.server.get_peer_ids(), 10))
        self.assertEqual(errors, [])
        for name in seen:
            self.assertLessEqual(seen[name] - {1}, ids_in[name], name)  # only ids of its own room
            self.assertEqual(len(ids_in[name]), self.PLAYERS * self.ROUNDS)
            self.assertEqual(len(server_got[name]), self.PLAYERS * self.ROUNDS * 10, name)
            self.assertTrue(all(p.startswith(f"{name}:".encode()) for p in server_got[name]))
        self.assertEqual(len(self.named("peer_left")), self.ROOMS * self.PLAYERS * self.ROUNDS)
