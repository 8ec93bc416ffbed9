"""Real Godot 3.2.3 clients playing a game served by Python's MultiplayerAPI.

Two ``godot3-server`` processes run tests/interop/gd/rpc_client.gd. The Python side is
peer 1 of the game: a multiplayer-mode ``WebSocketServer`` with a ``MultiplayerAPI``
on top, serving ``/root/Game`` (network master 1), ``/root/Players/<id>`` (master: that
player) and ``/root/Main`` (the clients' node for rpcs between themselves). The clients
call ``rpc_id(1, ...)``/``rset_id(1, ...)``, some of which Godot would refuse; the server
calls them back with ``rpc``/``rset`` before and after the paths are confirmed. The
network peer is wrapped so the test sees the MultiplayerAPI packets both ways.
"""
from __future__ import annotations

import logging
import struct
import time
import unittest
from typing import Any, Callable

from godot_ws.enums import Error
from godot_ws.multiplayer_api import MultiplayerAPI, master, puppet, remote
from godot_ws.server import WebSocketServer
from tests.interop import godot
from tests.interop.test_mp_godot import STEP_TIMEOUT, MultiplayerGodotCase

CLIENTS = 2

# MultiplayerAPI commands (first payload byte) and the inline-path flag, Godot 3.2
REMOTE_CALL, REMOTE_SET, SIMPLIFY_PATH, CONFIRM_PATH, RAW = range(5)
INLINE = 0x80000000


class RecordingPeer:
    """The server as MultiplayerAPI's network peer, recording the packets of both ways."""

    def __init__(self, server: WebSocketServer) -> None:
        self._server = server
        self._target = 0
        self._sender = 0
        self.sent: list[tuple[int, bytes]] = []      # (target, payload) the API put
        self.received: list[tuple[int, bytes]] = []  # (sender, payload) the API got

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)

    def set_target_peer(self, peer_id: int) -> None:
        self._target = peer_id
        self._server.set_target_peer(peer_id)

    def put_packet(self, data: bytes) -> Error:
        self.sent.append((self._target, bytes(data)))
        return self._server.put_packet(data)

    def get_packet_peer(self) -> int:
        self._sender = self._server.get_packet_peer()
        return self._sender

    def get_packet(self) -> bytes:
        data = self._server.get_packet()
        self.received.append((self._sender, data))
        return data


class Served:
    """Base of the Python nodes: every member that runs is recorded with its sender."""

    def __init__(self, api: MultiplayerAPI, log: list[tuple]) -> None:
        self.api = api
        self.log = log

    def ran(self, *what: Any) -> None:
        self.log.append((type(self).__name__, self.api.get_rpc_sender_id()) + what)


class Game(Served):
    nick = remote("")
    level = master(0)
    secret = puppet(0)

    @remote
    def hello(self, text):
        self.ran("hello", text)
        sender = self.api.get_rpc_sender_id()
        self.api.get_node("Game").rpc_id(sender, "welcome", f"welcome {sender}")

    @master
    def claim(self, n):
        self.ran("claim", n)

    @puppet
    def puppet_only(self, n):
        self.ran("puppet_only", n)

    def not_rpc(self, n):
        self.ran("not_rpc", n)


class Player(Served):
    hp = puppet(100)

    @puppet
    def move_to(self, x, y):
        self.ran("move_to", x, y)

    @master
    def kick(self):
        self.ran("kick")


class Main(Served):
    @remote
    def to_all(self, text):
        self.ran("to_all", text)

    @remote
    def direct(self, text):
        self.ran("direct", text)


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class RpcGodotTest(MultiplayerGodotCase):
    """test_mp_godot's server and clients, with a MultiplayerAPI handling the server's packets."""

    script = "rpc_client.gd"
    env = {"GODOT_WS_CLIENTS": CLIENTS}

    def setUp(self):
        super().setUp()
        self.server.disconnect("peer_packet", self.drain)  # the MultiplayerAPI reads them
        self.peer = RecordingPeer(self.server)
        self.api = MultiplayerAPI()
        self.api.network_peer = self.peer
        self.calls: list[tuple] = []
        self.game = self.api.register("Game", Game(self.api, self.calls))
        self.api.register("Main", Main(self.api, self.calls))
        self.api.connect("network_peer_connected", self.on_connected)
        self.raw: list[tuple[int, str]] = []
        self.api.connect("network_peer_packet", lambda i, d: self.raw.append((i, d.decode())))
        self.errors = ListHandler()
        logger = logging.getLogger("godot_ws")
        logger.addHandler(self.errors)
        self.addCleanup(logger.removeHandler, self.errors)

    def on_connected(self, peer_id: int) -> None:
        self.api.register(f"Players/{peer_id}", Player(self.api, self.calls), master=peer_id)

    # ------------------------------------------------------------------ helpers

    def until(self, what: str, condition: Callable[[], bool], timeout: float = STEP_TIMEOUT) -> None:
        """Let the MultiplayerAPI poll until ``condition()``; fail early if a Godot client exits."""
        end = time.monotonic() + timeout
        while not condition():
            exited = [r.name for r in self.runs if r.is_done()]
            if exited or time.monotonic() > end:
                self.fail(f"{what}: {f'Godot {exited} exited' if exited else 'timed out'}\n"
                          f"calls: {self.calls}\nraw: {self.raw}\nerrors: {self.errors.messages}\n"
                          f"{self.outputs()}")
            self.api.poll(godot.POLL_STEP)

    def raw_from_all(self, text: str) -> bool:
        """True once every connected client sent ``text`` with send_bytes."""
        peers = self.api.get_network_connected_peers()
        return bool(peers) and all((i, text) in self.raw for i in peers)

    def ran(self, node: str, sender: int, *what: Any) -> bool:
        return (node, sender) + what in self.calls

    def refused(self, sender: int, *words: str) -> list[str]:
        """The error lines that name ``sender`` and every one of ``words``."""
        return [m for m in self.errors.messages
                if f"peer {sender} " in m and all(w in m for w in words)]

    def sent_to(self, since: int) -> list[tuple[int, int, int]]:
        """(target, command, u32 target field or -1) of the packets put since index ``since``."""
        found = []
        for target, data in self.peer.sent[since:]:
            field = struct.unpack_from("<I", data, 1)[0] if data[0] in (REMOTE_CALL, REMOTE_SET) else -1
            found.append((target, data[0], field))
        return found

    # ------------------------------------------------------------------ the game

    def test_godot_clients_play_against_python_multiplayer_api(self):
        runs = [self.start(name) for name in "ab"]
        self.until("both ready", lambda: len(self.api.get_network_connected_peers()) == CLIENTS
                   and self.raw_from_all("ready"))
        ids = self.api.get_network_connected_peers()
        a, b = ids

        # Python calls before any path is confirmed: SIMPLIFY_PATH, then the inline path form,
        # one packet per peer for the broadcast (no poll in between, so no CONFIRM_PATH yet).
        mark = len(self.peer.sent)
        self.game.rset("motd", "hello all")
        for i in ids:
            self.game.rset_id(i, "score", 10)
        simplify = bytes([SIMPLIFY_PATH]) + struct.pack("<I", 1) + b"Game\0"
        self.assertEqual([(t, d) for t, d in self.peer.sent[mark:] if d[0] == SIMPLIFY_PATH],
                         [(a, simplify), (b, simplify)])
        sets = [(t, f & INLINE != 0) for t, c, f in self.sent_to(mark) if c == REMOTE_SET]
        self.assertEqual(sets, [(a, True), (b, True), (a, True), (b, True)])
        self.assertTrue(all(d.endswith(b"Game\0") for t, d in self.peer.sent[mark:]))
        self.assertEqual(self.api.send_bytes(b"go"), Error.OK)

        self.until("round 1", lambda: self.raw_from_all("sent")
                   and all(self.ran("Main", i, "to_all", f"1 from {i}") for i in ids)
                   and all(self.ran("Game", i, "hello", f"hello from {i}") for i in ids)
                   and all("welcome" in r.results and "direct" in r.results for r in runs))
        for i, other in ((a, b), (b, a)):
            # accepted: remote and master on the server's node, puppet from the player's own
            for node, *what in (("Game", "claim", i), ("Player", "move_to", i, 1)):
                self.assertTrue(self.ran(node, i, *what), self.calls)
            self.assertEqual(self.api.get_node(f"Players/{i}").obj.hp, i)
            # refused by the receiver-side checks, logged with peer, node and reason
            self.assertTrue(self.refused(i, "'puppet_only'", "'Game'", "Mode is 3, master is 1"))
            self.assertTrue(self.refused(i, "'not_rpc'", "Mode is 0"))
            self.assertTrue(self.refused(i, "'no_such_method'", "Mode is 0"))
            self.assertTrue(self.refused(i, "RSET 'secret'", "Mode is 3, master is 1"))
            self.assertTrue(self.refused(i, "'kick'", f"Players/{i}", f"Mode is 2, master is {i}"))
            self.assertTrue(self.refused(i, "'move_to'", f"Players/{other}", f"master is {other}"))
            self.assertTrue(self.refused(i, "RSET 'hp'", f"Players/{other}"))
            self.assertTrue([m for m in self.errors.messages if "Invalid call to function 'hello'" in m
                             and f"0 arguments from peer {i}" in m], self.errors.messages)  # wrong arity
            self.assertFalse(self.ran("Main", i, "direct", f"from {i}"))
            # the client's first call named Game inline, before our CONFIRM_PATH reached it
            hello = next(d for s, d in self.peer.received if s == i and b"hello from" in d)
            self.assertEqual(hello[0], REMOTE_CALL)
            self.assertTrue(struct.unpack_from("<I", hello, 1)[0] & INLINE, hello.hex())
            self.assertTrue(hello.endswith(b"Game\0"), hello.hex())
        # rpc_id between the clients: relayed to the other one only
        self.assertEqual(sorted((f, t) for f, t, p in self.relayed if b"direct\0" in p), sorted([(a, b), (b, a)]))
        names = {c[2] for c in self.calls}
        self.assertTrue(names.isdisjoint({"puppet_only", "not_rpc", "kick", "direct"}), self.calls)
        self.assertEqual(sorted(c for c in self.calls if c[2] == "move_to"),
                         sorted([("Player", a, "move_to", a, 1), ("Player", b, "move_to", b, 1)]))
        self.assertIn(self.api.get_node("Game").obj.nick, (f"nick {a}", f"nick {b}"))
        self.assertIn(self.api.get_node("Game").obj.level, (a, b))
        # the replies (welcome) went after each client confirmed Game: cached id 1
        welcome = [(t, f) for t, c, f in self.sent_to(mark) if c == REMOTE_CALL]
        self.assertEqual(sorted(welcome), sorted([(a, 1), (b, 1)]))

        # Round 2, all confirmed: a broadcast is one packet to 0 with the cached id.
        mark = len(self.peer.sent)
        for i in ids:
            self.game.rpc_id(i, "master_only", "Godot must refuse this")
        self.game.rpc("announce", "round 2")
        self.game.rset("motd", "round 2")
        for i in ids:
            self.game.rset_id(i, "score", 20)
        self.assertEqual(self.sent_to(mark), [(a, REMOTE_CALL, 1), (b, REMOTE_CALL, 1), (0, REMOTE_CALL, 1),
                                              (0, REMOTE_SET, 1), (a, REMOTE_SET, 1), (b, REMOTE_SET, 1)])
        self.assertEqual(self.api.send_bytes(b"again"), Error.OK)

        # The clients play on after their refused calls; their paths are cached now.
        self.until("round 2", lambda: self.raw_from_all("sent2") and all("announce" in r.results for r in runs))
        for i in ids:
            self.assertTrue(self.ran("Game", i, "hello", f"again from {i}"), self.calls)
            again = [d for s, d in self.peer.received if s == i and b"again from" in d]
            self.assertEqual(len(again), 1)
            self.assertEqual(again[0][0], REMOTE_CALL)
            self.assertEqual(struct.unpack_from("<I", again[0], 1)[0] & INLINE, 0, again[0].hex())
        self.assertIn(self.api.get_node("Game").obj.nick, (f"still {a}", f"still {b}"))
        self.assertEqual(sorted(self.api.get_network_connected_peers()), sorted(ids))

        self.assertEqual(self.api.send_bytes(b"end"), Error.OK)
        for run in runs:
            run.wait(poll=self.api.poll)
            run.assert_ok(self, "id", "peers", "before_go", "welcome", "direct", "to_all_1", "announce",
                          "final")
            # Godot itself refused the server's call of a master func on a node it does not own
            self.assertTrue([l for l in run.lines if "'master_only' is not allowed" in l], run.output())


if __name__ == "__main__":
    unittest.main()
