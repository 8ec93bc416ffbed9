"""Real Godot 3.2.3 clients in two rooms of one server, each room its own authoritative game.

Four ``godot3-server`` processes run tests/interop/gd/room_client.gd: two in ``/rooms/red``,
two in ``/rooms/blue``. Every room gets its own Python ``MultiplayerAPI`` (made on
``room_created``) serving ``/root/Game``; each client calls ``rpc_id(1, "hello", room)``
and the room's server answers that client only. Each pair must see only its partner
(ids, rpcs through the relay) and the lobby must follow the players as they come and go.
"""
from __future__ import annotations

import json
import time
import unittest
import urllib.request
from typing import Any, Callable

from godot_ws import MultiplayerAPI, Room, Rooms, WebSocketServer, remote
from godot_ws.enums import Error
from godot_ws.protocol.multiplayer import RelayVerdict
from tests.interop import godot
from tests.interop.godot import GodotRun, run_godot_script

RUN_TIMEOUT = 40.0
STEP_TIMEOUT = 25.0
GRACE = 0.5


class Main:
    """The clients' /root/Main: a broadcast rpc among them reaches the server too."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    @remote
    def to_all(self, text):
        self.texts.append(text)


class Game:
    """The server's /root/Game of one room."""

    def __init__(self, room: Room, api: MultiplayerAPI) -> None:
        self.room = room
        self.api = api
        self.hellos: list[tuple[int, str]] = []

    @remote
    def hello(self, room_name):
        sender = self.api.get_rpc_sender_id()
        self.hellos.append((sender, room_name))
        self.api.get_node("Game").rpc_id(sender, "welcome", f"{self.room.name} welcomes {sender}")


class RoomsGodotTest(unittest.TestCase):
    def setUp(self):
        godot.require_godot()
        self.server = WebSocketServer()
        self.addCleanup(self.server.stop)
        self.server.rooms = Rooms(max_peers=2, grace=GRACE)
        self.apis: dict[str, MultiplayerAPI] = {}
        self.games: dict[str, Game] = {}
        self.mains: dict[str, Main] = {}
        self.raw: dict[str, list[tuple[int, bytes]]] = {}
        self.relayed: dict[str, list[tuple[int, int]]] = {}
        self.closed: list[str] = []
        self.server.rooms.connect("room_created", self.on_room_created)
        self.server.rooms.connect("room_closed", lambda room: self.closed.append(room.name))
        self.assertEqual(self.server.listen(0, [], gd_mp_api=True), Error.OK)
        self.base = f"127.0.0.1:{self.server.get_port()}"
        self.runs: list[GodotRun] = []

    def on_room_created(self, room: Room) -> None:
        name = room.name
        api = MultiplayerAPI()
        api.network_peer = room
        self.apis[name] = api
        self.games[name] = Game(room, api)
        api.register("Game", self.games[name])
        self.mains[name] = Main()
        api.register("Main", self.mains[name])
        self.raw[name] = []
        api.connect("network_peer_packet", lambda sender, data: self.raw[name].append((sender, data)))
        self.relayed[name] = []

        def policy(frm: int, to: int, payload: bytes) -> RelayVerdict:
            self.relayed[name].append((frm, to))
            return RelayVerdict.ALLOW
        room.relay_policy = policy

    def start(self, room: str) -> GodotRun:
        env = {"GODOT_WS_PORT": self.server.get_port(), "GODOT_WS_PATH": f"/rooms/{room}",
               "GODOT_WS_ROOM": room, "GODOT_WS_CLIENTS": 2}
        run = run_godot_script("room_client.gd", env, timeout=RUN_TIMEOUT)
        run.name = f"{room}-{len(self.runs)}"
        self.addCleanup(run.kill)
        self.runs.append(run)
        return run

    def poll(self, step: float = godot.POLL_STEP) -> None:
        """One server poll, then every room's MultiplayerAPI runs what came for it."""
        self.server.poll(step)
        for api in list(self.apis.values()):
            api.poll(0)

    def until(self, what: str, condition: Callable[[], bool], timeout: float = STEP_TIMEOUT) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                self.fail(f"timed out waiting for {what}\nraw: {self.raw}\n{self.outputs()}")
            self.poll()

    def outputs(self) -> str:
        return "\n".join(f"--- Godot {r.name}:\n{r.output()}" for r in self.runs)

    def lobby(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"http://{self.base}/rooms", timeout=10) as answer:
            self.assertEqual(answer.headers["Content-Type"], "application/json")
            return json.loads(answer.read())["rooms"]

    def players(self, room: str) -> list[int]:
        return self.apis[room].get_network_connected_peers()

    def said(self, room: str, text: bytes) -> list[int]:
        return sorted(s for s, d in self.raw[room] if d == text)

    def test_two_rooms_two_players_each(self):
        self.assertEqual(self.lobby(), [])
        runs = {"red": [self.start("red"), self.start("red")],
                "blue": [self.start("blue"), self.start("blue")]}
        self.until("all four done", lambda: all(
            len(self.raw.get(room, [])) and self.said(room, b"done") == self.players(room)
            and len(self.players(room)) == 2 for room in runs))
        # The lobby while everybody plays.
        self.assertEqual(sorted(self.lobby(), key=lambda r: r["name"]), [
            {"name": "blue", "players": 2, "max": 2, "sealed": False, "metadata": {}},
            {"name": "red", "players": 2, "max": 2, "sealed": False, "metadata": {}},
        ])
        red, blue = self.players("red"), self.players("blue")
        self.assertTrue(set(red).isdisjoint(blue))
        for room, ids in (("red", red), ("blue", blue)):
            # Each room's own server got its players' hellos, naming their own room.
            self.assertEqual(sorted(self.games[room].hellos), sorted((i, room) for i in ids))
            self.assertEqual(self.said(room, b"ready"), ids)
            self.assertEqual(sorted(self.mains[room].texts), sorted(f"{room} from {i}" for i in ids))
            # Their rpcs to each other went through this room's relay only.
            a, b = ids
            to_all = {(f, t) for f, t in self.relayed[room] if t not in (1,)}
            self.assertTrue(to_all <= {(a, 0), (b, 0), (a, b), (b, a)}, self.relayed[room])
            self.assertTrue({f for f, _ in to_all} == {a, b}, self.relayed[room])
        for room, ids in (("red", red), ("blue", blue)):
            for run in runs[room]:
                self.until(f"{run.name} reported", lambda run=run: "to_all" in run.results
                           and "welcome" in run.results)
                me = int(run.results["id"].details)
                partner = next(i for i in ids if i != me)
                self.assertIn(me, ids)
                self.assertEqual(run.results["peers"].details, f"connected=[1, {partner}]", run.output())
                self.assertEqual(run.results["to_all"].details, f"sender={partner} text={room} from {partner}")
                self.assertEqual(run.results["welcome"].details, f"sender=1 text={room} welcomes {me}")

        # Red ends: its players leave, the lobby follows, and red closes after its grace.
        red_room = self.server.rooms.get_room("red")
        self.assertEqual(self.apis["red"].send_bytes(b"end"), Error.OK)
        for run in runs["red"]:
            run.wait(poll=lambda step: self.poll(step))
            run.assert_ok(self, "id", "peers", "welcome", "to_all", "seen", "left")
        self.until("red empty", lambda: not red_room.get_peer_ids())
        listed = {r["name"]: r["players"] for r in self.lobby()}
        if "red" in listed:  # still in its grace period
            self.assertEqual(listed, {"red": 0, "blue": 2})
        self.until("red closed", lambda: self.closed == ["red"])
        self.assertEqual([(r["name"], r["players"]) for r in self.lobby()], [("blue", 2)])
        self.assertEqual(self.players("blue"), blue)

        self.assertEqual(self.apis["blue"].send_bytes(b"end"), Error.OK)
        for run in runs["blue"]:
            run.wait(poll=lambda step: self.poll(step))
            run.assert_ok(self, "id", "peers", "welcome", "to_all", "seen", "left")
        self.until("blue closed", lambda: self.closed == ["red", "blue"])
        self.assertEqual(self.lobby(), [])
        for run in self.runs:
            seen = run.results["seen"].details
            me = int(run.results["id"].details)
            partner = next(i for i in (red if me in red else blue) if i != me)
            self.assertIn(seen, (f"connected=[1, {partner}] disconnected=[]",
                                 f"connected=[1, {partner}] disconnected=[{partner}]"), run.output())


if __name__ == "__main__":
    unittest.main()
