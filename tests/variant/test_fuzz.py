"""Bounded fuzzing of the decoder from every vector: bit flips, truncations, huge lengths.

Only documented outcomes are allowed: a value (which re-encodes) or a
``VariantDecodeError`` with one of the decoder's codes and an offset inside the
data; never another exception nor an allocation out of proportion to the input.
Fixed seed, bounded rounds: a few seconds.
"""
from __future__ import annotations

import random
import struct
import tracemalloc
import unittest

from godot_ws.enums import Error
from godot_ws.variant.codec import VariantDecodeError, decode_variant, var2bytes
from godot_ws.variant.types import GodotObject, NodePath, PoolVector3Array, Transform, Vector2
from tests.variant.vectors import load_cases

SEED = 20240603
FLIPS_PER_INPUT = 200
TRUNCATIONS_PER_INPUT = 40
HUGE_WORDS_PER_INPUT = 64
HUGE = (0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 0x3FFFFFFF, 0x0FFFFFFF)
ERRORS = {Error.ERR_INVALID_DATA, Error.ERR_FILE_EOF, Error.ERR_UNAUTHORIZED,
          Error.ERR_UNAVAILABLE, Error.ERR_OUT_OF_MEMORY}
MEMORY_FACTOR, MEMORY_SLACK = 48, 256 * 1024  # peak bytes <= factor * input + slack


def seeds() -> list[bytes]:
    inputs = []
    for case in load_cases():
        for key in ("hex", "engine_hex"):
            if key in case:
                inputs.append(bytes.fromhex(case[key]))
    mixed = {"pos": Vector2(1, 2), "path": NodePath("/root/A:b"), "xf": Transform(),
             "pool": PoolVector3Array([(1, 2, 3)] * 4), "nest": [[{"k": [b"\x01\x02\x03"]}]],
             "obj": GodotObject("Node", {"name": "n", "script": None}), "s": "héllo 😀"}
    inputs.append(var2bytes(mixed, full_objects=True))
    return inputs


def mutations(data: bytes, rng: random.Random):
    """(label, bytes) pairs derived from one input."""
    for _ in range(FLIPS_PER_INPUT):
        b = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            bit = rng.randrange(len(b) * 8)
            b[bit // 8] ^= 1 << (bit % 8)
        yield "flip", bytes(b)
    for _ in range(TRUNCATIONS_PER_INPUT):
        yield "truncate", data[:rng.randrange(len(data))]
    words = range(0, len(data) - 3, 4)
    for pos in rng.sample(words, min(len(words), HUGE_WORDS_PER_INPUT)):
        b = bytearray(data)
        struct.pack_into("<I", b, pos, rng.choice(HUGE))
        yield "huge", bytes(b)


class DecoderFuzz(unittest.TestCase):
    def check(self, label: str, data: bytes, allow: bool) -> None:
        try:
            value, used = decode_variant(data, 0, allow)
        except VariantDecodeError as exc:
            self.assertIn(exc.error, ERRORS, (label, data.hex()))
            self.assertTrue(0 <= exc.offset <= len(data), (label, data.hex(), exc.offset))
            return
        self.assertGreaterEqual(used, 4)
        self.assertLessEqual(used, len(data) + 3, (label, data.hex()))  # + a missing pad
        var2bytes(value, full_objects=True)  # whatever decodes, encodes

    def test_mutated_vectors(self):
        rng = random.Random(SEED)
        runs = 0
        for data in seeds():
            for label, mutated in mutations(data, rng):
                self.check(label, mutated, rng.random() < 0.5)
                runs += 1
        self.assertGreater(runs, 30000)

    def test_memory_stays_proportional_to_input(self):
        rng = random.Random(SEED + 1)
        inputs = [m for data in seeds() for label, m in mutations(data, rng) if label == "huge"]
        inputs = rng.sample(inputs, 400)
        tracemalloc.start()
        try:
            for data in inputs:
                tracemalloc.reset_peak()
                base = tracemalloc.get_traced_memory()[0]
                try:
                    decode_variant(data, 0, True)
                except VariantDecodeError:
                    pass
                peak = tracemalloc.get_traced_memory()[1] - base
                self.assertLess(peak, MEMORY_FACTOR * len(data) + MEMORY_SLACK, data.hex()[:200])
        finally:
            tracemalloc.stop()

    def test_random_bytes(self):
        rng = random.Random(SEED + 2)
        for _ in range(20000):
            size = rng.randrange(0, 64)
            data = bytes([rng.randrange(27)]) + rng.randbytes(size)  # valid type ids first
            self.check("random", data, rng.random() < 0.5)


if __name__ == "__main__":
    unittest.main()
