"""Value types: GDScript constructors and fields, float32, immutability, equality, hashing."""
from __future__ import annotations

import copy
import math
import pickle
import unittest

from godot_ws.variant.types import (
    AABB,
    RID,
    Basis,
    Color,
    EncodedObjectAsID,
    GodotObject,
    NodePath,
    Plane,
    PoolByteArray,
    PoolColorArray,
    PoolIntArray,
    PoolRealArray,
    PoolStringArray,
    PoolVector2Array,
    PoolVector3Array,
    Quat,
    Rect2,
    Transform,
    Transform2D,
    Vector2,
    Vector3,
)

F01 = 0.10000000149011612  # 0.1 as float32


class MathTypes(unittest.TestCase):
    def test_fields_and_defaults(self):
        v = Vector2(1, 2)
        self.assertEqual((v.x, v.y, v[0], tuple(v)), (1.0, 2.0, 1.0, (1.0, 2.0)))
        self.assertEqual(Vector2(), Vector2(0, 0))
        self.assertEqual(Vector3(1, 2, 3).z, 3.0)
        r = Rect2(1, 2, 3, 4)
        self.assertEqual((r.position, r.size, r.end), (Vector2(1, 2), Vector2(3, 4), Vector2(4, 6)))
        self.assertEqual(Rect2(Vector2(1, 2), (3, 4)), r)
        t = Transform2D(Vector2(1, 2), Vector2(3, 4), Vector2(5, 6))
        self.assertEqual((t.x, t.y, t.origin, t[0]), (Vector2(1, 2), Vector2(3, 4), Vector2(5, 6), Vector2(1, 2)))
        self.assertEqual(Transform2D(), Transform2D((1, 0), (0, 1), (0, 0)))
        p = Plane(0.6, 0.8, 0, -2.5)
        self.assertEqual((p.normal, p.d, p.x, p.z), (Vector3(0.6, 0.8, 0), -2.5, p.normal.x, 0.0))
        self.assertEqual(Plane(Vector3(0.6, 0.8, 0), -2.5), p)
        self.assertEqual(tuple(Quat()), (0.0, 0.0, 0.0, 1.0))
        self.assertEqual(Quat(1, 2, 3, 4).w, 4.0)
        a = AABB(Vector3(-1, -2, -3), Vector3(1, 2, 3))
        self.assertEqual((a.position, a.size, a.end), (Vector3(-1, -2, -3), Vector3(1, 2, 3), Vector3()))
        b = Basis(Vector3(1, 2, 3), Vector3(4, 5, 6), Vector3(7, 8, 9))
        self.assertEqual((b.x, b[0]), (Vector3(1, 2, 3), Vector3(1, 2, 3)))  # columns, as GDScript
        self.assertEqual(b.rows()[0], (1.0, 4.0, 7.0))
        self.assertEqual(Basis(), Basis((1, 0, 0), (0, 1, 0), (0, 0, 1)))
        x = Transform(b, Vector3(10, 11, 12))
        self.assertEqual((x.basis, x.origin), (b, Vector3(10, 11, 12)))
        self.assertEqual(Transform((1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 11, 12)), x)
        self.assertEqual(Transform(), Transform(Basis(), Vector3()))
        c = Color(1, 0.5, 0)
        self.assertEqual((c.r, c.g, c.b, c.a), (1.0, 0.5, 0.0, 1.0))
        self.assertEqual(Color(), Color(0, 0, 0, 1))

    def test_float32_precision(self):
        self.assertEqual(Vector2(0.1, 0.2).x, F01)
        self.assertEqual(Color(0.1, 0, 0).r, F01)
        self.assertEqual(Rect2(0.1, 0, 0, 0).position.x, F01)
        self.assertEqual(Plane(0, 0, 0, 0.1).d, F01)
        self.assertEqual(Vector3(1e300, -1e300, 1e-50), Vector3(math.inf, -math.inf, 0.0))
        self.assertTrue(math.isnan(Vector2(math.nan, 0).x))
        self.assertEqual(Vector2(True, 2).x, 1.0)

    def test_bad_arguments(self):
        with self.assertRaises(TypeError):
            Vector2("a", 1)
        with self.assertRaises(TypeError):
            Vector2(1, 2, 3)
        with self.assertRaises(TypeError):
            Rect2(1, 2, 3)
        with self.assertRaises(TypeError):
            Plane(1, 2, 3)
        with self.assertRaises(TypeError):
            Transform2D((1, 2, 3))
        with self.assertRaises(TypeError):
            Transform(1, 2, 3)

    def test_immutable(self):
        v = Vector2(1, 2)
        with self.assertRaises(AttributeError):
            v.x = 3
        with self.assertRaises(AttributeError):
            v.z = 3
        with self.assertRaises(TypeError):
            v[0] = 3
        with self.assertRaises(AttributeError):
            Basis().x = Vector3()

    def test_equality_is_typed(self):
        self.assertEqual(Vector2(1, 2), Vector2(1.0, 2.0))
        self.assertNotEqual(Vector2(1, 2), (1.0, 2.0))
        self.assertNotEqual((1.0, 2.0), Vector2(1, 2))
        self.assertNotEqual(Quat(0, 0, 0, 1), Color(0, 0, 0, 1))
        self.assertNotEqual(Rect2(1, 2, 3, 4), Plane(1, 2, 3, 4))
        self.assertFalse(Vector2(1, 2) != Vector2(1, 2))
        keys = {Quat(): "q", Color(0, 0, 0, 1): "c", (0.0, 0.0, 0.0, 1.0): "t"}
        self.assertEqual(len(keys), 3)
        self.assertEqual(keys[Color()], "c")

    def test_hashable_as_dictionary_keys(self):
        values = [Vector2(1, 2), Rect2(1, 2, 3, 4), Vector3(1, 2, 3), Transform2D(), Plane(1, 2, 3, 4),
                  Quat(), AABB(), Basis(), Transform(), Color(), NodePath("a:b"), RID(),
                  EncodedObjectAsID(3), GodotObject("Node", {"x": [1]})]
        table = {v: i for i, v in enumerate(values)}
        for i, v in enumerate(values):
            self.assertEqual(table[copy.deepcopy(v)], i)

    def test_vector_arithmetic(self):
        self.assertEqual(Vector2(1, 2) + Vector2(3, 4), Vector2(4, 6))
        self.assertEqual(Vector3(1, 2, 3) - Vector3(1, 1, 1), Vector3(0, 1, 2))
        self.assertEqual(Vector2(1, 2) * 2, Vector2(2, 4))
        self.assertEqual(2 * Vector2(1, 2), Vector2(2, 4))
        self.assertEqual(Vector2(1, 2) * Vector2(3, 4), Vector2(3, 8))
        self.assertEqual(Vector2(1, 2) / 2, Vector2(0.5, 1))
        self.assertEqual(-Vector2(1, 2), Vector2(-1, -2))
        self.assertEqual(Vector2(3, 4).length(), 5.0)
        self.assertEqual(Vector3(1, 2, 3).dot(Vector3(1, 1, 1)), 6.0)
        self.assertEqual((Vector2(0.1, 0) + Vector2(0.2, 0)).x, Vector2(0.1 + 0.2, 0).x)
        with self.assertRaises(TypeError):
            Vector2(1, 2) + (1, 2)  # no tuple concatenation
        with self.assertRaises(TypeError):
            Color() + Color()
        with self.assertRaises(TypeError):
            Rect2() * 2

    def test_repr_is_readable_and_evaluable(self):
        for value in (Vector2(0.1, -2), Vector3(1, 2, 3), Rect2(0.1, 2, 3, 4), Plane(1, 2, 3, 0.3),
                      Quat(), Color(0.2, 0.4, 0.6), AABB(), Basis(), Transform(),
                      Transform2D(), NodePath("/root/A:b"), RID(), EncodedObjectAsID(5),
                      GodotObject("Node", {"a": 1}), PoolIntArray([1]), PoolVector2Array([(1, 2)])):
            with self.subTest(value=value):
                self.assertEqual(eval(repr(value)), value)
        self.assertEqual(repr(Vector2(0.1, 1)), "Vector2(0.1, 1.0)")
        self.assertEqual(repr(Rect2(1, 2, 3, 4)), "Rect2(1.0, 2.0, 3.0, 4.0)")

    def test_pickle_and_copy(self):
        for value in (Vector2(1, 2), Rect2(1, 2, 3, 4), Plane(1, 2, 3, 4), Transform(),
                      NodePath("a/b:c"), RID(), EncodedObjectAsID(1), GodotObject("Node", {"a": 1}),
                      PoolVector3Array([(1, 2, 3)])):
            with self.subTest(value=value):
                self.assertEqual(pickle.loads(pickle.dumps(value)), value)
                self.assertEqual(copy.copy(value), value)
                self.assertIs(type(pickle.loads(pickle.dumps(value))), type(value))


class NodePaths(unittest.TestCase):
    def test_parsing_as_godot(self):
        cases = {
            "/root/A/B:c": (("root", "A", "B"), ("c",), True),
            "Path2D/PathFollow2D:offset": (("Path2D", "PathFollow2D"), ("offset",), False),
            ":position:x": ((), ("position", "x"), False),
            "a//b": (("a", "b"), (), False),
            "/a/b/": (("a", "b"), (), True),
            "a:": (("a",), (), False),
            "/": ((), (), True),
            "": ((), (), False),
            ".": ((".",), (), False),
        }
        for text, (names, subnames, absolute) in cases.items():
            with self.subTest(text):
                p = NodePath(text)
                self.assertEqual((p.names, p.subnames, p.absolute, p.is_absolute()),
                                 (names, subnames, absolute, absolute))
        self.assertEqual(str(NodePath("a//b")), "a/b")
        self.assertEqual(str(NodePath("/root/A/B:c")), "/root/A/B:c")
        with self.assertRaises(ValueError):
            NodePath("a::b")
        with self.assertRaises(TypeError):
            NodePath(5)

    def test_methods(self):
        p = NodePath("/root/A:b:c")
        self.assertEqual((p.get_name_count(), p.get_name(1), p.get_subname_count(), p.get_subname(0)),
                         (2, "A", 2, "b"))
        self.assertEqual(p.get_concatenated_subnames(), "b:c")
        self.assertTrue(NodePath().is_empty())
        self.assertTrue(NodePath(":").is_empty())
        self.assertFalse(NodePath("/").is_empty())
        self.assertEqual(NodePath(p), p)
        self.assertEqual(NodePath.from_parts(["root", "A"], ["b", "c"], True), p)
        self.assertNotEqual(NodePath("a"), NodePath("/a"))
        self.assertNotEqual(NodePath("a"), "a")
        with self.assertRaises(AttributeError):
            p.absolute = False


class Objects(unittest.TestCase):
    def test_rid(self):
        self.assertEqual(RID(), RID())
        self.assertEqual(RID().get_id(), 0)

    def test_encoded_object_as_id(self):
        e = EncodedObjectAsID(1234)
        self.assertEqual((e.object_id, e.get_object_id()), (1234, 1234))
        self.assertEqual(EncodedObjectAsID(-1).object_id, (1 << 64) - 1)
        self.assertNotEqual(EncodedObjectAsID(1), EncodedObjectAsID(2))
        with self.assertRaises(ValueError):
            EncodedObjectAsID(1 << 64)
        with self.assertRaises(TypeError):
            EncodedObjectAsID(1.5)

    def test_godot_object(self):
        o = GodotObject("Node", [("b", 1), ("a", 2)])
        self.assertEqual((o.class_name, o.get_class(), o.get("a"), o.get("zz")), ("Node", "Node", 2, None))
        self.assertEqual(list(o.properties), ["b", "a"])
        self.assertEqual(o, GodotObject("Node", {"a": 2, "b": 1}))
        self.assertNotEqual(o, GodotObject("Spatial", {"a": 2, "b": 1}))
        with self.assertRaises(TypeError):
            o.properties["c"] = 3
        with self.assertRaises(ValueError):
            GodotObject("")
        with self.assertRaises(TypeError):
            GodotObject("Node", {1: 2})


class Pools(unittest.TestCase):
    def test_byte_array_is_bytes(self):
        self.assertIs(PoolByteArray, bytes)

    def test_coercion(self):
        self.assertEqual(PoolIntArray([1, 2**31, -2**31 - 1]), [1, -2**31, 2**31 - 1])
        self.assertEqual(PoolRealArray([0.1, 1e300]), [F01, math.inf])
        self.assertEqual(PoolVector2Array([(1, 2)]), [Vector2(1, 2)])
        self.assertIs(type(PoolVector3Array([(1, 2, 3)])[0]), Vector3)
        self.assertEqual(PoolColorArray([(1, 0, 0)]), [Color(1, 0, 0, 1)])
        with self.assertRaises(TypeError):
            PoolIntArray([1.5])
        with self.assertRaises(TypeError):
            PoolRealArray(["x"])
        with self.assertRaises(TypeError):
            PoolStringArray([1])
        with self.assertRaises(TypeError):
            PoolVector2Array([(1, 2, 3)])
        with self.assertRaises(TypeError):
            PoolColorArray([(1,)])

    def test_lists(self):
        p = PoolStringArray(["a"])
        p.append("b")
        self.assertEqual(p, ["a", "b"])
        self.assertIsInstance(p, list)
        self.assertEqual(repr(PoolIntArray([1, 2])), "PoolIntArray([1, 2])")
        self.assertEqual(PoolIntArray(), [])


if __name__ == "__main__":
    unittest.main()
