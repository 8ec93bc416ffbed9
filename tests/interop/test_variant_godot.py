"""Real Godot 3.2.3 put_var()s a wide set of values to our server, which decodes each
packet with bytes2var, re-encodes it with var2bytes and sends it back; Godot compares."""
from __future__ import annotations

from godot_ws import Error, WriteMode, bytes2var, var2bytes
from tests.interop.test_raw_godot import RawServerCase


class VariantRoundTripTest(RawServerCase):
    def reencode(self, peer_id: int) -> None:
        peer = self.server.get_peer(peer_id)
        while peer.get_available_packet_count():
            data = peer.get_packet()
            if peer.was_string_packet():  # the script's own control messages
                peer.set_write_mode(WriteMode.WRITE_MODE_TEXT)
                out = data
            else:
                peer.set_write_mode(WriteMode.WRITE_MODE_BINARY)
                value = bytes2var(data, allow_objects=True)
                self.decoded.append(value)
                out = var2bytes(value, full_objects=True)
            self.assertEqual(peer.put_packet(out), Error.OK)

    def test_every_value_survives_python(self):
        self.decoded = []
        # One value is a 60,000-byte PoolByteArray: more than Godot's default 64 KiB rounding leaves.
        self.assertEqual(self.server.set_buffers(1024, 1024, 1024, 1024), Error.OK)
        self.server.connect("data_received", self.reencode)
        self.listen()
        g = self.run_client("variant_roundtrip.gd")
        self.assertEqual(g.returncode, 0, g.output())
        results = g.result_list
        self.assertGreaterEqual(len(results), 60, g.output())
        failed = [r for r in results if not r.ok]
        self.assertEqual(failed, [], g.output())
        self.assertGreaterEqual(len(self.decoded), 60)
