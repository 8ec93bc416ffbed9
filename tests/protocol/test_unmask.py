"""Unmasking: the same cases with the C accelerator and with it hidden
(``GODOT_WS_NO_SPEEDUPS=1``), each on a fresh import of the module; and the
wsproto internals the accelerated decoder relies on."""
from __future__ import annotations

import importlib.util
import os
import random
import unittest
from types import ModuleType
from unittest import mock

from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.frame_protocol import (
    FrameDecoder,
    FrameProtocol,
    Opcode,
    ParseFailed,
    XorMaskerSimple,
)

from godot_ws.protocol import unmask

KEY = b"\x12\x9a\xf0\x07"
SIZES = (0, 1, 3, 4, 5, 125, 126, 1000, 65535, 65536, (1 << 20) + 3)


def load_unmask(hidden: bool) -> ModuleType:
    """A fresh copy of godot_ws.protocol.unmask, imported with the accelerator
    hidden or not (the environment is restored afterwards)."""
    with mock.patch.dict(os.environ):
        os.environ.pop("GODOT_WS_NO_SPEEDUPS", None)
        if hidden:
            os.environ["GODOT_WS_NO_SPEEDUPS"] = "1"
        spec = importlib.util.find_spec("godot_ws.protocol.unmask")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def reference_mask(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i & 3] for i, b in enumerate(data))


def client_frames(rng: random.Random, payload: bytes | str, pieces: int) -> bytes:
    """One message as ``pieces`` masked frames (a fresh key each), as a client sends it."""
    client = FrameProtocol(client=True, extensions=[])
    cuts = sorted(rng.randrange(len(payload) + 1) for _ in range(pieces - 1))
    parts = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)])]
    out = bytearray()
    for i, part in enumerate(parts):
        out += client.send_data(part, fin=i == len(parts) - 1)
    return bytes(out)


class UnmaskCases:
    """Run by both subclasses below; ``module`` is their copy of unmask."""

    module: ModuleType
    accelerated: bool

    def setUp(self) -> None:
        self.rng = random.Random(6455)

    def test_accelerator_presence(self) -> None:
        # make test installs godot_ws[speedups]: the accelerated copy must really be.
        self.assertIs(self.module.ACCELERATED, self.accelerated)
        decoder = self.module.make_frame_protocol(False, [])._frame_decoder
        self.assertIs(type(decoder), self.module.UnmaskingFrameDecoder if self.accelerated
                      else FrameDecoder)
        client_decoder = self.module.make_frame_protocol(True, [])._frame_decoder
        self.assertIs(type(client_decoder), FrameDecoder)  # server frames are unmasked

    def test_apply_mask_matches_the_definition(self) -> None:
        for size in SIZES[:8]:
            data = self.rng.randbytes(size)
            for kind in (bytes, bytearray, memoryview):
                with self.subTest(size=size, kind=kind.__name__):
                    out = self.module.apply_mask(kind(data), bytearray(KEY) if kind is bytearray else KEY)
                    self.assertIs(type(out), bytes)
                    self.assertEqual(out, reference_mask(data, KEY))
                    self.assertEqual(self.module.apply_mask(out, KEY), data)

    def test_apply_mask_needs_a_4_byte_key(self) -> None:
        for key in (b"", b"abc", b"abcde"):
            with self.subTest(key=key), self.assertRaises(ValueError):
                self.module.apply_mask(b"data", key)

    def received(self, wire: bytes, chunk: int) -> list[tuple[Opcode, bytes | str, bool]]:
        server = self.module.make_frame_protocol(False, [])
        out = []
        for start in range(0, len(wire), chunk):
            server.receive_bytes(wire[start:start + chunk])
            out += [(f.opcode, f.payload, f.message_finished) for f in server.received_frames()]
        return out

    def test_messages_of_every_size_whole_and_in_uneven_pieces(self) -> None:
        for size in SIZES:
            for payload in (self.rng.randbytes(size), "".join(self.rng.choices("abcé€", k=size))):
                wire = client_frames(self.rng, payload, pieces=1 + size % 3)
                for chunk in (len(wire), 7, 4093):
                    if chunk < 1000 and size > 70000:
                        continue  # small reads of a MiB only re-test the rotation
                    with self.subTest(size=size, text=isinstance(payload, str), chunk=chunk):
                        frames = self.received(wire, chunk)
                        self.assertEqual(payload[:0].join(p for _, p, _ in frames), payload)
                        self.assertTrue(frames[-1][2])

    def test_control_frames(self) -> None:
        client = FrameProtocol(client=True, extensions=[])
        wire = bytes(client.ping(b"are you there") + client.close(1001, "bye"))
        frames = self.received(wire, 5)
        self.assertEqual(frames[0][:2], (Opcode.PING, b"are you there"))
        self.assertEqual(frames[1][0], Opcode.CLOSE)
        self.assertEqual(frames[1][1], (1001, "bye"))

    def test_wsproto_checks_still_apply(self) -> None:
        masked_binary = bytes(FrameProtocol(client=True, extensions=[]).send_data(b"x"))
        bad = {
            "unmasked": b"\x82\x01x",
            "rsv1 set": bytes([masked_binary[0] | 0x40]) + masked_binary[1:],
            "invalid UTF-8": b"\x81\x82" + KEY + reference_mask(b"\xc3\x28", KEY),
            "oversized ping": b"\x89\xfe\x00\x7e" + KEY + bytes(126),
        }
        for name, wire in bad.items():
            with self.subTest(name), self.assertRaises(ParseFailed):
                self.received(wire, len(wire))


class SuiteImportTest(unittest.TestCase):
    def test_the_package_follows_the_environment(self) -> None:
        # make test runs the suite once with GODOT_WS_NO_SPEEDUPS=1 (tools/test_pythons.sh):
        # that run must really parse on the pure path, and every other run in C.
        hidden = os.environ.get("GODOT_WS_NO_SPEEDUPS", "") not in ("", "0")
        self.assertIs(unmask.ACCELERATED, not hidden)


class AcceleratedUnmaskTest(UnmaskCases, unittest.TestCase):
    module = load_unmask(hidden=False)
    accelerated = True


class PureUnmaskTest(UnmaskCases, unittest.TestCase):
    module = load_unmask(hidden=True)
    accelerated = False


class WsprotoInternalsTest(unittest.TestCase):
    """Fails loudly when the wsproto internals unmask.py (and the transport's
    use of its factory) rely on change: pin wsproto back or adapt unmask.py."""

    def test_frame_protocol_parses_through_its_frame_decoder(self) -> None:
        protocol = FrameProtocol(client=False, extensions=[])
        self.assertIs(type(protocol._frame_decoder), FrameDecoder)
        replacement = FrameDecoder(client=False)
        protocol._frame_decoder = replacement
        replacement.receive_bytes(b"\x82\x81" + KEY + reference_mask(b"z", KEY))
        protocol.receive_bytes(b"")
        frames = list(protocol.received_frames())
        self.assertEqual([(f.opcode, f.payload) for f in frames], [(Opcode.BINARY, b"z")])

    def test_parse_header_makes_a_masker_holding_the_key(self) -> None:
        decoder = FrameDecoder(client=False)
        decoder.receive_bytes(b"\x82\x85" + KEY)
        self.assertTrue(decoder.parse_header())
        self.assertIs(type(decoder.masker), XorMaskerSimple)
        self.assertEqual(bytes(decoder.masker._masking_key), KEY)  # type: ignore[union-attr]

    def test_payload_goes_through_masker_process_uncopied(self) -> None:
        decoder = unmask.UnmaskingFrameDecoder(client=False)
        decoder.receive_bytes(b"\x82\x85" + KEY)
        self.assertTrue(decoder.parse_header())
        self.assertIs(type(decoder.masker), unmask._AcceleratedMasker)
        marker = b"plain"
        with mock.patch.object(unmask._AcceleratedMasker, "process", return_value=marker) as process:
            decoder.receive_bytes(b"12345")
            frame = decoder.process_buffer()
        process.assert_called_once_with(bytearray(b"12345"))
        assert frame is not None
        self.assertIs(frame.payload, marker)

    def test_wsproto_connection_parses_through_its_frame_protocol(self) -> None:
        connection = Connection(ConnectionType.SERVER)
        self.assertIs(type(connection._proto), FrameProtocol)


if __name__ == "__main__":
    unittest.main()
