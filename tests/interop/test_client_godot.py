"""The Python WebSocketClient against a real Godot 3.2.3 WebSocketServer (gd/server_host.gd).

Godot 3.2's server cannot listen on port 0 and report it, so each test takes a
free port from the kernel and hands it to Godot (bind, read, close). Godot prints
one ``EV`` line per event it sees; the tests check both sides.
"""
from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
import unittest
from pathlib import Path

from godot_ws import WebSocketClient, WriteMode
from godot_ws.testing import self_signed
from tests.interop import godot
from tests.interop.godot import GodotRun, run_godot_script
from tests.support import fd_count

RUN_TIMEOUT = 30.0
WAIT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GodotServerCase(unittest.TestCase):
    script = "server_host.gd"
    mode = "raw"
    protocols = "chat"
    tls = False

    def setUp(self):
        godot.require_godot()
        self.threads = threading.active_count()
        self.fds = fd_count()
        self.addCleanup(self.check_released)
        self.port = free_port()
        env = {"GODOT_WS_PORT": self.port, "GODOT_WS_MODE": self.mode,
               "GODOT_WS_PROTOCOLS": self.protocols, "GODOT_WS_TIMEOUT": RUN_TIMEOUT - 2}
        if self.tls:
            tmp = tempfile.TemporaryDirectory(prefix="godot_ws_client_")
            self.addCleanup(tmp.cleanup)
            key, cert = self_signed("localhost")
            env["GODOT_WS_TLS_KEY"] = str(Path(tmp.name) / "key.pem")
            env["GODOT_WS_TLS_CERT"] = str(Path(tmp.name) / "cert.pem")
            key.save(env["GODOT_WS_TLS_KEY"])
            cert.save(env["GODOT_WS_TLS_CERT"])
        self.godot = run_godot_script(self.script, env, timeout=RUN_TIMEOUT)
        self.addCleanup(self.godot.kill)
        self.clients: list[WebSocketClient] = []
        self.wait_until(lambda: any(line.startswith("LISTENING") for line in self.godot.lines),
                        "Godot listening")
        self.assertIn("LISTENING 0", self.godot.lines, self.godot.output())
        self.scheme = "wss" if self.tls else "ws"

    def check_released(self):
        for client in self.clients:
            client.stop()
        end = time.monotonic() + WAIT
        while threading.active_count() > self.threads + 1 and time.monotonic() < end:  # + Godot's reader
            time.sleep(0.01)
        self.assertLessEqual(threading.active_count(), self.threads + 1, "client threads left")

    def client(self, **connect) -> tuple[WebSocketClient, list]:
        client = WebSocketClient()
        self.clients.append(client)
        fired: list = []
        for info in client.get_signal_list():
            name = info["name"]
            client.connect(name, lambda *a, name=name: fired.append((name,) + a))
        if self.tls:
            client.trusted_ssl_certificate = self_signed("localhost")[1]
        return client, fired

    def wait_until(self, predicate, what: str) -> None:
        end = time.monotonic() + WAIT
        while not predicate():
            if time.monotonic() > end:
                self.fail(f"no {what} within {WAIT} s\nGodot:\n{self.godot.output()}")
            for client in self.clients:
                client.poll(0)
            time.sleep(0.01)

    def wait_signal(self, fired: list, name: str) -> tuple:
        self.wait_until(lambda: any(f[0] == name for f in fired), name)
        for i, f in enumerate(fired):
            if f[0] == name:
                return fired.pop(i)[1:]
        raise AssertionError(name)

    def godot_saw(self, line: str) -> None:
        self.wait_until(lambda: line in self.godot.lines, f"Godot line {line!r}")

    def quit_godot(self, client: WebSocketClient) -> None:
        if self.mode == "mp":
            client.set_target_peer(1)
            client.put_packet(b"quit")
        else:
            client.get_peer(1).set_write_mode(WriteMode.WRITE_MODE_TEXT)
            client.get_peer(1).put_packet(b"quit")
        self.wait_until(self.godot.is_done, "Godot exit")
        self.assertIn("DONE", self.godot.lines, self.godot.output())


class RawGodotServerTest(GodotServerCase):
    protocols = "superchat,chat"

    def test_round_trips_subprotocol_headers_and_close_codes(self):
        a, fired = self.client()
        a.connect_to_url(f"ws://127.0.0.1:{self.port}/game", ["nope", "chat", "superchat"],
                         custom_headers=["X-Player: ada", "Cookie: k=v"])
        self.assertEqual(self.wait_signal(fired, "connection_established"), ("chat",))
        peer = a.get_peer(1)
        peer.put_packet(b"\x00\x01\xff")
        self.wait_signal(fired, "data_received")
        self.assertEqual((peer.get_packet(), peer.was_string_packet()), (b"\x00\x01\xff", False))
        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT)
        peer.put_packet("héllo".encode())
        self.wait_signal(fired, "data_received")
        self.assertEqual((peer.get_packet(), peer.was_string_packet()), ("héllo".encode(), True))
        peer.set_write_mode(WriteMode.WRITE_MODE_BINARY)
        value = {"pos": [1, 2.5], "name": "ada"}
        peer.put_var(value)
        self.wait_signal(fired, "data_received")
        self.assertEqual(peer.get_var(), value)
        self.assertTrue(any(line.startswith("EV data ") and line.endswith(" text 68c3a96c6c6f")
                            for line in self.godot.lines), self.godot.output())

        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT)
        peer.put_packet(b"kick")  # Godot closes us: 4002 "bye"
        self.assertEqual(self.wait_signal(fired, "server_close_request"), (4002, "bye"))
        self.assertEqual(self.wait_signal(fired, "connection_closed"), (True,))

        b, fired_b = self.client()
        b.connect_to_url(f"ws://127.0.0.1:{self.port}/", ["superchat"])
        self.assertEqual(self.wait_signal(fired_b, "connection_established"), ("superchat",))
        b.disconnect_from_host(4001, "done")
        self.assertEqual(self.wait_signal(fired_b, "connection_closed"), (True,))
        self.wait_until(lambda: any(line.startswith("EV close_request ") and line.endswith(" 4001 [done]")
                                    for line in self.godot.lines), "Godot's close_request 4001")

        c, fired_c = self.client()
        c.connect_to_url(f"ws://127.0.0.1:{self.port}/", ["chat"])
        self.wait_signal(fired_c, "connection_established")
        self.quit_godot(c)

    def test_refused_subprotocol_is_a_connection_error(self):
        a, fired = self.client()
        with self.assertLogs("godot_ws", logging.WARNING) as logs:
            a.connect_to_url(f"ws://127.0.0.1:{self.port}/", ["other"])
            self.wait_signal(fired, "connection_error")
        self.assertIn("ws://127.0.0.1", "\n".join(logs.output))
        b, fired_b = self.client()
        b.connect_to_url(f"ws://127.0.0.1:{self.port}/", ["chat"])
        self.wait_signal(fired_b, "connection_established")
        self.quit_godot(b)


class MultiplayerGodotServerTest(GodotServerCase):
    mode = "mp"
    protocols = ""

    def test_two_python_players_in_a_godot_hosted_game(self):
        a, fired_a = self.client()
        a.connect_to_url(f"ws://127.0.0.1:{self.port}/", gd_mp_api=True)
        self.wait_signal(fired_a, "connection_succeeded")
        a_id = a.get_unique_id()
        self.assertGreater(a_id, 1)
        self.assertEqual(self.wait_signal(fired_a, "peer_connected"), (1,))
        self.godot_saw(f"EV peer_connected {a_id}")

        b, fired_b = self.client()
        b.connect_to_url(f"ws://127.0.0.1:{self.port}/", gd_mp_api=True)
        self.wait_signal(fired_b, "connection_succeeded")
        b_id = b.get_unique_id()
        self.assertEqual(self.wait_signal(fired_a, "peer_connected"), (b_id,))
        self.assertEqual(b.get_peer_ids(), sorted([1, a_id]))

        a.set_target_peer(1)
        a.put_packet(b"hi server")
        self.godot_saw(f"EV peer_packet {a_id} {b'hi server'.hex()}")
        self.assertEqual(self.wait_signal(fired_a, "peer_packet"), (1,))
        self.assertEqual(a.get_packet(), b"ack:hi server")

        a.set_target_peer(b_id)
        a.put_var({"to": "b"})  # relayed by Godot, not for the server
        self.assertEqual(self.wait_signal(fired_b, "peer_packet"), (a_id,))
        self.assertEqual((b.get_packet_peer(), b.get_var()), (a_id, {"to": "b"}))

        b.set_target_peer(0)
        b.put_packet(b"all")
        self.assertEqual(self.wait_signal(fired_a, "peer_packet"), (b_id,))
        self.assertEqual(a.get_packet(), b"all")
        self.godot_saw(f"EV peer_packet {b_id} {b'all'.hex()}")

        b.disconnect_from_host()
        self.assertEqual(self.wait_signal(fired_a, "peer_disconnected"), (b_id,))
        self.wait_signal(fired_b, "server_disconnected")
        self.quit_godot(a)  # Godot's stop() closes us: the session ends
        self.wait_signal(fired_a, "server_disconnected")
        self.assertFalse([f for f in fired_a + fired_b if f[0] == "connection_failed"])


class GodotHostedGameTest(GodotServerCase):
    """A Godot-hosted game (gd/game_host.gd: Godot's server as its SceneTree's network
    peer) with two players: a Godot one (gd/mp_client.gd) and this process, a
    WebSocketClient under a Python MultiplayerAPI."""

    script = "game_host.gd"

    def test_python_player_and_godot_player(self):
        from godot_ws import MultiplayerAPI, puppet, remote

        seen: list[tuple] = []  # (what, sender, ...) on the Python player

        class Main:  # mp_common.gd's /root/Main
            @remote
            def direct(self, text):
                seen.append(("direct", api.get_rpc_sender_id(), text))

            @remote
            def to_all(self, text):
                seen.append(("to_all", api.get_rpc_sender_id(), text))

        class Game:  # game_host.gd's /root/Game
            score = puppet(0)
            nick = remote("")

            @puppet
            def welcome(self, text):
                seen.append(("welcome", api.get_rpc_sender_id(), text))

        client, _ = self.client()
        client.connect_to_url(f"ws://127.0.0.1:{self.port}/", gd_mp_api=True)
        api = MultiplayerAPI()
        api.network_peer = client  # connecting, before the first poll, as in Godot
        main = api.register("Main", Main())
        game = api.register("Game", Game())
        for name in ("network_peer_connected", "network_peer_disconnected", "server_disconnected"):
            api.connect(name, lambda *a, name=name: seen.append((name,) + a))
        api.connect("network_peer_packet", lambda sender, data: seen.append(("raw", sender, data)))

        def until(what: str, predicate) -> None:
            end = time.monotonic() + WAIT
            while not predicate():
                if time.monotonic() > end:
                    self.fail(f"no {what} within {WAIT} s\nPython saw {seen}\n"
                              f"Godot host:\n{self.godot.output()}\nGodot player:\n{player and player.output()}")
                api.poll(0.01)

        player: GodotRun | None = None
        until("an id", lambda: client.get_unique_id() > 1 and ("network_peer_connected", 1) in seen)
        me = client.get_unique_id()
        game.rpc_id(1, "hello", f"hello from {me}")
        game.rset_id(1, "nick", f"py {me}")
        until("welcome", lambda: ("welcome", 1, f"welcome {me}") in seen)
        self.godot_saw(f"EV hello {me} hello from {me}")
        self.godot_saw(f"EV nick {me} py {me}")

        player = run_godot_script("mp_client.gd", {"GODOT_WS_PORT": self.port, "GODOT_WS_CLIENTS": 2},
                                  timeout=RUN_TIMEOUT)
        self.addCleanup(player.kill)
        until("the Godot player", lambda: any(e[0] == "network_peer_connected" and e[1] != 1
                                               for e in seen))
        them = next(e[1] for e in seen if e[0] == "network_peer_connected" and e[1] != 1)
        api.send_bytes(b"ready", 1)
        until("rpc1", lambda: ("raw", 1, b"rpc1") in seen)
        self.assertEqual(game.obj.score, 7)  # the host's rset went out before rpc1
        main.rpc_id(them, "direct", f"from {me}")  # relayed by Godot's server
        main.rpc("to_all", f"1 from {me}")  # to the host and to the Godot player
        api.send_bytes(b"not for the server", -1)
        until("the Godot player's round", lambda: {("direct", them, f"from {them}"),
                                                  ("to_all", them, f"1 from {them}"),
                                                  ("raw", them, b"not for the server")} <= set(seen))
        api.send_bytes(b"done1", 1)
        until("end", lambda: ("raw", 1, b"end") in seen)
        until("the Godot player leaving", lambda: ("network_peer_disconnected", them) in seen)
        client.disconnect_from_host()
        until("the session's end", lambda: ("server_disconnected",) in seen)
        player.wait(WAIT)
        player.assert_ok(self, "id", "peers", "server_packets", "direct", "to_all_1", "seen", "left")
        self.assertFalse([line for line in player.lines if "ERROR" in line], player.output())
        self.godot_saw(f"EV to_all {me} 1 from {me}")
        self.godot_saw("DONE")
        self.assertFalse(any(e[0] == "raw" and e[2].startswith(b"except") for e in seen), seen)


class WssGodotServerTest(GodotServerCase):
    tls = True

    def test_verified_and_refused(self):
        a, fired = self.client()
        a.connect_to_url(f"wss://localhost:{self.port}/", ["chat"])
        self.assertEqual(self.wait_signal(fired, "connection_established"), ("chat",))
        a.get_peer(1).put_packet(b"over tls")
        self.wait_signal(fired, "data_received")
        self.assertEqual(a.get_peer(1).get_packet(), b"over tls")

        b, fired_b = self.client()
        b.trusted_ssl_certificate = None  # the system's roots: a self-signed one fails
        with self.assertLogs("godot_ws", logging.WARNING) as logs:
            b.connect_to_url(f"wss://localhost:{self.port}/", ["chat"])
            self.wait_signal(fired_b, "connection_error")
        self.assertIn("does not verify", "\n".join(logs.output))
        self.quit_godot(a)


if __name__ == "__main__":
    unittest.main()
