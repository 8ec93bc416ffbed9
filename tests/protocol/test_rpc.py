"""MultiplayerAPI packets, path caches and RPC mode rules (spec godot3-variant-and-rpc.md §3).

Every fixture is a payload (after the 9-byte header) captured from Godot 3.2.3
(vectors/multiplayer_capture.md); each decodes and re-encodes byte for byte.
"""
import unittest

from godot_ws.protocol import rpc
from godot_ws.protocol.rpc import (
    Command,
    ConfirmPath,
    Raw,
    RemoteCall,
    RemoteSet,
    RpcError,
    RPCMode,
    SimplifyPath,
)
from godot_ws.variant.types import Vector2

A, B = 1114054110, 1917371011


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", "").replace("|", ""))


# (capture time and direction, payload hex, decoded message)
CAPTURED = [
    ("6.366 A->S", "02 01000000 4d61696e00", SimplifyPath(1, "Main")),
    ("6.366 A->S", "00 2e000080 725f68656c6c6f00 03 020000002a000000 040000000200000068690000"
                   " 050000000000803f00000040 4d61696e00",
     RemoteCall("r_hello", [42, "hi", Vector2(1, 2)], path="Main")),
    ("6.369 S->A", "03 4d61696e00", ConfirmPath("Main")),
    ("6.669 A->S", "00 01000000 725f68656c6c6f00 03 020000002b000000 0400000005000000616761696e000000"
                   " 00000000", RemoteCall("r_hello", [43, "again", None], path_id=1)),
    ("6.966 A->S", "01 01000000 72656d6f74655f70726f7000 0200000007000000",
     RemoteSet("remote_prop", 7, path_id=1)),
    ("7.270 A->S", "00 01000000 6e6f5f6172677300 00", RemoteCall("no_args", [], path_id=1)),
    ("7.566 A->S", "00 01000000 6d5f63616c6c00 01 0200000005000000", RemoteCall("m_call", [5], path_id=1)),
    ("7.870 A->S", "00 01000000 705f63616c6c00 01 0200000006000000", RemoteCall("p_call", [6], path_id=1)),
    ("8.167 A->S", "00 01000000 6e6f745f72706300 01 0200000007000000", RemoteCall("not_rpc", [7], path_id=1)),
    ("8.470 A->S", "00 01000000 725f68656c6c6f00 03 0200000001000000 0300000000002040"
                   " 040000000900000062726f616463617374000000",
     RemoteCall("r_hello", [1, 2.5, "broadcast"], path_id=1)),
    ("8.470 A->B", "00 32000080 725f68656c6c6f00 03 0200000001000000 0300000000002040"
                   " 040000000900000062726f616463617374000000 4d61696e00",
     RemoteCall("r_hello", [1, 2.5, "broadcast"], path="Main")),
    ("8.767 A->S", "00 01000000 72735f63616c6c00 01 040000000400000073796e63",
     RemoteCall("rs_call", ["sync"], path_id=1)),
    ("9.063 A->S", "04 010203", Raw(b"\x01\x02\x03")),
    ("9.367 A->*", "01 01000000 72656d6f74655f70726f7000 0200000008000000",
     RemoteSet("remote_prop", 8, path_id=1)),
    ("9.664 A->S", "01 01000000 7075707065745f70726f7000 0200000009000000",
     RemoteSet("puppet_prop", 9, path_id=1)),
    ("9.967 A->S", "00 01000000 725f68656c6c6f00 03 02000100ffffffffffffff7f"
                   " 13000000 02000000 0200000001000000 040000000100000078000000"
                   " 12000000 01000000 04000000010000006b000000 030001009a9999999999b93f",
     RemoteCall("r_hello", [9223372036854775807, [1, "x"], {"k": 0.1}], path_id=1)),
    ("10.264 A->S", "00 01000000 756e6b6e6f776e5f6d6574686f6400 01 0200000001000000",
     RemoteCall("unknown_method", [1], path_id=1)),
    ("10.568 A->*", "00 01000000 725f68656c6c6f00 03 04000000060000007365636f6e640000"
                    " 040000000900000062726f616463617374000000 0200000000000000",
     RemoteCall("r_hello", ["second", "broadcast", 0], path_id=1)),
    ("12.041 S->A", "00 21000080 705f63616c6c00 01 040000000b00000066726f6d2073657276657200"
                    " 4d61696e00", RemoteCall("p_call", ["from server"], path="Main")),
    ("12.042 S->A", "01 19000080 7075707065745f70726f7000 0200000063000000 4d61696e00",
     RemoteSet("puppet_prop", 99, path="Main")),
    ("12.042 S->A", "00 3a000080 725f68656c6c6f00 03 04000000060000007365727665720000"
                    " 040000000900000062726f616463617374000000 0200000003000000 4d61696e00",
     RemoteCall("r_hello", ["server", "broadcast", 3], path="Main")),
    ("12.033 S->B", "00 01000000 725f68656c6c6f00 03 04000000060000007365727665720000"
                    " 040000000900000062726f616463617374000000 0200000003000000",
     RemoteCall("r_hello", ["server", "broadcast", 3], path_id=1)),
    ("1.017 B->S", "02 4d000000 4d61696e00", SimplifyPath(77, "Main")),
    ("1.268 B->S", "00 4d000000 725f68656c6c6f00 03 0200000001000000 040000000200000070790000"
                   " 050000000000003f000080bf",
     RemoteCall("r_hello", [1, "py", Vector2(0.5, -1)], path_id=77)),
    ("1.518 B->S", "00 2e000080 725f68656c6c6f00 03 0200000001000000 040000000200000070790000"
                   " 050000000000003f000080bf 4d61696e00",
     RemoteCall("r_hello", [1, "py", Vector2(0.5, -1)], path="Main")),
    ("1.769 B->S", "01 4d000000 72656d6f74655f70726f7000 040000000b0000007365742066726f6d20707900",
     RemoteSet("remote_prop", "set from py", path_id=77)),
    ("3.522 B->S", "04 deadbeef", Raw(h("deadbeef"))),
]


class CapturedFramesTest(unittest.TestCase):
    def test_decode_and_reencode_every_captured_packet(self):
        for where, hex_payload, message in CAPTURED:
            with self.subTest(where):
                payload = h(hex_payload)
                self.assertEqual(rpc.parse_message(payload), message)
                self.assertEqual(rpc.encode_message(message), payload)

    def test_inline_offset_points_after_the_arguments(self):
        payload = h(CAPTURED[1][1])
        target = rpc.read_target(payload)
        self.assertEqual(target, 0x8000002E)
        self.assertEqual(payload[target & 0x7FFFFFFF:], b"Main\0")

    def test_command_values(self):
        self.assertEqual([c.value for c in Command], [0, 1, 2, 3, 4])

    def test_mode_values_as_godot_323(self):
        values = {name: mode.value for name, mode in RPCMode.__members__.items()}
        self.assertEqual(values, {"DISABLED": 0, "REMOTE": 1, "MASTER": 2, "PUPPET": 3, "SLAVE": 3,
                                  "REMOTESYNC": 4, "SYNC": 4, "MASTERSYNC": 5, "PUPPETSYNC": 6})


class MalformedTest(unittest.TestCase):
    """Godot's reasons for the bad packets of the capture and the other size checks."""

    def assert_rejected(self, hex_payload: str, reason: str) -> None:
        with self.assertRaisesRegex(RpcError, reason):
            rpc.parse_message(h(hex_payload))

    def test_truncated_string_argument(self):
        self.assert_rejected("00 4d000000 725f68656c6c6f00 03 0200000001000000 04000000090000006162",
                             "Unable to decode RPC argument")

    def test_fewer_arguments_than_argc(self):
        self.assert_rejected("00 4d000000 725f68656c6c6f00 03 0200000001000000 0200000002000000",
                             "Size too small")

    def test_short_packets(self):
        self.assert_rejected("", "Size too small")
        self.assert_rejected("00 01000000", "Size too small")            # < 6 bytes
        self.assert_rejected("00 01000000 6e6f", "Size too small")        # no NUL after the name
        self.assert_rejected("00 01000000 6e6f00", "Size too small")      # no argc
        self.assert_rejected("01 01000000 6e6f00", "Size too small")      # no value
        self.assert_rejected("02 010000", "Size too small")               # SIMPLIFY_PATH < 5
        self.assert_rejected("03", "Size too small")
        self.assert_rejected("04", "Size too small")

    def test_inline_offset_beyond_the_packet(self):
        self.assert_rejected("00 ff000080 6e6f00 00", "Size smaller than declared")

    def test_unknown_command_is_ignored(self):
        self.assertIsNone(rpc.parse_message(h("05 0102")))

    def test_objects_refused_unless_allowed(self):
        # a full Object argument: header 0x11, empty class name (a null full object)
        payload = h("00 01000000 6600 01 11000000 00000000")
        with self.assertRaisesRegex(RpcError, "Unable to decode RPC argument"):
            rpc.parse_message(payload)
        self.assertEqual(rpc.parse_message(payload, allow_objects=True).args, [None])

    def test_extra_bytes_after_arguments_are_ignored(self):
        payload = h("00 01000000 6600 01 0200000005000000 deadbeef")
        self.assertEqual(rpc.parse_message(payload), RemoteCall("f", [5], path_id=1))

    def test_invalid_utf8_is_an_empty_string_as_godot(self):
        self.assertEqual(rpc.parse_message(h("00 01000000 72ff63616c6c00 00")).name, "")
        self.assertEqual(rpc.parse_message(h("02 09000000 4d61ff696e00")), SimplifyPath(9, ""))


class NormalizePathTest(unittest.TestCase):
    def test_as_godot_nodepath_to_string(self):
        # "Main/" -> "Main", "./Main" and "/root/Main" kept: CONFIRM_PATH echoes of Godot 3.2.3
        cases = {"Main": "Main", "Main/": "Main", "./Main": "./Main", "/root/Main": "/root/Main",
                 "a//b": "a/b", "": "", "/": "/", "a/b:c:d": "a/b:c:d", "a:": "a", "a::b": "",
                 ":x": ":x"}
        for text, expected in cases.items():
            with self.subTest(text=text):
                self.assertEqual(rpc.normalize_path(text), expected)


class EncodeTest(unittest.TestCase):
    def test_too_many_arguments(self):
        rpc.encode_call_tail("f", [0] * 255)
        with self.assertRaisesRegex(ValueError, "255"):
            rpc.encode_call_tail("f", [0] * 256)

    def test_nul_in_name_is_refused(self):
        with self.assertRaises(ValueError):
            rpc.encode_confirm_path("a\0b")

    def test_exactly_one_address(self):
        with self.assertRaises(ValueError):
            rpc.encode_message(RemoteCall("f"))
        with self.assertRaises(ValueError):
            rpc.encode_message(RemoteCall("f", path_id=1, path="Main"))

    def test_utf8_names(self):
        self.assertEqual(rpc.encode_confirm_path("Nœud"), b"\x03N\xc5\x93ud\x00")
        self.assertEqual(rpc.parse_confirm_path(b"\x03N\xc5\x93ud\x00"), "Nœud")


class SendPathCacheTest(unittest.TestCase):
    """The put sequences of the capture, from the Godot client's and the server's side."""

    def setUp(self):
        self.cache = rpc.SendPathCache()

    def call(self, name, args, target, peers, path="Main"):
        tail = rpc.encode_call_tail(name, args)
        return self.cache.outgoing(path, Command.REMOTE_CALL, tail, target, peers)

    def test_client_sequence(self):
        peers = {1, B}
        first = self.call("r_hello", [42, "hi", Vector2(1, 2)], 1, peers)
        self.assertEqual(first, [(1, h(CAPTURED[0][1])), (1, h(CAPTURED[1][1]))])
        self.cache.confirm(1, "Main")
        second = self.call("r_hello", [43, "again", None], 1, peers)
        self.assertEqual(second, [(1, h(CAPTURED[3][1]))])
        broadcast = self.call("r_hello", [1, 2.5, "broadcast"], 0, peers)
        self.assertEqual(broadcast, [(B, h(CAPTURED[0][1])), (1, h(CAPTURED[9][1])),
                                     (B, h(CAPTURED[10][1]))])
        self.cache.confirm(B, "Main")
        tail = rpc.encode_set_tail("remote_prop", 8)
        self.assertEqual(self.cache.outgoing("Main", Command.REMOTE_SET, tail, 0, peers),
                         [(0, h(CAPTURED[13][1]))])

    def test_server_sequence(self):
        first = self.call("p_call", ["from server"], B, {B})
        self.assertEqual(first[0], (B, h("02 01000000 4d61696e00")))
        tail = rpc.encode_set_tail("puppet_prop", 99)
        self.assertEqual(self.cache.outgoing("Main", Command.REMOTE_SET, tail, B, {B}),
                         [(B, h(CAPTURED[19][1]))])
        # a broadcast while B has not confirmed goes to B alone, inline
        self.assertEqual(self.call("r_hello", ["server", "broadcast", 3], 0, {B}),
                         [(B, h(CAPTURED[20][1]))])
        self.cache.confirm(B, "Main")
        # A joined: announced to A, cached to B, inline to A, each with its own target
        out = self.call("r_hello", ["server", "broadcast", 3], 0, {A, B})
        self.assertEqual(out, [(A, h("02 01000000 4d61696e00")), (A, h(CAPTURED[20][1])),
                               (B, h(CAPTURED[21][1]))])

    def test_ids_per_path_in_order_of_first_use(self):
        self.call("f", [], 0, set(), path="Main")
        self.call("f", [], 0, set(), path="Game/P1")
        self.call("f", [], 0, set(), path="Main")
        self.assertEqual((self.cache.path_id("Main"), self.cache.path_id("Game/P1")), (1, 2))

    def test_excluded_peer_is_not_told(self):
        out = self.call("f", [], -A, {A, B})
        self.assertEqual([peer for peer, _ in out], [B, B])

    def test_shared_simplify_bytes(self):
        out = self.call("f", [], 0, {A, B})
        self.assertIs(out[0][1], out[1][1])

    def test_confirm_errors(self):
        with self.assertRaisesRegex(RpcError, "not found in cache"):
            self.cache.confirm(B, "Main")
        self.call("f", [], A, {A, B})
        with self.assertRaisesRegex(RpcError, "Source peer was not found"):
            self.cache.confirm(B, "Main")
        self.cache.confirm(A, "Main")
        self.assertTrue(self.cache.is_confirmed("Main", A))

    def test_forget_peer_and_clear(self):
        self.call("f", [], A, {A})
        self.cache.confirm(A, "Main")
        self.cache.forget_peer(A)
        self.assertFalse(self.cache.is_confirmed("Main", A))
        self.assertEqual(self.call("f", [], A, {A})[0], (A, h("02 01000000 4d61696e00")))
        self.cache.clear()
        self.assertIsNone(self.cache.path_id("Main"))
        self.call("f", [], A, {A}, path="Other")
        self.assertEqual(self.cache.path_id("Other"), 1)


class ReceivePathCacheTest(unittest.TestCase):
    def test_ids_are_per_sender_and_overwrite(self):
        cache = rpc.ReceivePathCache()
        cache.add(A, 1, "Main")
        cache.add(B, 1, "Other")
        self.assertEqual((cache.lookup(A, 1), cache.lookup(B, 1)), ("Main", "Other"))
        cache.add(A, 1, "Third")
        self.assertEqual(cache.lookup(A, 1), "Third")

    def test_lookup_errors(self):
        cache = rpc.ReceivePathCache()
        with self.assertRaisesRegex(RpcError, "invalid peer cache"):
            cache.lookup(A, 1)
        cache.add_peer(A)
        with self.assertRaisesRegex(RpcError, "Unabled to find requested cached node"):
            cache.lookup(A, 99)
        cache.add(A, 99, "Main")
        cache.forget_peer(A)
        with self.assertRaisesRegex(RpcError, "invalid peer cache"):
            cache.lookup(A, 99)


class ModeRulesTest(unittest.TestCase):
    def test_receiver_table(self):
        # (mode, receiver is master, sender is master) -> allowed
        expected = {
            RPCMode.DISABLED: (False, False, False),
            RPCMode.REMOTE: (True, True, True),
            RPCMode.REMOTESYNC: (True, True, True),
            RPCMode.MASTER: (True, False, False),
            RPCMode.MASTERSYNC: (True, False, False),
            RPCMode.PUPPET: (False, True, False),
            RPCMode.PUPPETSYNC: (False, True, False),
        }
        for mode, (as_master, from_master, from_other) in expected.items():
            with self.subTest(mode=mode):
                self.assertEqual(rpc.can_call(mode, True, A, 1), as_master)
                self.assertEqual(rpc.can_call(mode, False, 1, 1), from_master)
                self.assertEqual(rpc.can_call(mode, False, A, 1), from_other)
        self.assertFalse(rpc.can_call(99, True, A, 1))

    def test_sender_table(self):
        # mode -> ((local, skip) as master, (local, skip) not master)
        expected = {
            RPCMode.DISABLED: ((False, False), (False, False)),
            RPCMode.REMOTE: ((False, False), (False, False)),
            RPCMode.REMOTESYNC: ((True, False), (True, False)),
            RPCMode.PUPPETSYNC: ((True, False), (True, False)),
            RPCMode.MASTERSYNC: ((True, True), (True, False)),
            RPCMode.MASTER: ((True, True), (False, False)),
            RPCMode.PUPPET: ((False, False), (True, False)),
        }
        for mode, (as_master, not_master) in expected.items():
            with self.subTest(mode=mode):
                self.assertEqual(rpc.should_call_local(mode, True), as_master)
                self.assertEqual(rpc.should_call_local(mode, False), not_master)

    def test_target_includes_self(self):
        self.assertTrue(rpc.target_includes_self(0, 1))
        self.assertTrue(rpc.target_includes_self(1, 1))
        self.assertTrue(rpc.target_includes_self(-A, 1))
        self.assertFalse(rpc.target_includes_self(-1, 1))
        self.assertFalse(rpc.target_includes_self(A, 1))


if __name__ == "__main__":
    unittest.main()
