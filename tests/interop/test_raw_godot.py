"""Real Godot 3.2.3 WebSocketClients against our raw-mode server (gd_mp_api=False).

Each test starts one GDScript client from tests/interop/gd/ and polls our server
on the test thread while Godot runs. Expected client-side values (was_clean,
close codes, reasons, protocols) are what the same scripts report against a real
Godot 3.2.3 WebSocketServer.
"""
from __future__ import annotations

import contextlib
import time
import unittest
from unittest import mock

from godot_ws.enums import Error, WriteMode
from godot_ws.server import WebSocketServer
from tests.interop import godot
from tests.interop.godot import run_godot_script

RUN_TIMEOUT = 20.0
SETTLE = 5.0  # bound on waiting for our server's own signals after Godot exits


class HarnessTest(unittest.TestCase):
    def test_results_exit_code_and_done_are_collected(self):
        with run_godot_script("raw_subprotocol.gd", {"GODOT_WS_PORT": ""}, timeout=RUN_TIMEOUT) as g:
            self.assertEqual(g.wait(), 1)
        self.assertTrue(g.done)
        self.assertEqual(g.results["setup"], godot.Result("setup", False, "GODOT_WS_PORT is not set"))
        with self.assertRaises(AssertionError):
            g.assert_ok(self)

    def test_missing_godot_fails_unless_skip_allowed(self):
        with mock.patch.object(godot, "GODOT", None):
            with mock.patch.dict("os.environ", {"GODOT_WS_ALLOW_SKIP": ""}):
                with self.assertRaisesRegex(RuntimeError, "godot3-server"):
                    godot.require_godot()
            with mock.patch.dict("os.environ", {"GODOT_WS_ALLOW_SKIP": "1"}):
                with self.assertRaises(unittest.SkipTest):
                    godot.require_godot()


class RawServerCase(unittest.TestCase):
    """A raw-mode server on 127.0.0.1 that records its signals."""

    bind_ip = "127.0.0.1"

    def setUp(self):
        godot.require_godot()
        self.make_server()

    def make_server(self):
        self.server = WebSocketServer()
        self.addCleanup(self.server.stop)
        self.server.bind_ip = self.bind_ip
        self.events = []
        for sig in ("client_connected", "client_disconnected", "client_close_request"):
            self.server.connect(sig, lambda *args, sig=sig: self.events.append((sig,) + args))

    def listen(self, protocols=()):
        self.assertEqual(self.server.listen(0, protocols), Error.OK)

    def run_client(self, script, **env):
        env.setdefault("GODOT_WS_PORT", self.server.get_port())
        g = run_godot_script(script, env, timeout=RUN_TIMEOUT)
        self.addCleanup(g.kill)
        g.wait(poll=self.server.poll)
        return g

    def named(self, sig):
        return [e[1:] for e in self.events if e[0] == sig]

    def settle(self, sig):
        """Poll until our server emitted ``sig`` (bounded); return its emissions."""
        end = time.monotonic() + SETTLE
        while not self.named(sig) and time.monotonic() < end:
            self.server.poll(0.05)
        return self.named(sig)


class EchoTest(RawServerCase):
    def echo_same_type(self, id):
        peer = self.server.get_peer(id)
        while peer.get_available_packet_count():
            data = peer.get_packet()
            text = peer.was_string_packet()
            peer.set_write_mode(WriteMode.WRITE_MODE_TEXT if text else WriteMode.WRITE_MODE_BINARY)
            self.assertEqual(peer.put_packet(data), Error.OK)

    def test_text_and_binary_echo(self):
        self.server.connect("data_received", self.echo_same_type)
        self.listen()
        g = self.run_client("raw_echo.gd")
        g.assert_ok(self, "connected", "bin_1", "text_1", "bin_125", "text_125", "bin_126", "text_126",
                    "bin_65535", "text_65535", "text_utf8", "text_utf8_60000", "burst_19", "closed")
        # as against a Godot server: Godot's client reports an unclean close after closing first
        self.assertEqual(g.results["closed"].details, "was_clean=False")
        (connected,) = self.named("client_connected")
        self.assertEqual(connected[1], "")
        self.assertEqual(self.named("client_close_request"), [(connected[0], 1000, "echo done")])
        self.assertEqual(self.settle("client_disconnected"), [(connected[0], True)])

    def test_default_write_mode_is_binary_as_godot(self):
        def echo(id):
            peer = self.server.get_peer(id)
            peer.put_packet(peer.get_packet())
        self.server.connect("data_received", echo)
        self.listen()
        g = self.run_client("raw_echo.gd", GODOT_WS_SIZES="5", GODOT_WS_BURST="0")
        self.assertTrue(g.results["bin_5"].ok, g.output())
        self.assertFalse(g.results["text_5"].ok, g.output())
        self.assertIn("string=False/True same_bytes=True", g.results["text_5"].details)


class SubprotocolTest(RawServerCase):
    CASES = [  # server protocols, client protocols, what the Godot client sees
        (["chat", "superchat"], "superchat,chat", "established protocol=[superchat]"),
        (["chat"], "foo,chat", "established protocol=[chat]"),
        ([], "", "established protocol=[]"),
        (["chat"], "", "error"),
        (["chat"], "foo", "error"),
        ([], "foo", "error"),
    ]

    def test_negotiation_matrix(self):
        for server_protocols, client_protocols, outcome in self.CASES:
            with self.subTest(server=server_protocols, client=client_protocols):
                self.make_server()
                self.listen(server_protocols)
                refused = outcome == "error"
                with (self.assertLogs("godot_ws", "WARNING") if refused
                      else contextlib.nullcontext()) as logs:
                    g = self.run_client("raw_subprotocol.gd",
                                        GODOT_WS_PROTOCOLS=client_protocols,
                                        GODOT_WS_EXPECT=outcome)
                g.assert_ok(self, "handshake")
                if refused:
                    self.assertIn("refused (400)", logs.output[0])
                    self.assertEqual(self.named("client_connected"), [])
                else:
                    protocol = outcome[len("established protocol=["):-1]
                    self.assertEqual([c[1] for c in self.named("client_connected")], [protocol])
                    self.assertEqual(len(self.settle("client_disconnected")), 1)
                self.server.stop()


class CloseTest(RawServerCase):
    def test_client_initiated_close(self):
        self.listen()
        g = self.run_client("raw_close.gd", GODOT_WS_CLOSE_MODE="client", GODOT_WS_CLOSE_CODE="4000",
                            GODOT_WS_CLOSE_REASON="see you", GODOT_WS_EXPECT_CODE="none",
                            GODOT_WS_EXPECT_CLEAN="False")  # False: as against a Godot server
        g.assert_ok(self, "connected", "server_close_request", "closed")
        (connected,) = self.named("client_connected")
        self.assertEqual(self.named("client_close_request"), [(connected[0], 4000, "see you")])
        self.assertEqual(self.settle("client_disconnected"), [(connected[0], True)])

    def test_client_close_non_ascii_reason(self):
        self.listen()
        g = self.run_client("raw_close.gd", GODOT_WS_CLOSE_MODE="client", GODOT_WS_CLOSE_CODE="4003",
                            GODOT_WS_CLOSE_REASON="à bientôt ✓")
        g.assert_ok(self, "closed")
        self.assertEqual([c[1:] for c in self.named("client_close_request")], [(4003, "à bientôt ✓")])

    def test_client_close_with_default_code(self):
        self.listen()
        g = self.run_client("raw_close.gd", GODOT_WS_CLOSE_MODE="client")
        g.assert_ok(self, "closed")
        self.assertEqual([c[1:] for c in self.named("client_close_request")], [(1000, "")])

    def server_close(self, close, code, reason):
        self.server.connect("client_connected", lambda id, protocol: close(id, code, reason))
        self.listen()
        g = self.run_client("raw_close.gd", GODOT_WS_CLOSE_MODE="server", GODOT_WS_EXPECT_CODE=code,
                            GODOT_WS_EXPECT_REASON=reason, GODOT_WS_EXPECT_CLEAN="True")
        g.assert_ok(self, "connected", "server_close_request", "server_close_reason", "closed")
        self.assertEqual(self.named("client_close_request"), [])  # as Godot: not for the reply
        self.assertEqual(len(self.settle("client_disconnected")), 1)

    def test_peer_close_with_code_and_reason(self):
        self.server_close(lambda id, code, reason: self.server.get_peer(id).close(code, reason),
                          4001, "bye now")

    def test_disconnect_peer_with_empty_reason(self):
        self.server_close(self.server.disconnect_peer, 1000, "")

    def test_disconnect_peer_non_ascii_reason(self):
        self.server_close(self.server.disconnect_peer, 4002, "au revoir ✓")


class BindAndRefuseTest(RawServerCase):
    # Linux routes all of 127/8 to lo: 127.0.0.2 reaches "*" but not a 127.0.0.1 bind.
    def outcome(self, expect, host="127.0.0.1"):
        g = self.run_client("raw_bind_refuse.gd", GODOT_WS_HOST=host, GODOT_WS_EXPECT=expect,
                            GODOT_WS_WAIT="3")
        g.assert_ok(self, "outcome")

    def test_bind_ip_restricts(self):
        self.listen()
        self.outcome("error", host="127.0.0.2")
        self.assertEqual(self.named("client_connected"), [])
        self.outcome("established", host="127.0.0.1")

    def test_refuse_new_connections(self):
        self.listen()
        self.server.refuse_new_connections = True
        self.outcome("error")
        self.assertEqual(self.named("client_connected"), [])
        self.server.refuse_new_connections = False
        self.outcome("established")
        self.assertEqual(len(self.named("client_connected")), 1)


class BindAnyTest(RawServerCase):
    bind_ip = "*"

    def test_any_address_accepts_other_loopback(self):
        self.listen()
        g = self.run_client("raw_bind_refuse.gd", GODOT_WS_HOST="127.0.0.2", GODOT_WS_EXPECT="established")
        g.assert_ok(self, "outcome")


if __name__ == "__main__":
    unittest.main()
