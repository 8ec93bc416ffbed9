"""Every case of shared/vectors/variant.json (bytes written by Godot 3.2.3), both ways."""
from __future__ import annotations

import unittest

from godot_ws.enums import Error
from godot_ws.variant.codec import VariantDecodeError, bytes2var, decode_variant, var2bytes
from tests.variant.vectors import from_json, load_cases, merges_keys, same

CASES = load_cases()
ENCODE = [c for c in CASES if c["kind"] == "encode"]
DECODE = [c for c in CASES if c["kind"] == "decode"]


class EncodeCases(unittest.TestCase):
    def test_there_are_cases(self):
        self.assertGreater(len(ENCODE), 80)
        self.assertGreater(len(DECODE), 30)

    def test_encode_gives_canonical_hex(self):
        for case in ENCODE:
            if merges_keys(case["value"]):
                continue  # see test_merged_keys_are_the_documented_limitation
            with self.subTest(case["id"]):
                value = from_json(case["value"])
                self.assertEqual(var2bytes(value, case["full_objects"]).hex(), case["hex"])

    def test_merged_keys_are_the_documented_limitation(self):
        # Godot keeps the keys 1 and true apart, a Python dict cannot: the later
        # pair wins, in the first one's place, and the result round-trips.
        merged = [c for c in ENCODE if merges_keys(c["value"])]
        self.assertEqual([c["id"] for c in merged], ["dict_nonstr_keys"])
        for case in merged:
            value = from_json(case["value"])
            data = var2bytes(value, case["full_objects"])
            self.assertNotEqual(data.hex(), case["hex"])
            self.assertTrue(same(bytes2var(data, case["full_objects"]), value))
        decoded = bytes2var(bytes.fromhex(merged[0]["hex"]))
        self.assertEqual(decoded[1], False)
        self.assertIs(type(next(iter(decoded))), int)

    def test_decode_canonical_and_engine_bytes(self):
        for case in ENCODE:
            for key in ("hex", "engine_hex"):
                if key not in case:
                    continue
                with self.subTest(case["id"], bytes=key):
                    data = bytes.fromhex(case[key])
                    value, used = decode_variant(data, 0, case["full_objects"])
                    self.assertTrue(same(value, from_json(case["value"])),
                                    f"{value!r} != {case['value']!r}")
                    self.assertEqual(used, len(data))

    def test_decode_at_an_offset_inside_bigger_data(self):
        for case in ENCODE:
            with self.subTest(case["id"]):
                data = bytes.fromhex(case["hex"])
                value, used = decode_variant(b"\xAA" * 5 + data + b"\xBB" * 3, 5, case["full_objects"])
                self.assertTrue(same(value, from_json(case["value"])))
                self.assertEqual(used, len(data))


class DecodeCases(unittest.TestCase):
    def test_decode_cases_succeed_or_fail_as_the_engine_did(self):
        for case in DECODE:
            with self.subTest(case["id"]):
                data = bytes.fromhex(case["hex"])
                if case["ok"]:
                    value = bytes2var(data, case["allow_objects"])
                    self.assertTrue(same(value, from_json(case["value"])),
                                    f"{value!r} != {case['value']!r}")
                    if "reencoded_hex" in case:
                        self.assertEqual(var2bytes(value).hex(), case["reencoded_hex"])
                else:
                    with self.assertRaises(VariantDecodeError) as caught:
                        bytes2var(data, case["allow_objects"])
                    self.assertEqual(caught.exception.error, Error(case["error_code"]))
                    self.assertIn(caught.exception.error.name, str(caught.exception))
                    self.assertIn("offset", str(caught.exception))

    def test_errors_are_value_errors(self):
        failing = [c for c in DECODE if not c["ok"]]
        self.assertTrue(failing)
        for case in failing:
            with self.subTest(case["id"]), self.assertRaises(ValueError):
                bytes2var(bytes.fromhex(case["hex"]), case["allow_objects"])


if __name__ == "__main__":
    unittest.main()
