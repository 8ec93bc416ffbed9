"""WebSocketClient against this library's server: raw mode, multiplayer mode, wss."""
from __future__ import annotations

import logging
import time

from godot_ws import ConnectionStatus, Error, WebSocketClient, WriteMode, X509Certificate
from godot_ws.testing import WebSocketTestCase
from tests.support import echo_same_type
from tests.tls_fixtures import make_chain


class RawClientTest(WebSocketTestCase):
    protocols = ("chat", "superchat")

    def configure_server(self, server):
        server.connect("data_received", lambda peer_id: echo_same_type(server, peer_id))

    def test_round_trips_keep_the_frame_type(self):
        client = self.client()
        peer = client.get_peer(1)
        self.assertEqual(peer.get_write_mode(), WriteMode.WRITE_MODE_BINARY)
        peer.put_packet(b"\x00\xffbin")
        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT)
        peer.put_packet("héllo".encode())
        peer.set_write_mode(WriteMode.WRITE_MODE_BINARY)
        self.assertEqual(peer.put_var({"a": [1, 2.5, "x"]}), Error.OK)
        got = []
        for _ in range(3):
            self.wait_for("data_received", source=client)
            got.append((peer.get_packet(), peer.was_string_packet()))
        self.assertEqual(got[:2], [(b"\x00\xffbin", False), ("héllo".encode(), True)])
        peer.put_var(got[2][0])  # the echoed put_var, sent back as bytes inside a Variant
        self.wait_for("data_received", source=client)
        self.assertEqual(peer.get_var(), got[2][0])

    def test_big_message_both_ways(self):
        client = self.client()
        payload = bytes(range(256)) * 200  # 51200 bytes: fits the 64 KiB input buffers
        client.get_peer(1).put_packet(payload)
        self.wait_for("data_received", source=client)
        self.assertEqual(client.get_peer(1).get_packet(), payload)

    def test_subprotocol_custom_headers_path_and_host(self):
        client = self.add_client(WebSocketClient())
        self.assertEqual(client.get_connection_status(), ConnectionStatus.CONNECTION_DISCONNECTED)
        self.assertEqual(client.connect_to_url(self.url + "/game?room=7", ["nope", "superchat", "chat"],
                                               custom_headers=["X-Player: ada", "Cookie: k=v"]),
                         Error.OK)
        self.assertEqual(client.get_connection_status(), ConnectionStatus.CONNECTION_CONNECTING)
        with self.assertLogs("godot_ws", logging.ERROR):
            self.assertEqual(client.connect_to_url(self.url), Error.ERR_ALREADY_IN_USE)
        (protocol,) = self.wait_for("connection_established", source=client)
        self.assertEqual(protocol, "superchat")
        peer_id, server_protocol = self.wait_for("client_connected")
        self.assertEqual(server_protocol, "superchat")
        server_peer = self.server.get_peer(peer_id)
        headers = server_peer.get_request_headers()
        self.assertEqual((headers["x-player"], headers["cookie"]), ("ada", "k=v"))
        self.assertEqual(headers["host"], f"127.0.0.1:{self.server.get_port()}")
        self.assertEqual(headers["sec-websocket-protocol"], "nope,superchat,chat")
        self.assertEqual(server_peer.get_request_path(), "/game?room=7")
        self.assertEqual(client.get_connection_status(), ConnectionStatus.CONNECTION_CONNECTED)
        self.assertEqual((client.get_connected_host(), client.get_connected_port()),
                         ("127.0.0.1", self.server.get_port()))

    def test_client_closes_with_code_and_reason(self):
        client = self.client()
        client.disconnect_from_host(4001, "bye now")
        peer_id, code, reason = self.wait_for("client_close_request")
        self.assertEqual((code, reason), (4001, "bye now"))
        self.assertEqual(self.wait_for("connection_closed", source=client), (True,))
        self.assertEqual(client.get_connection_status(), ConnectionStatus.CONNECTION_DISCONNECTED)
        client.disconnect_from_host()  # idempotent

    def test_server_closes_with_code_and_reason(self):
        client = self.client()
        (peer_id,) = self.server.get_peer_ids()
        self.server.disconnect_peer(peer_id, 4002, "go away")
        self.assertEqual(self.wait_for("server_close_request", source=client), (4002, "go away"))
        self.assertEqual(self.wait_for("connection_closed", source=client), (True,))

    def test_server_stop_is_a_closing_handshake(self):
        client = self.client()
        self.server.stop()
        self.assertEqual(self.wait_for("server_close_request", source=client), (1000, ""))
        client.poll(0)

    def test_reconnect_after_close(self):
        client = self.client()
        client.disconnect_from_host()
        self.wait_for("connection_closed", source=client)
        self.assertEqual(client.connect_to_url(self.url, ["chat"]), Error.OK)
        self.assertEqual(self.wait_for("connection_established", source=client), ("chat",))

    def test_disconnect_while_connecting_fires_nothing(self):
        client = self.add_client(WebSocketClient())
        fired = []
        for signal in ("connection_established", "connection_error", "connection_closed"):
            client.connect(signal, lambda *a, s=signal: fired.append(s))
        client.connect_to_url(self.url, ["chat"])
        client.disconnect_from_host()
        self.assertEqual(client.get_connection_status(), ConnectionStatus.CONNECTION_DISCONNECTED)
        for _ in range(20):
            self.poll_all(0.01)
        self.assertEqual(fired, [])

    def test_misuse(self):
        client = WebSocketClient()
        with self.assertLogs("godot_ws", logging.ERROR):
            self.assertEqual(client.connect_to_url("http://x/"), Error.ERR_INVALID_PARAMETER)
        for bad in ("ws://", "ws://h:99999/", "ws://h:x/", "wss:///path", "localhost:80"):
            with self.assertLogs("godot_ws", logging.ERROR):
                self.assertEqual(client.connect_to_url(bad), Error.ERR_INVALID_PARAMETER, bad)
        with self.assertRaises(TypeError):
            client.connect_to_url(self.url, "chat")
        with self.assertRaises(ValueError):
            client.connect_to_url(self.url, custom_headers=["no colon"])
        with self.assertRaises(ValueError):
            client.connect_to_url(self.url, custom_headers=["X: a\r\nY: b"])
        with self.assertRaises(ValueError):
            client.disconnect_from_host(1005)
        with self.assertRaises(TypeError):
            client.trusted_ssl_certificate = "cert.pem"
        with self.assertLogs("godot_ws", logging.ERROR):
            self.assertIsNone(client.get_peer(2))
        with self.assertLogs("godot_ws", logging.ERROR):
            self.assertEqual(client.get_packet(), b"")  # raw mode: use get_peer(1)


class MultiplayerClientTest(WebSocketTestCase):
    mp = True

    def test_ids_join_leave_and_targets(self):
        a = self.client()
        joined = []
        a.connect("peer_connected", joined.append)
        b = self.client()
        a_id, b_id = a.get_unique_id(), b.get_unique_id()
        self.assertEqual(sorted(self.server.get_peer_ids()), sorted([a_id, b_id]))
        self.poll_all(0.05)
        self.assertEqual(joined, [b_id])
        self.assertEqual(b.get_peer_ids(), sorted([1, a_id]))
        self.assertFalse(a.is_server())

        a.set_target_peer(1)
        a.put_packet(b"to server")
        (source,) = self.wait_for("peer_packet")
        self.assertEqual((source, self.server.get_packet_peer(), self.server.get_packet()),
                         (a_id, a_id, b"to server"))
        a.set_target_peer(0)
        a.put_var("to all")
        self.wait_for("peer_packet", source=b)
        self.assertEqual((b.get_packet_peer(), b.get_var()), (a_id, "to all"))
        self.wait_for("peer_packet")
        self.assertEqual(self.server.get_var(), "to all")
        a.set_target_peer(-b_id)  # everyone but b: the server only
        a.put_packet(b"not b")
        self.wait_for("peer_packet")
        self.assertEqual(self.server.get_packet(), b"not b")
        a.set_target_peer(b_id)
        a.put_packet(b"just b")
        self.wait_for("peer_packet", source=b)
        self.assertEqual(b.get_packet(), b"just b")
        self.assertEqual(b.get_available_packet_count(), 0)
        self.server.set_target_peer(a_id)
        self.server.put_packet(b"from server")
        self.assertEqual(self.wait_for("peer_packet", source=a), (1,))
        self.assertEqual(a.get_packet(), b"from server")

        b.disconnect_from_host()
        self.assertEqual(self.wait_for("peer_disconnected", source=a), (b_id,))
        self.wait_for("server_disconnected", source=b)
        self.assertEqual(a.get_peer_ids(), [1])

    def test_server_going_away_is_server_disconnected(self):
        client = self.client()
        failed = []
        client.connect("connection_failed", lambda: failed.append(1))
        self.server.stop()
        self.wait_for("server_disconnected", source=client)
        self.assertEqual(failed, [])
        self.assertEqual(client.get_connection_status(), ConnectionStatus.CONNECTION_DISCONNECTED)

    def test_raw_server_never_succeeds(self):
        raw = self.server
        raw.stop()
        self.assertEqual(raw.listen(0), Error.OK)  # raw mode: no id is ever sent
        client = self.add_client(WebSocketClient())
        client.connect_to_url(f"ws://127.0.0.1:{raw.get_port()}", gd_mp_api=True)
        self.wait_for("client_connected")
        self.poll_until(lambda: client.get_connection_status() == ConnectionStatus.CONNECTION_CONNECTED)
        self.assertEqual(client.get_unique_id(), 0)
        with self.assertLogs("godot_ws", logging.ERROR):
            self.assertEqual(client.put_packet(b"x"), Error.FAILED)
        raw.disconnect_peer(raw.get_peer_ids()[0])
        self.wait_for("connection_failed", source=client)


class WssClientTest(WebSocketTestCase):
    tls = True

    def configure_server(self, server):
        server.connect("data_received", lambda peer_id: echo_same_type(server, peer_id))

    def test_verified_round_trip(self):
        client = self.client()
        client.get_peer(1).put_packet(b"secret")
        self.wait_for("data_received", source=client)
        self.assertEqual(client.get_peer(1).get_packet(), b"secret")

    def test_untrusted_certificate_is_a_connection_error(self):
        client = self.add_client(WebSocketClient())
        client.trusted_ssl_certificate = X509Certificate.from_cryptography(make_chain().root_cert)
        with self.assertLogs("godot_ws", logging.WARNING) as logs:
            client.connect_to_url(self.url)
            self.wait_for("connection_error", source=client)
        self.assertIn("does not verify", "\n".join(logs.output))

    def test_wrong_host_name_is_a_connection_error(self):
        client = self.add_client(WebSocketClient())
        client.trusted_ssl_certificate = self.server.ssl_certificate
        with self.assertLogs("godot_ws", logging.WARNING) as logs:
            client.connect_to_url(f"wss://127.0.0.1:{self.server.get_port()}")
            self.wait_for("connection_error", source=client)
        self.assertIn("not valid for '127.0.0.1'", "\n".join(logs.output))

    def test_verify_ssl_false_accepts_anything(self):
        client = self.add_client(WebSocketClient())
        client.verify_ssl = False
        client.connect_to_url(f"wss://127.0.0.1:{self.server.get_port()}")
        self.wait_for("connection_established", source=client)


class WssChainTest(WebSocketTestCase):
    """The chain of tests/tls_fixtures.py: root trusted, intermediate sent by the server."""

    mp = True

    def configure_server(self, server):
        chain = make_chain()
        server.private_key = chain.leaf_crypto_key()
        server.ssl_certificate = X509Certificate.from_cryptography(chain.leaf_cert)
        server.ca_chain = X509Certificate.from_cryptography(chain.inter_cert)

    def test_ip_address_and_host_name_verify(self):
        root = X509Certificate.from_cryptography(make_chain().root_cert)
        for host in ("127.0.0.1", "localhost"):
            client = self.add_client(WebSocketClient())
            client.trusted_ssl_certificate = root
            client.connect_to_url(f"wss://{host}:{self.server.get_port()}", gd_mp_api=True)
            self.wait_for("connection_succeeded", source=client)
            self.assertGreater(client.get_unique_id(), 1)


class MultiplayerAPIClientTest(WebSocketTestCase):
    """A MultiplayerAPI on each side: the Python client is one player (rpc, rset, path cache)."""

    mp = True

    def test_rpc_both_ways_and_rset(self):
        from godot_ws import MultiplayerAPI, puppet, remote

        calls = []

        class ServerLobby:
            @remote
            def join(self, name):
                calls.append(("join", server_api.get_rpc_sender_id(), name))

        class ClientLobby:
            score = puppet(0)

            @remote
            def welcome(self, text):
                calls.append(("welcome", client_api.get_rpc_sender_id(), text))

        server_api = MultiplayerAPI()
        server_api.network_peer = self.server
        server_lobby = server_api.register("Lobby", ServerLobby())
        client = self.client(wait=False)
        client_api = MultiplayerAPI()
        client_api.network_peer = client  # before the first poll, as in Godot
        client_lobby = client_api.register("Lobby", ClientLobby())
        self.wait_for("connection_succeeded", source=client)
        self.wait_for("peer_connected")
        self.assertEqual(client_api.get_network_connected_peers(), [1])
        self.assertEqual(client_api.get_network_unique_id(), client.get_unique_id())
        self.assertFalse(client_api.is_network_server())
        for _ in range(2):  # the second call goes by the cached path
            client_lobby.rpc_id(1, "join", "bot-1")
        server_lobby.rpc_id(client.get_unique_id(), "welcome", "hi")
        server_lobby.rset("score", 7)
        end = time.monotonic() + 10
        while (len(calls) < 3 or client_lobby.obj.score != 7) and time.monotonic() < end:
            server_api.poll(0.01)  # the APIs poll their peers and run the calls
            client_api.poll(0)
        self.assertEqual(sorted(calls), sorted([("join", client.get_unique_id(), "bot-1")] * 2
                                               + [("welcome", 1, "hi")]))
        self.assertEqual(client_lobby.obj.score, 7)
