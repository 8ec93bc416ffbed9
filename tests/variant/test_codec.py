"""Codec behaviour beyond the shared vectors: engine-checked corner cases, limits, API."""
from __future__ import annotations

import enum
import math
import unittest
from collections import OrderedDict

from godot_ws.enums import Error
from godot_ws.variant import codec
from godot_ws.variant.codec import (
    MAX_DEPTH,
    VariantDecodeError,
    VariantEncodeError,
    bytes2var,
    decode_variant,
    encode_into,
    var2bytes,
)
from godot_ws.variant.types import (
    Color,
    EncodedObjectAsID,
    GodotObject,
    NodePath,
    PoolByteArray,
    PoolColorArray,
    PoolIntArray,
    PoolRealArray,
    PoolStringArray,
    PoolVector2Array,
    PoolVector3Array,
    Vector2,
)
from tests.variant.vectors import same

# Fed to Godot 3.2.3 (godot3-server, StreamPeerBuffer.get_var) while writing the codec:
# (hex, allow_objects, decoded value or the engine's error, var2bytes of the value).
ENGINE_DECODES = [
    # PoolStringArray with a negative count is empty (its loop never runs)
    ("17000000ffffffff", False, PoolStringArray(), "1700000000000000"),
    # a PoolByteArray missing its padding still counts it: the next element
    # starts 3 bytes later and reads a Nil header there
    ("13000000020000001400000001000000ff0200000005000000", False, [b"\xff", None],
     "13000000020000001400000001000000ff00000000000000"),
    ("1300000002000000140000000100000000ff00000200000005000000", False, [b"\x00", 5],
     "13000000020000001400000001000000000000000200000005000000"),
    # NodePath: the obsolete-property flag makes subname count 0xFFFFFFFF wrap to 0
    ("0f00000001000080ffffffff020000000100000061000000", False, NodePath("a"),
     "0f0000000100008000000000000000000100000061000000"),
    # full object with a negative property count: no properties
    ("11000000090000005265666572656e6365000000ffffffff", True, GodotObject("Reference"),
     "11000000090000005265666572656e636500000000000000"),
    ("11000000060000004f626a656374000000000000", True, GodotObject("Object"), None),
    ("11000000090000004e6f74436c61737300000000", True, Error.ERR_UNAVAILABLE, None),
    ("11000000050000004e6f646532000000", True, Error.ERR_UNAVAILABLE, None),  # no such class
    ("11000000040000004e6f646500000000", False, Error.ERR_UNAUTHORIZED, None),
    # bool: any flag bits, any non-zero payload
    ("0100010002000000", False, True, "0100000001000000"),
    # Array key -> tuple
    ("1200000001000000130000000100000002000000010000000200000002000000", False, {(1,): 2},
     "1200000001000000130000000100000002000000010000000200000002000000"),
    ("13000000ffffffff", False, Error.ERR_INVALID_DATA, None),  # count 0x7FFFFFFF, no data
    # Godot's UTF-8 parser: BOM skipped, stops at NUL, surrogates and some overlongs accepted
    ("0400000003000000efbbbf00", False, "", "0400000000000000"),
    ("0400000004000000efbbbf41", False, "A", "040000000100000041000000"),
    ("0400000006000000efbbbfefbbbf0000", False, "\ufeff", "0400000003000000efbbbf00"),
    ("04000000040000006100ff00", False, "a", "040000000100000061000000"),
    ("0400000003000000eda08000", False, "\ud800", "0400000003000000eda08000"),
    ("0400000003000000e0809000", False, "\x10", "040000000100000010000000"),
    ("0400000004000000f0808880", False, "\u0200", "0400000002000000c8800000"),
    ("0400000002000000c0800000", False, Error.ERR_INVALID_DATA, None),
    ("0400000003000000e0808f00", False, Error.ERR_INVALID_DATA, None),
    ("0400000002000000fe000000", False, Error.ERR_INVALID_DATA, None),
    ("0400000003000000c3410000", False, Error.ERR_INVALID_DATA, None),
    ("0400000004000000ab00ff00", False, Error.ERR_INVALID_DATA, None),
]

# var2bytes in Godot 3.2.3 (NodePath padding zeroed).
ENGINE_ENCODES = [
    (NodePath("/"), "0f000000000000800000000001000000"),
    (NodePath("a//b"), "0f00000002000080000000000000000001000000610000000100000062000000"),
    (NodePath("a:"), "0f0000000100008000000000000000000100000061000000"),
    (NodePath(":"), "0f000000000000800000000000000000"),
    (NodePath("/:x"), "0f0000000000008001000000010000000100000078000000"),
    (NodePath("/a/b/"), "0f00000002000080000000000100000001000000610000000100000062000000"),
    (-0.0, "0300000000000080"),
    (math.nan, "03000100000000000000f87f"),
    (math.inf, "030000000000807f"),
    (True, "0100000001000000"),
    (PoolIntArray([2147483648, -2147483649, 4294967296 + 5]),
     "150000000300000000000080ffffff7f05000000"),
    (PoolRealArray([1e300, -1e300, 1e-50]), "16000000030000000000807f000080ff00000000"),
    (Vector2(1e300, 1e-50), "050000000000807f00000000"),
    (PoolStringArray(["a"]), "17000000010000000200000061000000"),
]


class EngineChecked(unittest.TestCase):
    def test_decodes(self):
        for data, allow, expected, reencoded in ENGINE_DECODES:
            with self.subTest(data):
                if isinstance(expected, Error):
                    with self.assertRaises(VariantDecodeError) as caught:
                        bytes2var(bytes.fromhex(data), allow)
                    self.assertEqual(caught.exception.error, expected)
                    continue
                value = bytes2var(bytes.fromhex(data), allow)
                self.assertTrue(same(value, expected), f"{value!r} != {expected!r}")
                if reencoded:
                    self.assertEqual(var2bytes(value, allow).hex(), reencoded)

    def test_encodes(self):
        for value, expected in ENGINE_ENCODES:
            with self.subTest(value=value):
                self.assertEqual(var2bytes(value).hex(), expected)


class Decoding(unittest.TestCase):
    def test_consumed_counts_missing_pool_byte_padding(self):
        self.assertEqual(decode_variant(bytes.fromhex("1400000001000000ff")), (b"\xff", 12))
        with self.assertRaises(VariantDecodeError):
            bytes2var(bytes.fromhex("040000000100000061"))  # String: padding required

    def test_accepts_bytearray_and_memoryview(self):
        data = var2bytes([1, "x"])
        self.assertEqual(bytes2var(bytearray(data)), [1, "x"])
        self.assertEqual(bytes2var(memoryview(data)), [1, "x"])
        with self.assertRaises(TypeError):
            bytes2var("04000000")

    def test_offsets(self):
        data = b"\0" * 3 + var2bytes(7)
        self.assertEqual(decode_variant(data, 3), (7, 8))
        with self.assertRaises(ValueError):
            decode_variant(data, -1)
        with self.assertRaises(VariantDecodeError) as caught:
            decode_variant(data, len(data))
        self.assertEqual(caught.exception.offset, len(data))

    def test_error_names_the_problem_and_offset(self):
        data = var2bytes(["ok", {"k": 1}])[:-2]
        with self.assertRaises(VariantDecodeError) as caught:
            bytes2var(data)
        err = caught.exception
        self.assertEqual((err.error, err.offset), (Error.ERR_INVALID_DATA, len(data) - 2))
        self.assertIn("int32 needs 4 bytes, 2 left", str(err))
        self.assertIn(f"offset {len(data) - 2}", str(err))

    def test_depth_limit(self):
        ok = b"".join([bytes.fromhex("1300000001000000")] * MAX_DEPTH) + var2bytes(None)
        value = bytes2var(ok)
        for _ in range(MAX_DEPTH):
            self.assertIsInstance(value, list)
            value = value[0]
        self.assertIsNone(value)
        too_deep = bytes.fromhex("1200000001000000") + ok  # a dict around it
        with self.assertRaises(VariantDecodeError) as caught:
            bytes2var(too_deep)
        self.assertEqual(caught.exception.error, Error.ERR_OUT_OF_MEMORY)

    def test_huge_claimed_lengths_fail_fast(self):
        for type_id in (4, 20, 21, 22, 23, 24, 25, 26, 18, 19):
            for count in (0x7FFFFFFF, 0xFFFFFFFF, 0x40000000):
                data = codec._P_UU(type_id, count) + b"\0" * 12
                with self.subTest(type_id=type_id, count=hex(count)):
                    try:
                        value = bytes2var(data)
                    except VariantDecodeError as exc:
                        self.assertIn(exc.error, (Error.ERR_INVALID_DATA, Error.ERR_FILE_EOF))
                    else:  # only a negative PoolStringArray count is valid (empty)
                        self.assertEqual((type_id, value), (23, PoolStringArray()))

    def test_dictionary_as_key_is_refused(self):
        data = bytes.fromhex("12000000010000001200000000000000" "00000000")  # {{}: null}
        with self.assertRaises(VariantDecodeError) as caught:
            bytes2var(data)
        self.assertEqual(caught.exception.error, Error.ERR_INVALID_DATA)
        self.assertIn("Dictionary key", str(caught.exception))

    def test_pool_array_key_becomes_tuple(self):
        value = {(1, 2): "a"}
        data = bytes.fromhex("120000000100000015000000020000000100000002000000") + var2bytes("a")
        self.assertEqual(bytes2var(data), value)

    def test_object_id_zero_and_large(self):
        self.assertIsNone(bytes2var(bytes.fromhex("110001000000000000000000")))
        big = bytes2var(bytes.fromhex("11000100ffffffffffffffff"))
        self.assertEqual(big, EncodedObjectAsID((1 << 64) - 1))
        self.assertEqual(var2bytes(big).hex(), "11000100ffffffffffffffff")

    def test_decoded_types(self):
        data = var2bytes([PoolIntArray([1]), PoolRealArray([0.5]), PoolVector2Array([(1, 2)]),
                          PoolVector3Array([(1, 2, 3)]), PoolColorArray([(1, 0, 0)]), b"ab"])
        value = bytes2var(data)
        self.assertEqual([type(v) for v in value],
                         [PoolIntArray, PoolRealArray, PoolVector2Array, PoolVector3Array,
                          PoolColorArray, bytes])
        self.assertIs(type(value[2][0]), Vector2)
        self.assertIs(type(value[4][0]), Color)
        self.assertEqual(value[4][0], Color(1, 0, 0, 1))


class Encoding(unittest.TestCase):
    def test_int_and_float_widths(self):
        self.assertEqual(len(var2bytes(2**31 - 1)), 8)
        self.assertEqual(len(var2bytes(2**31)), 12)
        self.assertEqual(len(var2bytes(-2**63)), 12)
        with self.assertRaises(ValueError):
            var2bytes(2**63)
        with self.assertRaises(ValueError):
            var2bytes(-2**63 - 1)
        self.assertEqual(len(var2bytes(0.5)), 8)
        self.assertEqual(len(var2bytes(0.1)), 12)
        self.assertEqual(len(var2bytes(1e300)), 12)  # beyond float32 range: double
        self.assertEqual(len(var2bytes(3.4028234663852886e38)), 8)  # FLT_MAX itself fits

    def test_subclasses_encode_as_their_base(self):
        class Color3(enum.IntEnum):
            RED = 3

        class MyFloat(float):
            pass

        class MyStr(str):
            pass

        self.assertEqual(var2bytes(Color3.RED), var2bytes(3))
        self.assertEqual(var2bytes(Error.ERR_BUSY), var2bytes(44))
        self.assertEqual(var2bytes(MyFloat(0.5)), var2bytes(0.5))
        self.assertEqual(var2bytes(MyStr("x")), var2bytes("x"))
        self.assertEqual(var2bytes(OrderedDict(a=1)), var2bytes({"a": 1}))
        self.assertEqual(var2bytes((1, "a")), var2bytes([1, "a"]))
        self.assertEqual(var2bytes(bytearray(b"ab")), var2bytes(b"ab"))
        self.assertEqual(var2bytes(memoryview(b"ab")), var2bytes(PoolByteArray(b"ab")))

    def test_unsupported_types_raise_type_error(self):
        for value in ({1}, object(), 1j, frozenset()):
            with self.subTest(value=value), self.assertRaises(TypeError) as caught:
                var2bytes(value)
            self.assertIn("Godot Variant", str(caught.exception))

    def test_pool_elements_are_checked(self):
        with self.assertRaises(TypeError):
            var2bytes(_bad_strings())
        bad_vectors = PoolVector2Array()
        list.append(bad_vectors, (1.0, 2.0, 3.0))
        with self.assertRaises(TypeError):
            var2bytes(bad_vectors)
        loose = PoolVector2Array()
        list.append(loose, (1, 2))  # plain tuples of the right size are accepted
        self.assertEqual(var2bytes(loose), var2bytes(PoolVector2Array([Vector2(1, 2)])))
        ints = PoolIntArray()
        list.append(ints, 2**32 + 1)  # wraps like the constructor
        self.assertEqual(var2bytes(ints), var2bytes(PoolIntArray([1])))

    def test_depth_limit_and_cycles(self):
        value: list = [None]
        for _ in range(MAX_DEPTH - 1):
            value = [value]
        self.assertEqual(bytes2var(var2bytes(value)), value)
        with self.assertRaises(VariantEncodeError) as caught:
            var2bytes({"deeper": value})
        self.assertEqual(caught.exception.error, Error.ERR_OUT_OF_MEMORY)
        cycle: dict = {}
        cycle["self"] = cycle
        with self.assertRaises(ValueError):
            var2bytes(cycle)

    def test_objects(self):
        obj = GodotObject("Node", {"name": "n", "child": GodotObject("Reference", {})})
        with self.assertRaises(ValueError):
            var2bytes(obj)
        data = var2bytes(obj, full_objects=True)
        self.assertEqual(bytes2var(data, allow_objects=True), obj)
        with self.assertRaises(VariantDecodeError):
            bytes2var(data)
        self.assertEqual(var2bytes(EncodedObjectAsID(9), full_objects=True),
                         var2bytes(EncodedObjectAsID(9)))

    def test_encode_into_appends(self):
        out = bytearray(b"\x00")
        encode_into(out, 1)
        encode_into(out, "a")
        self.assertEqual(bytes(out), b"\x00" + var2bytes(1) + var2bytes("a"))

    def test_strings_with_lone_surrogates_round_trip(self):
        self.assertEqual(bytes2var(var2bytes("a\udc80b")), "a\udc80b")


def _bad_strings() -> PoolStringArray:
    strings = PoolStringArray(["ok"])
    list.append(strings, 5)
    return strings


if __name__ == "__main__":
    unittest.main()
