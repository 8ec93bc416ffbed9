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
from tests.interop.godot import run_godot_script
from tests.support import fd_count

RUN_TIMEOUT = 30.0
WAIT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GodotServerCase(unittest.TestCase):
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
        self.godot = run_godot_script("server_host.gd", env, timeout=RUN_TIMEOUT)
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
