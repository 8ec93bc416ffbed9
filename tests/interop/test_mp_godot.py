"""Real Godot 3.2.3 high-level multiplayer clients playing through our server (gd_mp_api=True).

Two ``godot3-server`` processes run tests/interop/gd/mp_client.gd at once; each sets a
``WebSocketClient`` (``connect_to_url(url, PoolStringArray(), true)``) as its tree's
``network_peer``. The test thread polls our server and drives the game with raw packets
(MultiplayerAPI RAW command: ``04`` + text, which a Godot client delivers through
``network_peer_packet``); the clients answer with ``multiplayer.send_bytes`` to the server.
Like a Godot server, the test answers each client's SIMPLIFY_PATH with CONFIRM_PATH, so
that a client's second broadcast ``rpc`` goes out as one ``to = 0`` packet.
"""
from __future__ import annotations

import select
import signal
import struct
import subprocess
import sys
import time
import unittest
from typing import Callable

from godot_ws.enums import Error
from godot_ws.protocol.multiplayer import RelayVerdict
from godot_ws.server import WebSocketServer
from tests.interop import godot
from tests.interop.godot import GodotRun, run_godot_script
from tests.support import default_signals

RUN_TIMEOUT = 20.0
STEP_TIMEOUT = 10.0  # bound on each stage of the game

# MultiplayerAPI network commands (first payload byte), Godot 3.2
REMOTE_CALL, SIMPLIFY_PATH, CONFIRM_PATH, RAW = 0, 2, 3, 4


class MultiplayerGodotCase(unittest.TestCase):
    """A multiplayer-mode server that records its signals and the packets stored for it."""

    script = "mp_client.gd"
    env: dict = {}

    def setUp(self):
        godot.require_godot()
        self.server = WebSocketServer()
        self.addCleanup(self.server.stop)
        self.configure(self.server)
        self.events: list[tuple] = []
        for sig in ("peer_connected", "peer_disconnected", "client_close_request",
                    "client_connected", "client_disconnected", "data_received"):
            self.server.connect(sig, lambda *args, sig=sig: self.events.append((sig,) + args))
        self.server.connect("peer_packet", self.drain)
        self.packets: list[tuple[int, int, bytes]] = []  # (peer_packet source, get_packet_peer, data)
        self.relayed: list[tuple[int, int, bytes]] = []  # (from, to, payload) seen by the policy
        self.server.relay_policy = self.record_relay
        self.assertEqual(self.server.listen(0, [], gd_mp_api=True), Error.OK)
        self.runs: list[GodotRun] = []
        self.gone: set[str] = set()  # runs whose exit is expected (finished or killed)

    def configure(self, server: WebSocketServer) -> None:
        """Hook for subclasses (TLS) before listen."""

    # ------------------------------------------------------------------ server side

    def record_relay(self, frm: int, to: int, payload: bytes):
        self.relayed.append((frm, to, payload))
        return RelayVerdict.ALLOW  # Godot's routing, unchanged

    def drain(self, source: int) -> None:
        while self.server.get_available_packet_count():
            sender = self.server.get_packet_peer()
            data = self.server.get_packet()
            self.packets.append((source, sender, data))
            if data[:1] == bytes([SIMPLIFY_PATH]):  # act as a Godot server: confirm the path
                path = data[5:data.index(b"\0", 5)]
                self.put(sender, bytes([CONFIRM_PATH]) + path + b"\0", raw=False)

    def put(self, target: int, data, raw: bool = True) -> Error:
        """The server's own put_packet to ``target``; ``raw`` text goes as a RAW command."""
        self.server.set_target_peer(target)
        return self.server.put_packet(bytes([RAW]) + data.encode() if raw else data)

    def raw_from(self, peer_id: int) -> list[str]:
        """Texts of the RAW packets (send_bytes) the server got from ``peer_id``."""
        return [d[1:].decode() for _, s, d in self.packets if s == peer_id and d[:1] == bytes([RAW])]

    def named(self, sig: str) -> list[tuple]:
        return [e[1:] for e in self.events if e[0] == sig]

    # ------------------------------------------------------------------ Godot side

    def start(self, name: str, **env) -> GodotRun:
        env = {"GODOT_WS_PORT": self.server.get_port(), **self.env, **env}
        run = run_godot_script(self.script, env, timeout=RUN_TIMEOUT)
        run.name = name
        self.addCleanup(run.kill)
        self.runs.append(run)
        return run

    def outputs(self) -> str:
        return "\n".join(f"--- Godot {r.name}:\n{r.output()}" for r in self.runs)

    def until(self, what: str, condition: Callable[[], bool], timeout: float = STEP_TIMEOUT) -> None:
        """Poll our server until ``condition()``; fail early if a Godot client exits first."""
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                self.fail(f"timed out waiting for {what}\nserver events: {self.events}\n"
                          f"server packets: {self.packets}\n{self.outputs()}")
            finished = [r for r in self.runs if r.name not in self.gone and r.is_done()]
            if finished and not condition():
                for _ in range(5):  # what the exit already caused may still be on its way
                    self.server.poll(0.05)
                if not condition():
                    self.fail(f"Godot {finished[0].name} exited while waiting for {what}\n"
                              f"server events: {self.events}\n{self.outputs()}")
            self.server.poll(0.05)

    def reported(self, *names: str, runs: list[GodotRun] | None = None) -> bool:
        """True once every run (or ``runs``) printed a RESULT line for each of ``names``
        (its output can lag behind the packets it sent)."""
        return all(name in run.results for run in (runs or self.runs) for name in names)

    def result_id(self, run: GodotRun) -> int:
        self.until(f"{run.name}'s id", lambda: "id" in run.results)
        self.assertTrue(run.results["id"].ok, run.output())
        return int(run.results["id"].details)

    def finish(self, run: GodotRun, *expected: str) -> None:
        self.gone.add(run.name)
        run.wait(poll=self.server.poll)
        run.assert_ok(self, *expected)


class TwoPlayersTest(MultiplayerGodotCase):
    def test_join_rpcs_server_packets_and_leave(self):
        a = self.start("a")
        b = self.start("b")
        id_a, id_b = self.result_id(a), self.result_id(b)

        # Join: ids as the server made them; each sees the server first, then the other.
        self.until("both ready", lambda: self.raw_from(id_a) == ["ready"] and self.raw_from(id_b) == ["ready"]
                   and self.reported("peers"))
        self.assertEqual(sorted(self.named("peer_connected")), sorted([(id_a,), (id_b,)]))
        self.assertEqual(a.results["peers"].details, f"connected=[1, {id_b}]")
        self.assertEqual(b.results["peers"].details, f"connected=[1, {id_a}]")
        # send_bytes(…, 1): stored for the server, from the sender (peer_packet and get_packet_peer)
        ready = [(src, sender, d) for src, sender, d in self.packets if d == b"\x04ready"]
        self.assertEqual(sorted(ready), sorted([(id_a, id_a, b"\x04ready"), (id_b, id_b, b"\x04ready")]))
        # nothing of raw mode fires in multiplayer mode
        self.assertEqual([e for e in self.events if e[0] in ("client_connected", "data_received")], [])

        # The server's own put_packet: targeted, broadcast, all-but-one, to itself, unknown.
        self.assertEqual(self.put(id_a, f"to:{id_a}"), Error.OK)
        self.assertEqual(self.put(id_b, f"to:{id_b}"), Error.OK)
        self.assertEqual(self.put(0, "all"), Error.OK)
        self.assertEqual(self.put(-id_a, f"not:{id_a}"), Error.OK)
        self.assertEqual(self.put(1, "to:server"), Error.OK)  # sends nothing, as Godot
        unknown = next(i for i in range(2, 100) if i not in (id_a, id_b))
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(self.put(unknown, "nobody"), Error.FAILED)
        self.assertEqual(self.put(0, "rpc1"), Error.OK)

        # Round 1: rpc_id to the other client and rpc to all, before the paths are confirmed.
        self.until("round 1", lambda: "done1" in self.raw_from(id_a) and "done1" in self.raw_from(id_b)
                   and self.reported("server_packets", "direct", "to_all_1"))
        self.assertEqual(a.results["server_packets"].details, f"to:{id_a},all,rpc1")
        self.assertEqual(b.results["server_packets"].details, f"to:{id_b},all,not:{id_a},rpc1")
        for run, other in ((a, id_b), (b, id_a)):
            self.assertEqual(run.results["direct"], godot.Result("direct", True, f"sender={other} text=from {other}"))
            self.assertEqual(run.results["to_all_1"], godot.Result("to_all_1", True, f"sender={other} text=1 from {other}"))
        # unconfirmed paths: Godot sent the broadcast as one packet per peer (to=1, to=other);
        # the server got its copy (stored for it, as a Godot server would run it)
        for me, other in ((id_a, id_b), (id_b, id_a)):
            self.assertEqual(sorted(self.relayed_to(me, f"1 from {me}")), sorted([1, other]), self.relayed)
            self.assertTrue(self.rpc_calls(me, f"1 from {me}"), self.packets)
        # send_bytes to -other: stored for the server, relayed to nobody else (2 players);
        # to -1: relayed to the other client and, unlike Godot 3 (README, Differences), not stored
        self.assertEqual(self.raw_from(id_a), ["ready", f"except {id_b}", "done1"])
        self.assertEqual(self.raw_from(id_b), ["ready", f"except {id_a}", "done1"])

        # Round 2: every path confirmed, so a broadcast rpc is one to=0 packet the server relays.
        self.relayed.clear()
        self.assertEqual(self.put(0, "rpc2"), Error.OK)
        self.until("round 2", lambda: "done2" in self.raw_from(id_a) and "done2" in self.raw_from(id_b)
                   and self.reported("client_packets", "to_all_2"))
        for run, other in ((a, id_b), (b, id_a)):
            self.assertEqual(run.results["client_packets"].details, f"{other}:not for the server")
            self.assertEqual(run.results["to_all_2"].details, f"sender={other} text=2 from {other}")
        for me in (id_a, id_b):
            self.assertEqual(self.relayed_to(me, f"2 from {me}"), [0], self.relayed)
            self.assertTrue(self.rpc_calls(me, f"2 from {me}"), self.packets)

        # B leaves mid-game: A sees network_peer_disconnected and plays on alone.
        self.assertEqual(self.put(id_b, "leave"), Error.OK)
        self.finish(b, "id", "peers", "server_packets", "direct", "to_all_1", "client_packets", "to_all_2",
                    "left")
        self.until("A alone", lambda: "alone" in self.raw_from(id_a) and self.reported("peer_left", runs=[a]))
        self.assertEqual(self.named("peer_disconnected"), [(id_b,)])
        self.assertEqual(self.named("client_close_request"), [(id_b, 1000, "leaving")])
        self.assertEqual(a.results["peer_left"].details, f"disconnected=[{id_b}] others=[]")
        self.assertTrue(self.rpc_calls(id_a, f"alone from {id_a}"), self.packets)
        self.assertEqual(self.server.get_peer_ids(), [id_a])

        self.assertEqual(self.put(id_a, "end"), Error.OK)
        self.finish(a, "id", "peers", "server_packets", "direct", "to_all_1", "client_packets", "to_all_2",
                    "peer_left", "seen", "left")
        self.assertEqual(a.results["seen"].details, f"connected=[1, {id_b}] disconnected=[{id_b}]")
        self.until("A gone", lambda: len(self.named("peer_disconnected")) == 2)
        self.assertEqual(self.named("peer_disconnected"), [(id_b,), (id_a,)])
        # rpc_id between clients (to = the other peer) is relayed only, never stored for the server
        self.assertEqual([d for _, _, d in self.packets if b"direct\0" in d], [])

    def relayed_to(self, sender: int, text: str) -> list[int]:
        """The ``to`` of each packet from ``sender`` containing ``text`` (as the relay policy saw them)."""
        return [to for frm, to, p in self.relayed if frm == sender and text.encode() in p]

    def rpc_calls(self, sender: int, text: str) -> list[bytes]:
        """REMOTE_CALLs of ``to_all(text)`` from ``sender`` stored for the server."""
        arg = struct.pack("<ii", 4, len(text)) + text.encode()
        return [d for _, s, d in self.packets
                if s == sender and d[:1] == bytes([REMOTE_CALL]) and b"to_all\0" in d and arg in d]


class ClientKilledTest(MultiplayerGodotCase):
    def test_other_client_sees_a_killed_client_leave(self):
        a = self.start("a")
        b = self.start("b")
        id_a, id_b = self.result_id(a), self.result_id(b)
        self.until("both ready", lambda: self.raw_from(id_a) == ["ready"] and self.raw_from(id_b) == ["ready"])
        self.gone.add("b")
        b.kill()  # no close frame: the TCP connection just ends
        self.until("A alone", lambda: "alone" in self.raw_from(id_a) and self.reported("peer_left", runs=[a]))
        self.assertEqual(a.results["peer_left"].details, f"disconnected=[{id_b}] others=[]")
        self.assertEqual(self.named("peer_disconnected"), [(id_b,)])
        self.assertEqual(self.named("client_close_request"), [])
        self.assertEqual(self.put(id_a, "end"), Error.OK)
        self.finish(a, "id", "peers", "peer_left", "seen", "left")
        self.assertEqual(a.results["seen"].details, f"connected=[1, {id_b}] disconnected=[{id_b}]")


SAMPLE_CLIENT = godot.GD_DIR.parents[2] / "samples" / "godot" / "mp_relay_client.gd"


class SampleClientTest(MultiplayerGodotCase):
    """samples/godot/mp_relay_client.gd, twice, through our relay (each stays 3 s)."""

    script = SAMPLE_CLIENT

    def test_two_sample_clients_see_each_other_and_exchange_rpcs(self):
        url = f"ws://127.0.0.1:{self.server.get_port()}"
        a = self.start("a", GODOT_WS_URL=url)
        b = self.start("b", GODOT_WS_URL=url)
        self.until("both joined", lambda: len(self.named("peer_connected")) == 2
                   and all(any("joined the game" in line for line in r.lines) for r in self.runs))
        self.gone.update(("a", "b"))
        self.assertEqual([a.wait(poll=self.server.poll), b.wait(poll=self.server.poll)], [0, 0], self.outputs())
        ids = check_sample_clients(self, a, b)
        self.assertEqual(sorted(self.named("peer_connected")), sorted((i,) for i in ids))
        for i in ids:
            self.assertEqual(self.raw_from(i), ["hi server"])
        self.until("both gone", lambda: len(self.named("peer_disconnected")) == 2)
        self.assertEqual(sorted(self.named("client_close_request")), sorted((i, 1000, "bye") for i in ids))


class ScriptRelayTest(unittest.TestCase):
    """Relay servers run as scripts, each with two sample clients: ``python -m godot_ws
    serve`` (relay mode by default) and samples/relay_server.py."""

    def run_relay(self, args: list[str], stop: int) -> tuple[list[int], str]:
        """Start the relay, play two sample clients through it, stop it with ``stop``;
        returns the clients' ids and the relay's output."""
        godot.require_godot()
        root = SAMPLE_CLIENT.parents[2]
        server = subprocess.Popen(preexec_fn=default_signals, args=[sys.executable, "-u"] + args, cwd=root, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        self.addCleanup(server.stdout.close)  # cleanups run last-in first-out: kill, reap, close
        self.addCleanup(server.wait, 10)
        self.addCleanup(server.kill)
        ready, _, _ = select.select([server.stdout], [], [], STEP_TIMEOUT)
        line = server.stdout.readline() if ready else ""
        self.assertRegex(line, r"listening on ws://127\.0\.0\.1:\d+$")
        url = line.split()[-1]
        runs = [GodotRun(SAMPLE_CLIENT, {"GODOT_WS_URL": url}, RUN_TIMEOUT).start() for _ in range(2)]
        for run in runs:
            self.addCleanup(run.kill)
        self.assertEqual([run.wait() for run in runs], [0, 0], "\n".join(r.output() for r in runs))
        ids = check_sample_clients(self, *runs)
        server.send_signal(stop)
        self.assertEqual(server.wait(STEP_TIMEOUT), 0)
        return ids, server.stdout.read()

    def test_cli_serve(self):
        self.run_relay(["-m", "godot_ws", "serve", "--port", "0"], signal.SIGTERM)

    def test_sample_relay_server(self):
        ids, log = self.run_relay(["samples/relay_server.py", "0"], signal.SIGINT)
        for i in ids:
            for what in (f"player {i} joined from 127.0.0.1", f"player {i} says: hi server", f"player {i} left"):
                self.assertIn(what, log)


def check_sample_clients(test: unittest.TestCase, a: GodotRun, b: GodotRun) -> list[int]:
    """Check what two sample clients printed (they met, greeted, answered, shouted); their ids."""
    def my_id(run):
        return int(next(line for line in run.lines if "joined the game" in line).split()[-1])
    ids = {a: my_id(a), b: my_id(b)}
    for run, other in ((a, ids[b]), (b, ids[a])):
        me = ids[run]
        for line in (f"player {other} is here", f"player {other} greets me: hello {me}, I am {other}",
                     f"player {other} answers: nice to meet you, {me}",
                     f"player {other} shouts to all: hello everybody, I am {other}", "left the game"):
            test.assertIn(line, run.lines, f"{a.output()}\n{b.output()}")
    return list(ids.values())


if __name__ == "__main__":
    unittest.main()
