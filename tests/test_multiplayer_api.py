"""MultiplayerAPI over an in-memory network peer (no sockets).

The fake peer frames what the API puts as the server would (header from the
own id to the target), so sent bytes compare with the frames captured from
Godot 3.2.3 (vectors/multiplayer_capture.md): client A = 1114054110,
raw Python peer B = 1917371011, node /root/Main with main_node.gd's members.
"""
import logging
import unittest

from godot_ws.enums import ConnectionStatus, Error
from godot_ws.multiplayer_api import (
    MultiplayerAPI,
    RemoteNode,
    RPCMode,
    master,
    mastersync,
    puppet,
    remote,
    remotesync,
)
from godot_ws.object import Object
from godot_ws.protocol.multiplayer import pack_header
from godot_ws.variant.types import EncodedObjectAsID, GodotObject, NodePath, Vector2
from tests.support import no_logs

A, B = 1114054110, 1917371011


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", "").replace("|", ""))


class FakePeer(Object):
    """The network peer interface MultiplayerAPI uses, in memory."""

    _CLASS_NAME = "FakePeer"
    _SIGNALS = {"peer_connected": ("id",), "peer_disconnected": ("id",), "connection_succeeded": (),
                "connection_failed": (), "server_disconnected": (), "peer_packet": ("peer_source",)}

    def __init__(self, unique_id: int = 1) -> None:
        self.unique_id = unique_id
        self.status = ConnectionStatus.CONNECTION_CONNECTED
        self.refuse_new_connections = False
        self.allow_object_decoding = False
        self.target = 0
        self.inbox: list[tuple[int, bytes]] = []
        self.sent: list[bytes] = []
        self.polls: list[float] = []

    def get_unique_id(self) -> int:
        return self.unique_id

    def get_connection_status(self) -> ConnectionStatus:
        return self.status

    def poll(self, timeout: float) -> None:
        self.polls.append(timeout)

    def set_target_peer(self, peer_id: int) -> None:
        self.target = peer_id

    def put_packet(self, data: bytes) -> Error:
        self.sent.append(pack_header(0, self.unique_id, self.target) + bytes(data))
        return Error.OK

    def get_available_packet_count(self) -> int:
        return len(self.inbox)

    def get_packet_peer(self) -> int:
        return self.inbox[0][0]

    def get_packet(self) -> bytes:
        return self.inbox.pop(0)[1]

    def receive(self, frame_hex: str) -> None:
        """Queue a captured client frame ("type from to | payload") for the server."""
        frame = h(frame_hex)
        self.inbox.append((int.from_bytes(frame[1:5], "little", signed=True), frame[9:]))


class Main:
    """main_node.gd of the capture, recording what remote peers did."""

    remote_prop = remote(0)
    puppet_prop = puppet(0)
    master_prop = master(0)
    rsync_prop = remotesync(0)
    plain_prop = 0

    def __init__(self, api: MultiplayerAPI) -> None:
        self.api = api
        self.calls: list[tuple] = []

    def _record(self, name, *args):
        sender = self.api.get_rpc_sender_id()
        assert self.api.get_network_sender_id() == sender  # the alias some docs use
        self.calls.append((name, sender) + args)

    @remote
    def r_hello(self, a, b, c):
        self._record("r_hello", a, b, c)

    @remote
    def no_args(self):
        self._record("no_args")

    @master
    def m_call(self, x):
        self._record("m_call", x)

    @puppet
    def p_call(self, x):
        self._record("p_call", x)

    @remotesync
    def rs_call(self, x):
        self._record("rs_call", x)

    @mastersync
    def ms_call(self, x):
        self._record("ms_call", x)

    def not_rpc(self, x):
        self._record("not_rpc", x)


class ApiTestCase(unittest.TestCase):
    unique_id = 1

    def setUp(self):
        self.api = MultiplayerAPI()
        self.peer = FakePeer(self.unique_id)
        self.api.network_peer = self.peer
        self.main = Main(self.api)
        self.node = self.api.register("Main", self.main)

    def connect_peers(self, *ids):
        for peer_id in ids:
            self.peer.emit_signal("peer_connected", peer_id)

    def deliver(self, *frames):
        for frame in frames:
            self.peer.receive(frame)
        self.api.poll(0)

    def take_sent(self):
        sent, self.peer.sent = self.peer.sent, []
        return sent


class ReceiveFromGodotClientTest(ApiTestCase):
    """The Godot client's frames of the capture, replayed into the server's API."""

    def setUp(self):
        super().setUp()
        self.connect_peers(B, A)

    def test_simplify_path_is_confirmed(self):
        self.deliver("00 de1d6742 01000000 | 02010000004d61696e00")
        self.assertEqual(self.take_sent(), [h("00 01000000 de1d6742 | 034d61696e00")])

    def test_calls_and_sets_of_capture(self):
        with self.assertLogs("godot_ws", logging.ERROR) as logs:
            self.deliver(
                "00 de1d6742 01000000 | 02010000004d61696e00",
                "00 de1d6742 01000000 | 002e000080725f68656c6c6f0003020000002a0000000400000002000000"
                "68690000050000000000803f000000404d61696e00",
                "00 de1d6742 01000000 | 0001000000725f68656c6c6f0003020000002b000000040000000500"
                "0000616761696e00000000000000",
                "00 de1d6742 01000000 | 010100000072656d6f74655f70726f70000200000007000000",
                "00 de1d6742 01000000 | 00010000006e6f5f617267730000",
                "00 de1d6742 01000000 | 00010000006d5f63616c6c00010200000005000000",
                "00 de1d6742 01000000 | 0001000000705f63616c6c00010200000006000000",
                "00 de1d6742 01000000 | 00010000006e6f745f72706300010200000007000000",
                "00 de1d6742 01000000 | 000100000072735f63616c6c0001040000000400000073796e63",
                "00 de1d6742 00000000 | 010100000072656d6f74655f70726f70000200000008000000",
                "00 de1d6742 01000000 | 01010000007075707065745f70726f70000200000009000000",
                "00 de1d6742 01000000 | 0001000000725f68656c6c6f000302000100ffffffffffffff7f1300"
                "0000020000000200000001000000040000000100000078000000120000000100000004000000"
                "010000006b000000030001009a9999999999b93f",
                "00 de1d6742 01000000 | 0001000000756e6b6e6f776e5f6d6574686f6400010200000001000000",
            )
        self.assertEqual(self.main.calls, [
            ("r_hello", A, 42, "hi", Vector2(1, 2)),
            ("r_hello", A, 43, "again", None),
            ("no_args", A),
            ("m_call", A, 5),
            ("rs_call", A, "sync"),
            ("r_hello", A, 9223372036854775807, [1, "x"], {"k": 0.1}),
        ])
        self.assertEqual((self.main.remote_prop, self.main.puppet_prop), (8, 0))
        self.assertEqual(len(logs.output), 4)
        self.assertIn(f"RPC 'p_call' is not allowed on node /root/Main from: {A}. Mode is 3, master is 1.",
                      logs.output[0])
        self.assertIn("RPC 'not_rpc' is not allowed", logs.output[1])
        self.assertIn("Mode is 0, master is 1.", logs.output[1])
        self.assertIn("RSET 'puppet_prop' is not allowed", logs.output[2])
        self.assertIn("RPC 'unknown_method' is not allowed", logs.output[3])
        for line in logs.output:
            self.assertIn(f"from peer {A} for node path 'Main'", line)
        self.assertEqual(self.api.get_rpc_sender_id(), 0)
        self.assertEqual(self.take_sent(), [h("00 01000000 de1d6742 | 034d61696e00")])

    def test_raw_bytes(self):
        received = []
        self.api.connect("network_peer_packet", lambda *args: received.append(args))
        self.deliver("00 de1d6742 01000000 | 04010203")
        self.assertEqual(received, [(A, b"\x01\x02\x03")])


class ReceiveFromRawPeerTest(ApiTestCase):
    """The hand-made packets of the capture's Python peer, good and bad."""

    def setUp(self):
        super().setUp()
        self.connect_peers(B)
        self.deliver("00 83c24872 01000000 | 024d0000004d61696e00")
        self.assertEqual(self.take_sent(), [h("00 01000000 83c24872 | 034d61696e00")])

    def test_good_packets(self):
        self.deliver(
            "00 83c24872 01000000 | 004d000000725f68656c6c6f000302000000010000000400000002000000"
            "70790000050000000000003f000080bf",
            "00 83c24872 01000000 | 002e000080725f68656c6c6f00030200000001000000040000000200"
            "000070790000050000000000003f000080bf4d61696e00",
            "00 83c24872 01000000 | 014d00000072656d6f74655f70726f7000040000000b0000007365742066"
            "726f6d20707900",
            "00 83c24872 01000000 | 004d0000006e6f5f617267730000",
            "00 83c24872 01000000 | 004d0000006d5f63616c6c00010200000005000000",
        )
        self.assertEqual(self.main.calls, [
            ("r_hello", B, 1, "py", Vector2(0.5, -1)), ("r_hello", B, 1, "py", Vector2(0.5, -1)),
            ("no_args", B), ("m_call", B, 5)])
        self.assertEqual(self.main.remote_prop, "set from py")

    def assert_dropped(self, frame_hex: str, reason: str) -> None:
        with self.assertLogs("godot_ws", logging.ERROR) as logs:
            self.deliver(frame_hex)
        self.assertEqual(len(logs.output), 1)
        self.assertIn(f"from peer {B}", logs.output[0])
        self.assertIn(reason, logs.output[0])
        self.assertEqual(self.main.calls, [])
        self.assertEqual(self.take_sent(), [])

    def test_refused_modes(self):
        self.assert_dropped("00 83c24872 01000000 | 004d0000006e6f745f72706300010200000005000000",
                            "Mode is 0")
        self.assert_dropped("00 83c24872 01000000 | 004d000000705f63616c6c00010200000005000000",
                            "Mode is 3")

    def test_truncated_argument(self):
        self.assert_dropped("00 83c24872 01000000 | 004d000000725f68656c6c6f0003020000000100000004"
                            "000000090000006162", "Unable to decode RPC argument")

    def test_unknown_cached_id(self):
        self.assert_dropped("00 83c24872 01000000 | 0063000000725f68656c6c6f000302000000010000000200"
                            "0000020000000200000003000000", "Unabled to find requested cached node")

    def test_argc_larger_than_arguments(self):
        self.assert_dropped("00 83c24872 01000000 | 004d000000725f68656c6c6f0003020000000100000002"
                            "00000002000000", "Size too small")

    def test_unknown_inline_path(self):
        self.assert_dropped("00 83c24872 01000000 | 00 08000080 6600 00 4e6f706500",
                            "Requested node was not found")

    def test_simplify_path_echo_and_lookup_as_godot(self):
        # CONFIRM_PATH echoes and cached-id lookups seen on Godot 3.2.3
        for path_id, path, echo in ((5, b"Nope", b"Nope"), (6, b"./Main", b"./Main"),
                                    (7, b"/root/Main", b"/root/Main"), (8, b"Main/", b"Main"),
                                    (9, b"Ma\xffin", b"")):
            self.deliver("00 83c24872 01000000 | 02" + path_id.to_bytes(4, "little").hex()
                         + path.hex() + "00")
            self.assertEqual(self.take_sent(), [h("00 01000000 83c24872 | 03") + echo + b"\0"])
        self.assert_dropped("00 83c24872 01000000 | 00 05000000 6e6f5f6172677300 00",
                            "Requested node was not found")
        for path_id in ("06", "07", "08"):  # ./Main, /root/Main, Main
            self.deliver(f"00 83c24872 01000000 | 00 {path_id}000000 6e6f5f6172677300 00")
        self.assertEqual(self.main.calls, [("no_args", B)] * 3)

    def test_invalid_utf8_name_is_refused_as_empty(self):
        self.assert_dropped("00 83c24872 01000000 | 004d000000 72ff63616c6c00 01 0200000001000000",
                            "RPC '' is not allowed on node /root/Main")

    def test_inline_absolute_path(self):
        self.deliver("00 83c24872 01000000 | 00 0e000080 6e6f5f6172677300 00 2f726f6f742f4d61696e00")
        self.assertEqual(self.main.calls, [("no_args", B)])

    def test_full_object_refused_then_allowed(self):
        frame = "00 83c24872 01000000 | 004d000000725f68656c6c6f0003 11000000 00000000 00000000 00000000"
        self.assert_dropped(frame, "Unable to decode RPC argument")
        self.api.allow_object_decoding = True
        self.deliver(frame)
        self.assertEqual(self.main.calls, [("r_hello", B, None, None, None)])

    def test_wrong_arity_is_logged_not_called(self):
        self.assert_dropped("00 83c24872 01000000 | 004d0000006d5f63616c6c0000", "m_call")

    def test_bad_packets_are_logged_and_processing_goes_on(self):
        with self.assertLogs("godot_ws", logging.ERROR) as logs:
            self.deliver("00 83c24872 01000000 | ",
                         "00 83c24872 01000000 | 04",
                         "00 83c24872 01000000 | 0300",
                         "00 83c24872 01000000 | 004d0000006e6f5f617267730000")
        self.assertEqual(len(logs.output), 3)
        self.assertEqual(self.main.calls, [("no_args", B)])

    def test_unknown_command_is_ignored_silently(self):
        with no_logs(self, "godot_ws", logging.DEBUG):
            self.deliver("00 83c24872 01000000 | 09ffff")

    def test_handler_exception_is_logged(self):
        def boom(x):
            raise RuntimeError("boom")
        self.main.m_call = master(boom)
        with self.assertLogs("godot_ws", logging.ERROR) as logs:
            self.deliver("00 83c24872 01000000 | 004d0000006d5f63616c6c00010200000005000000",
                         "00 83c24872 01000000 | 004d0000006e6f5f617267730000")
        self.assertIn("'m_call' on node /root/Main", logs.output[0])
        self.assertEqual(self.main.calls, [("no_args", B)])


class SendToClientsTest(ApiTestCase):
    """The server's calls of the capture: same frames, same order."""

    def test_callback_sequence_to_one_peer(self):
        self.connect_peers(B)
        self.node.rpc_id(B, "p_call", "from server")
        self.node.rset_id(B, "puppet_prop", 99)
        self.node.rpc("r_hello", "server", "broadcast", 3)
        self.assertEqual(self.take_sent(), [
            h("00 01000000 83c24872 | 02010000004d61696e00"),
            h("00 01000000 83c24872 | 0021000080705f63616c6c0001040000000b00000066726f6d2073657276"
              "6572004d61696e00"),
            h("00 01000000 83c24872 | 01190000807075707065745f70726f700002000000630000004d61696e00"),
            h("00 01000000 83c24872 | 003a000080725f68656c6c6f0003040000000600000073657276657200"
              "00040000000900000062726f61646361737400000002000000030000004d61696e00"),
        ])
        self.deliver("00 83c24872 01000000 | 034d61696e00")
        self.node.rpc("r_hello", "server", "broadcast", 3)
        self.assertEqual(self.take_sent(), [
            h("00 01000000 00000000 | 0001000000725f68656c6c6f00030400000006000000736572766572000004"
              "0000000900000062726f6164636173740000000200000003000000")])

    def test_broadcast_with_a_new_peer(self):
        self.connect_peers(B)
        self.node.rpc_id(B, "p_call", "x")
        self.deliver("00 83c24872 01000000 | 034d61696e00")
        self.take_sent()
        self.connect_peers(A)
        self.node.rpc("r_hello", "server", "broadcast", 3)
        sent = self.take_sent()
        self.assertEqual([frame[:9] for frame in sent], [
            h("00 01000000 de1d6742"), h("00 01000000 de1d6742"), h("00 01000000 83c24872")])
        self.assertEqual(sent[2], h("00 01000000 83c24872 | 0001000000725f68656c6c6f000304000000060000"
                                    "007365727665720000040000000900000062726f616463617374000000020000"
                                    "0003000000"))

    def test_disconnect_forgets_the_confirmation(self):
        self.connect_peers(B)
        self.node.rpc_id(B, "p_call", "x")
        self.deliver("00 83c24872 01000000 | 034d61696e00")
        self.peer.emit_signal("peer_disconnected", B)
        self.connect_peers(B)
        self.take_sent()
        self.node.rpc_id(B, "p_call", "x")
        self.assertEqual(self.take_sent()[0], h("00 01000000 83c24872 | 02010000004d61696e00"))

    def test_send_bytes(self):
        self.connect_peers(B)
        self.assertEqual(self.api.send_bytes(b"\xde\xad", B), Error.OK)
        self.assertEqual(self.api.send_bytes(bytearray(b"\x01")), Error.OK)
        self.assertEqual(self.take_sent(), [h("00 01000000 83c24872 | 04dead"),
                                            h("00 01000000 00000000 | 0401")])
        with self.assertLogs("godot_ws", logging.ERROR):
            self.assertEqual(self.api.send_bytes(b""), Error.ERR_INVALID_DATA)
        with self.assertRaises(TypeError):
            self.api.send_bytes("text")

    def test_objects_in_full_only_when_allowed(self):
        self.connect_peers(B)
        self.node.rpc_id(B, "r_hello", EncodedObjectAsID(5), None, None)  # id form: always
        self.assertIn(h("11000100 0500000000000000"), self.take_sent()[1])
        with self.assertRaisesRegex(ValueError, "full_objects"):
            self.node.rpc_id(B, "r_hello", GodotObject("Reference", {"script": None}), None, None)
        self.api.allow_object_decoding = True
        self.node.rpc_id(B, "r_hello", GodotObject("Reference", {"script": None}), None, None)
        self.assertIn(h("11000000 09000000 5265666572656e6365000000 01000000 06000000 73637269707400"
                        "00 00000000"), self.take_sent()[0])

    def test_unknown_and_own_targets(self):
        self.connect_peers(B)
        with self.assertLogs("godot_ws", logging.ERROR) as logs:
            self.node.rpc_id(999, "r_hello", 1, 2, 3)
            self.node.rpc_id(1, "r_hello", 1, 2, 3)
            self.node.rset_id(1, "remote_prop", 5)
        self.assertIn("unexisting ID: 999", logs.output[0])
        self.assertIn("on yourself is not allowed", logs.output[1])
        self.assertIn("on yourself is not allowed", logs.output[2])
        self.assertEqual(self.take_sent(), [])
        self.assertEqual(self.main.calls, [])


class SyncRulesTest(ApiTestCase):
    """Sender-side rules (§3.5) on the server, which is the master of Main."""

    def setUp(self):
        super().setUp()
        self.connect_peers(B)
        self.deliver("00 83c24872 01000000 | 024d0000004d61696e00")
        self.node.rpc_id(B, "no_args")
        self.deliver("00 83c24872 01000000 | 034d61696e00")
        self.take_sent()

    def sent_names(self):
        return [frame[14:frame.index(b"\0", 14)].decode() for frame in self.take_sent()]

    def test_remotesync_runs_locally_and_sends(self):
        self.node.rpc("rs_call", 1)
        self.assertEqual(self.main.calls, [("rs_call", 1, 1)])
        self.assertEqual(self.sent_names(), ["rs_call"])

    def test_master_on_the_master_runs_locally_only(self):
        self.node.rpc("m_call", 1)
        self.node.rpc("ms_call", 2)
        self.assertEqual(self.main.calls, [("m_call", 1, 1), ("ms_call", 1, 2)])
        self.assertEqual(self.sent_names(), [])

    def test_puppet_and_remote_only_send(self):
        self.node.rpc("p_call", 1)
        self.node.rpc("r_hello", 1, 2, 3)
        self.assertEqual(self.main.calls, [])
        self.assertEqual(self.sent_names(), ["p_call", "r_hello"])

    def test_not_master(self):
        self.node.set_network_master(B)
        self.node.rpc("m_call", 1)
        self.node.rpc("p_call", 2)
        self.assertEqual(self.main.calls, [("p_call", 1, 2)])
        self.assertEqual(self.sent_names(), ["m_call", "p_call"])

    def test_excluding_self_never_runs_locally(self):
        with self.assertLogs("godot_ws", logging.ERROR):
            self.node.rpc_id(-1, "rs_call", 1)  # -1: not a connected id: refused, as Godot
        self.node.rpc_id(-B, "rs_call", 2)
        self.assertEqual(self.main.calls, [("rs_call", 1, 2)])

    def test_rset_sync(self):
        self.node.rset("rsync_prop", 5)
        self.node.rset("remote_prop", 6)
        self.node.rset("master_prop", 7)
        self.assertEqual((self.main.rsync_prop, self.main.remote_prop, self.main.master_prop), (5, 0, 7))
        self.assertEqual(self.sent_names(), ["rsync_prop", "remote_prop"])

    def test_rpc_config_overrides_the_decorator(self):
        self.node.rpc_config("not_rpc", RPCMode.REMOTESYNC)
        self.node.rpc_config("r_hello", RPCMode.DISABLED)
        self.deliver("00 83c24872 01000000 | 004d0000006e6f745f72706300010200000005000000")
        with self.assertLogs("godot_ws", logging.ERROR):
            self.deliver("00 83c24872 01000000 | 004d000000725f68656c6c6f0003020000000100000002000000"
                         "020000000200000003000000")
        self.assertEqual(self.main.calls, [("not_rpc", B, 5)])
        self.node.rset_config("plain_prop", RPCMode.REMOTE)
        self.deliver("00 83c24872 01000000 | 014d000000706c61696e5f70726f70000200000009000000")
        self.assertEqual(self.main.plain_prop, 9)


class ApiSurfaceTest(unittest.TestCase):
    def test_without_peer_as_godot(self):
        api = MultiplayerAPI()
        with self.assertLogs("godot_ws", logging.ERROR) as logs:
            self.assertEqual(api.get_network_unique_id(), 0)
            self.assertFalse(api.is_network_server())
            self.assertEqual(api.get_network_connected_peers(), [])
            self.assertEqual(api.send_bytes(b"\x01"), Error.ERR_UNCONFIGURED)
            self.assertFalse(api.refuse_new_network_connections)
            api.refuse_new_network_connections = True
        self.assertEqual(len(logs.output), 6)
        self.assertFalse(api.has_network_peer())
        self.assertEqual(api.get_rpc_sender_id(), 0)
        api.poll(0)

    def test_object_get_and_set_reach_the_properties(self):
        # MultiplayerAPI's own rset helper once shadowed Object._set (found by mypy).
        api = MultiplayerAPI()
        api.set("allow_object_decoding", True)
        self.assertIs(api.get("allow_object_decoding"), True)
        api.set_deferred("allow_object_decoding", False)
        api.poll(0)
        self.assertIs(api.allow_object_decoding, False)

    def test_refuses_a_disconnected_peer(self):
        api, peer = MultiplayerAPI(), FakePeer()
        peer.status = ConnectionStatus.CONNECTION_DISCONNECTED
        with self.assertLogs("godot_ws", logging.ERROR):
            api.network_peer = peer
        self.assertIsNone(api.network_peer)

    def test_peer_tracking_and_signals(self):
        api, peer = MultiplayerAPI(), FakePeer()
        api.network_peer = peer
        seen = []
        api.connect("network_peer_connected", lambda i: seen.append(("+", i)))
        api.connect("network_peer_disconnected", lambda i: seen.append(("-", i)))
        peer.emit_signal("peer_connected", B)
        peer.emit_signal("peer_connected", A)
        self.assertEqual(api.get_network_connected_peers(), [A, B])
        peer.emit_signal("peer_disconnected", B)
        self.assertEqual(seen, [("+", B), ("+", A), ("-", B)])
        self.assertTrue(api.is_network_server())
        self.assertEqual(api.get_network_unique_id(), 1)
        api.refuse_new_network_connections = True
        self.assertTrue(peer.refuse_new_connections)

    def test_changing_peer_clears_and_disconnects(self):
        api, first, second = MultiplayerAPI(), FakePeer(), FakePeer()
        api.network_peer = first
        first.emit_signal("peer_connected", B)
        api.network_peer = second
        self.assertEqual(api.get_network_connected_peers(), [])
        first.emit_signal("peer_connected", A)
        self.assertEqual(api.get_network_connected_peers(), [])

    def test_poll_passes_timeout_and_stops_when_peer_removed(self):
        api, peer = MultiplayerAPI(), FakePeer()
        api.network_peer = peer
        peer.emit_signal("peer_connected", B)
        api.connect("network_peer_packet", lambda *_: setattr(api, "network_peer", None))
        peer.receive("00 83c24872 01000000 | 0401")
        peer.receive("00 83c24872 01000000 | 0402")
        api.poll(0.25)
        self.assertEqual(peer.polls, [0.25])
        self.assertEqual(len(peer.inbox), 1)

    def test_deferred_calls_run_at_the_end_of_poll(self):
        api, peer = MultiplayerAPI(), FakePeer()
        api.network_peer = peer
        ran = []
        api.add_user_signal("ping")
        api.connect("ping", lambda: ran.append(True))
        api.call_deferred("emit_signal", "ping")
        self.assertEqual(ran, [])
        api.poll(0)
        self.assertEqual(ran, [True])

    def test_registration(self):
        api = MultiplayerAPI()
        obj = object()
        node = api.register("/root/Game/P1", obj, master=7)
        self.assertIsInstance(node, RemoteNode)
        self.assertIs(api.get_node("Game/P1"), node)
        self.assertIs(api.get_node("/root/Game/P1"), node)
        self.assertIs(api.get_node(NodePath("./Game/P1")), node)
        self.assertIs(api._node(NodePath("Game/P1")), node)
        self.assertIs(api._node(obj), node)
        self.assertEqual(node.get_network_master(), 7)
        for bad in ("", "/other/X"):
            with self.assertRaises(ValueError):
                api.register(bad, obj)
        with self.assertRaises(ValueError):
            api.register("Game/P1", obj)
        api.unregister("Game/P1")
        self.assertIsNone(api.get_node("Game/P1"))

    def test_decorated_property(self):
        class Holder:
            def __init__(self):
                self._v = 0

            @remote
            @property
            def value(self):
                return self._v

            @value.setter
            def value(self, v):
                self._v = v * 2

        api, peer = MultiplayerAPI(), FakePeer()
        api.network_peer = peer
        holder = Holder()
        api.register("H", holder)
        peer.emit_signal("peer_connected", B)
        peer.receive("00 83c24872 01000000 | 01 13000080 76616c756500 0200000005000000 4800")
        api.poll(0)
        self.assertEqual(holder.value, 10)


if __name__ == "__main__":
    unittest.main()
