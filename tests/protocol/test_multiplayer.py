"""WebSocketMultiplayerPeer framing, system messages and the relay table (spec §5).

Byte fixtures are frames captured from Godot 3.2.3 (vectors/multiplayer_capture.md):
client A = 1114054110 (de1d6742), client B = 1917371011 (83c24872).
"""
import unittest
from unittest import mock

from godot_ws.protocol import multiplayer as mp
from godot_ws.protocol.multiplayer import RelayVerdict

A, B = 1114054110, 1917371011
C = 5  # a third peer, for tables that need one


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", "").replace("|", ""))


class HeaderTest(unittest.TestCase):
    def test_constants(self):
        self.assertEqual((mp.PROTO_SIZE, mp.SYS_NONE, mp.SYS_ADD, mp.SYS_DEL, mp.SYS_ID),
                         (9, 0, 1, 2, 3))

    def test_pack_header_little_endian_signed(self):
        self.assertEqual(mp.pack_header(0, A, 1), h("00 de1d6742 01000000"))
        self.assertEqual(mp.pack_header(0, A, -1), h("00 de1d6742 ffffffff"))
        self.assertEqual(mp.unpack_header(h("00 de1d6742 ffffffff 44")), (0, A, -1))

    def test_sys_messages_match_capture(self):
        self.assertEqual(mp.sys_message(mp.SYS_ID, A), h("03 01000000 00000000 | de1d6742"))
        self.assertEqual(mp.sys_message(mp.SYS_ADD, 1), h("01 01000000 00000000 | 01000000"))
        self.assertEqual(mp.sys_message(mp.SYS_DEL, B), h("02 01000000 00000000 | 83c24872"))

    def test_server_frame(self):
        # probe_mp.out: server put_var("hi") broadcast
        self.assertEqual(mp.server_frame(0, h("040000000200000068690000")),
                         h("000100000000000000040000000200000068690000"))


class JoinLeaveTest(unittest.TestCase):
    def test_join_sequence_of_capture(self):
        # A joins while B is connected: A gets SYS_ID, SYS_ADD 1, SYS_ADD B; B gets SYS_ADD A.
        self.assertEqual(mp.join_messages(A, [B]), [
            (A, h("03 01000000 00000000 de1d6742")),
            (A, h("01 01000000 00000000 01000000")),
            (B, h("01 01000000 00000000 de1d6742")),
            (A, h("01 01000000 00000000 83c24872")),
        ])

    def test_first_peer_gets_id_and_server_only(self):
        self.assertEqual(mp.join_messages(B, []), [
            (B, h("03 01000000 00000000 83c24872")),
            (B, h("01 01000000 00000000 01000000")),
        ])

    def test_join_interleaves_in_ascending_order_and_shares_frame(self):
        out = mp.join_messages(50, [70, 9, 50, 30])
        self.assertEqual([(r, mp.unpack_header(f)[0], f[9:]) for r, f in out], [
            (50, mp.SYS_ID, h("32000000")), (50, mp.SYS_ADD, h("01000000")),
            (9, mp.SYS_ADD, h("32000000")), (50, mp.SYS_ADD, h("09000000")),
            (30, mp.SYS_ADD, h("32000000")), (50, mp.SYS_ADD, h("1e000000")),
            (70, mp.SYS_ADD, h("32000000")), (50, mp.SYS_ADD, h("46000000")),
        ])
        shared = [f for r, f in out if r != 50]
        self.assertTrue(all(f is shared[0] for f in shared))

    def test_join_without_announce(self):
        out = mp.join_messages(50, [9, 30], announce=False)
        self.assertEqual([r for r, _ in out], [50, 50])
        self.assertEqual([f[0] for _, f in out], [mp.SYS_ID, mp.SYS_ADD])

    def test_leave(self):
        out = mp.leave_messages(B, [A, B, 7])
        self.assertEqual([r for r, _ in out], [7, A])
        self.assertEqual(out[0][1], h("02 01000000 00000000 83c24872"))
        self.assertIs(out[0][1], out[1][1])
        self.assertEqual(mp.leave_messages(B, [A], announce=False), [])


class ParseClientPacketTest(unittest.TestCase):
    def test_accepts_and_keeps_frame(self):
        data = h("00 83c24872 01000000 | 04deadbeef")
        packet = mp.parse_client_packet(B, data)
        self.assertEqual(packet, mp.ClientPacket(B, 1, h("04deadbeef"), data))

    def test_empty_payload_and_bytearray(self):
        packet = mp.parse_client_packet(B, bytearray(h("00 83c24872 01000000")))
        self.assertEqual((packet.to, packet.payload), (1, b""))
        self.assertIsInstance(packet.frame, bytes)

    def test_rejections_of_capture(self):
        self.assertIn("shorter", mp.parse_client_packet(B, h("000102")))
        self.assertIn("SYS_NONE", mp.parse_client_packet(B, h("01 83c24872 01000000 | 05000000")))
        self.assertIn("12345", mp.parse_client_packet(B, h("00 39300000 01000000 | 0401")))


class RouteTest(unittest.TestCase):
    """Every row of the §5.4 table, with peers A, B, C connected and A sending."""
    live = {A, B, C}

    def test_to_server(self):
        self.assertEqual(mp.route(A, 1, self.live), (True, (), None))

    def test_broadcast(self):
        self.assertEqual(mp.route(A, 0, self.live), (True, (C, B), None))

    def test_all_but_one(self):
        self.assertEqual(mp.route(A, -B, self.live), (True, (C,), None))

    def test_all_but_sender_itself(self):
        self.assertEqual(mp.route(A, -A, self.live), (True, (C, B), None))

    def test_all_but_unknown(self):
        self.assertEqual(mp.route(A, -999, self.live), (True, (C, B), None))

    def test_all_but_server_is_not_stored(self):
        # Deliberate difference: Godot 3 also stores it for the server (a bug fixed in Godot 4).
        self.assertEqual(mp.route(A, -1, self.live), (False, (C, B), None))

    def test_one_peer(self):
        self.assertEqual(mp.route(A, B, self.live), (False, (B,), None))

    def test_to_self_is_an_error(self):
        store, recipients, error = mp.route(A, A, self.live)
        self.assertEqual((store, recipients), (False, ()))
        self.assertIn("itself", error)

    def test_unknown_peer_is_an_error(self):
        store, recipients, error = mp.route(A, 999, self.live)
        self.assertEqual((store, recipients), (False, ()))
        self.assertIn("999", error)

    def test_alone(self):
        self.assertEqual(mp.route(A, 0, {A}), (True, (), None))


class ServerRouteTest(unittest.TestCase):
    live = {A, B, C}

    def test_rows(self):
        self.assertEqual(mp.server_route(0, self.live), ((C, A, B), None))
        self.assertEqual(mp.server_route(1, self.live), ((), None))
        self.assertEqual(mp.server_route(-A, self.live), ((C, B), None))
        self.assertEqual(mp.server_route(-1, self.live), ((C, A, B), None))
        self.assertEqual(mp.server_route(B, self.live), ((B,), None))
        recipients, error = mp.server_route(999, self.live)
        self.assertEqual(recipients, ())
        self.assertIn("999", error)


class RelayClientPacketTest(unittest.TestCase):
    live = {A, B, C}

    def test_broadcast_relays_the_frame_verbatim(self):
        # capture t=4.775: B's RAW broadcast, stored by the server and relayed
        data = h("00 83c24872 00000000 | 040b0c")
        relay = mp.relay_client_packet(B, data, self.live)
        self.assertEqual(relay, mp.Relay(B, h("040b0c"), data, (C, A), None))

    def test_to_peer_not_stored(self):
        data = h("00 de1d6742 83c24872 | 02010000004d61696e00")
        relay = mp.relay_client_packet(A, data, self.live)
        self.assertEqual((relay.store, relay.frame, relay.recipients), (None, data, (B,)))

    def test_to_server_only(self):
        relay = mp.relay_client_packet(A, h("00 de1d6742 01000000 | 034d61696e00"), self.live)
        self.assertEqual((relay.store, relay.frame, relay.recipients, relay.error),
                         (h("034d61696e00"), None, (), None))

    def test_errors(self):
        for data in (h("000102"), h("00 de1d6742 de1d6742 | 00"), h("00 de1d6742 e7030000 | 00")):
            relay = mp.relay_client_packet(A, data, self.live)
            self.assertEqual((relay.store, relay.frame, relay.recipients), (None, None, ()))
            self.assertIsNotNone(relay.error)


class PolicyTest(unittest.TestCase):
    live = {A, B, C}
    data = h("00 de1d6742 00000000 | 04aa")

    def relay(self, policy):
        return mp.relay_client_packet(A, self.data, self.live, policy)

    def test_allow(self):
        seen = []

        def policy(frm, to, payload):
            seen.append((frm, to, payload))
            return RelayVerdict.ALLOW
        self.assertEqual(self.relay(policy), mp.relay_client_packet(A, self.data, self.live))
        self.assertEqual(seen, [(A, 0, h("04aa"))])
        self.assertEqual(self.relay(lambda *a: True).recipients, (C, B))

    def test_drop(self):
        for verdict in (RelayVerdict.DROP, False):
            self.assertEqual(self.relay(lambda *a, v=verdict: v), mp.Relay(A, None, None, (), None))

    def test_redirect_to_peer_rewrites_to(self):
        relay = self.relay(lambda *a: B)
        self.assertEqual(relay, mp.Relay(A, None, h("00 de1d6742 83c24872 | 04aa"), (B,), None))

    def test_redirect_to_server_only(self):
        self.assertEqual(self.relay(lambda *a: 1), mp.Relay(A, h("04aa"), None, (), None))

    def test_redirect_to_unknown_is_an_error(self):
        self.assertIn("999", self.relay(lambda *a: 999).error)

    def test_bad_verdict(self):
        with self.assertRaisesRegex(TypeError, "RelayVerdict"):
            self.relay(lambda *a: None)

    def test_rejected_packets_never_reach_the_policy(self):
        policy = mock.Mock(return_value=RelayVerdict.ALLOW)
        mp.relay_client_packet(A, h("00 83c24872 00000000 | 04aa"), self.live, policy)
        policy.assert_not_called()


class NewPeerIdTest(unittest.TestCase):
    def test_range(self):
        for _ in range(200):
            peer_id = mp.new_peer_id(set())
            self.assertTrue(1 < peer_id < 2 ** 31)

    def test_skips_reserved_and_live_ids(self):
        with mock.patch.object(mp.secrets, "randbits", side_effect=[0, 1, 5, 7]) as randbits:
            self.assertEqual(mp.new_peer_id({5}), 7)
        randbits.assert_called_with(31)


if __name__ == "__main__":
    unittest.main()
