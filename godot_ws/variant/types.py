"""Python value types for Godot 3's Variant types (what the codec produces and accepts).

Math types are immutable tuple subclasses: hashable (usable as Dictionary
keys), equal only to the same type with the same components, with GDScript's
constructors and field names. Components are float32, as Godot 3 stores them,
so ``Vector2(0.1, 0.2).x == 0.10000000149011612``; out-of-range values become
±inf as a C cast does. Composite types hold their parts (``Rect2`` is
``(position, size)``, ``Basis`` is its three axis columns ``(x, y, z)``), so
``Transform2D(...)[0]`` and ``Basis(...)[0]`` are the x axis, as in GDScript.

Pool arrays are ``list`` subclasses whose constructors coerce the elements to
what Godot stores (int32, float32, ``str``, ``Vector2`` ...); ``PoolByteArray``
is ``bytes``. The codec enforces the element types again when encoding.
"""
from __future__ import annotations

import math
import operator
from array import array
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import index, itemgetter
from types import MappingProxyType
from typing import Any, TypeVar, cast

__all__ = [
    "Vector2", "Rect2", "Vector3", "Transform2D", "Plane", "Quat", "AABB", "Basis",
    "Transform", "Color", "NodePath", "RID", "EncodedObjectAsID", "GodotObject",
    "PoolByteArray", "PoolIntArray", "PoolRealArray", "PoolStringArray",
    "PoolVector2Array", "PoolVector3Array", "PoolColorArray",
]

_tnew = tuple.__new__
_U64 = 1 << 64
_Element = TypeVar("_Element", bound=tuple[Any, ...])


def _f32(values: Iterable[Any]) -> list[float]:
    """Round numbers to float32 as Godot's ``real_t`` does (overflow -> ±inf)."""
    try:
        return array("f", values).tolist()
    except TypeError:
        bad = next((v for v in values if not isinstance(v, (int, float))), values)
        raise TypeError(f"expected a number, got {type(bad).__name__} {bad!r}") from None


def _fmt(v: float) -> str:
    """Shortest text that rounds back to the same float32 (``0.1``, not ``0.10000000149011612``)."""
    if not math.isfinite(v):
        return repr(v)
    for digits in (6, 7, 8, 9):
        text = "%.*g" % (digits, v)
        if array("f", (float(text),))[0] == v:
            break
    if not any(c in text for c in ".en"):
        text += ".0"
    return text


class _Value(tuple[Any, ...]):
    """Base of the immutable value types: typed equality, readable repr, pickling."""
    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not (type(other) is type(self) and tuple.__eq__(self, other))

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(_repr_part, self))})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    # tuple's + and * (concatenation, repetition) would be traps for math types.
    def __add__(self, other: object) -> Any:
        return NotImplemented

    __mul__ = __rmul__ = __add__


def _fields(*docs: str) -> tuple[property, ...]:
    """Read-only properties for the components 0, 1, ... of a tuple-based type."""
    return tuple(property(itemgetter(i), doc=doc) for i, doc in enumerate(docs))


def _repr_part(part: Any) -> str:
    return _fmt(part) if type(part) is float else repr(part)


class _Vector(_Value):
    """Vector2/Vector3 arithmetic, component-wise as in GDScript (results float32)."""
    __slots__ = ()

    def _combine(self, other: Any, op: Any) -> Any:
        if type(other) is type(self):
            return type(self)(*map(op, self, other))
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return type(self)(*(op(a, other) for a in self))
        return NotImplemented

    def __add__(self, other: Any) -> Any:
        return self._combine(other, operator.add) if type(other) is type(self) else NotImplemented

    def __sub__(self, other: Any) -> Any:
        return self._combine(other, operator.sub) if type(other) is type(self) else NotImplemented

    def __mul__(self, other: Any) -> Any:
        return self._combine(other, operator.mul)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        return self._combine(other, operator.truediv)

    def __neg__(self) -> Any:
        return type(self)(*(-a for a in self))

    def length(self) -> float:
        """Euclidean length."""
        return math.sqrt(sum(a * a for a in self))

    def dot(self, other: Any) -> float:
        """Dot product with a vector of the same type."""
        return float(sum(a * b for a, b in zip(self, other)))


class Vector2(_Vector):
    """``Vector2(x, y)``."""
    __slots__ = ()

    def __new__(cls, x: float = 0.0, y: float = 0.0) -> Vector2:
        return _tnew(cls, _f32((x, y)))

    x, y = _fields("x component", "y component")


class Vector3(_Vector):
    """``Vector3(x, y, z)``."""
    __slots__ = ()

    def __new__(cls, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> Vector3:
        return _tnew(cls, _f32((x, y, z)))

    x, y, z = _fields("x component", "y component", "z component")


def _vec(cls: type[_Element], value: Any, what: str) -> _Element:
    """``value`` as a ``cls`` vector (accepts any sequence of the right length)."""
    if type(value) is cls:
        return value
    try:
        return cls(*value)
    except TypeError:
        raise TypeError(f"{what} must be a {cls.__name__} or a sequence of "
                        f"{2 if cls is Vector2 else 3} numbers, got {value!r}") from None


class Rect2(_Value):
    """``Rect2(x, y, width, height)`` or ``Rect2(position, size)``; ``.position``, ``.size``, ``.end``."""
    __slots__ = ()

    def __new__(cls, *args: Any) -> Rect2:
        if len(args) == 4:
            x, y, w, h = _f32(args)
            return _tnew(cls, (_tnew(Vector2, (x, y)), _tnew(Vector2, (w, h))))
        if len(args) == 2:
            return _tnew(cls, (_vec(Vector2, args[0], "position"), _vec(Vector2, args[1], "size")))
        if not args:
            return _tnew(cls, (Vector2(), Vector2()))
        raise TypeError("Rect2 takes (x, y, width, height) or (position, size)")

    position, size = _fields("top-left corner (Vector2)", "width and height (Vector2)")

    @property
    def end(self) -> Vector2:
        """position + size."""
        return cast(Vector2, self[0] + self[1])

    def __repr__(self) -> str:
        return f"Rect2({', '.join(map(_fmt, chain(*self)))})"


class Transform2D(_Value):
    """``Transform2D(x_axis, y_axis, origin)``; ``Transform2D()`` is the identity."""
    __slots__ = ()

    def __new__(cls, x_axis: Any = (1.0, 0.0), y_axis: Any = (0.0, 1.0),
                origin: Any = (0.0, 0.0)) -> Transform2D:
        return _tnew(cls, (_vec(Vector2, x_axis, "x_axis"), _vec(Vector2, y_axis, "y_axis"),
                           _vec(Vector2, origin, "origin")))

    x, y, origin = _fields("x axis (Vector2)", "y axis (Vector2)", "translation (Vector2)")


class Plane(_Value):
    """``Plane(a, b, c, d)`` or ``Plane(normal, d)``; ``.normal``, ``.d``, ``.x/.y/.z``."""
    __slots__ = ()

    def __new__(cls, *args: Any) -> Plane:
        if len(args) == 4:
            a, b, c, d = _f32(args)
            return _tnew(cls, (_tnew(Vector3, (a, b, c)), d))
        if len(args) == 2:
            return _tnew(cls, (_vec(Vector3, args[0], "normal"), _f32((args[1],))[0]))
        if not args:
            return _tnew(cls, (Vector3(), 0.0))
        raise TypeError("Plane takes (a, b, c, d) or (normal, d)")

    normal, d = _fields("normal (Vector3)", "distance from the origin")
    x = property(lambda self: self[0][0], doc="normal.x")
    y = property(lambda self: self[0][1], doc="normal.y")
    z = property(lambda self: self[0][2], doc="normal.z")

    def __repr__(self) -> str:
        return f"Plane({', '.join(map(_fmt, (*self[0], self[1])))})"


class Quat(_Value):
    """``Quat(x, y, z, w)``; ``Quat()`` is the identity (0, 0, 0, 1)."""
    __slots__ = ()

    def __new__(cls, x: float = 0.0, y: float = 0.0, z: float = 0.0, w: float = 1.0) -> Quat:
        return _tnew(cls, _f32((x, y, z, w)))

    x, y, z, w = _fields("x", "y", "z", "w")


class AABB(_Value):
    """``AABB(position, size)`` with Vector3 parts; ``.end``."""
    __slots__ = ()

    def __new__(cls, position: Any = (0.0, 0.0, 0.0), size: Any = (0.0, 0.0, 0.0)) -> AABB:
        return _tnew(cls, (_vec(Vector3, position, "position"), _vec(Vector3, size, "size")))

    position, size = _fields("minimum corner (Vector3)", "extent (Vector3)")

    @property
    def end(self) -> Vector3:
        """position + size."""
        return cast(Vector3, self[0] + self[1])


class Basis(_Value):
    """``Basis(x_axis, y_axis, z_axis)``: the three column vectors; ``Basis()`` is the identity.

    On the wire a Basis is row by row: ``x.x, y.x, z.x, x.y, y.y, z.y, x.z, y.z, z.z``.
    """
    __slots__ = ()

    def __new__(cls, x_axis: Any = (1.0, 0.0, 0.0), y_axis: Any = (0.0, 1.0, 0.0),
                z_axis: Any = (0.0, 0.0, 1.0)) -> Basis:
        return _tnew(cls, (_vec(Vector3, x_axis, "x_axis"), _vec(Vector3, y_axis, "y_axis"),
                           _vec(Vector3, z_axis, "z_axis")))

    x, y, z = _fields("x axis, column 0 (Vector3)", "y axis, column 1 (Vector3)",
                      "z axis, column 2 (Vector3)")

    def rows(self) -> tuple[tuple[float, ...], ...]:
        """The three rows (what the wire holds, in order)."""
        return tuple(zip(*self))


class Transform(_Value):
    """``Transform(basis, origin)`` or ``Transform(x_axis, y_axis, z_axis, origin)``; ``Transform()`` is the identity."""
    __slots__ = ()

    def __new__(cls, *args: Any) -> Transform:
        if len(args) == 2:
            basis = args[0] if type(args[0]) is Basis else Basis(*args[0])
            return _tnew(cls, (basis, _vec(Vector3, args[1], "origin")))
        if len(args) == 4:
            return _tnew(cls, (Basis(*args[:3]), _vec(Vector3, args[3], "origin")))
        if not args:
            return _tnew(cls, (Basis(), Vector3()))
        raise TypeError("Transform takes (basis, origin) or (x_axis, y_axis, z_axis, origin)")

    basis, origin = _fields("rotation/scale (Basis)", "translation (Vector3)")


class Color(_Value):
    """``Color(r, g, b, a=1.0)``; ``Color()`` is opaque black."""
    __slots__ = ()

    def __new__(cls, r: float = 0.0, g: float = 0.0, b: float = 0.0, a: float = 1.0) -> Color:
        return _tnew(cls, _f32((r, g, b, a)))

    r, g, b, a = _fields("red", "green", "blue", "alpha")


class NodePath:
    """``NodePath("a/b:c")``: names separated by ``/``, subnames after ``:``.

    Parsed as Godot 3 does (empty names from ``//`` are dropped, a trailing ``:``
    is allowed, an empty subname ``a::b`` is an error); ``str()`` gives the
    path back. ``names``, ``subnames`` and ``absolute`` are Python additions.
    """
    __slots__ = ("_names", "_subnames", "_absolute")
    _names: tuple[str, ...]
    _subnames: tuple[str, ...]
    _absolute: bool

    def __init__(self, path: str | NodePath = "") -> None:
        if isinstance(path, NodePath):
            self._names, self._subnames, self._absolute = path._names, path._subnames, path._absolute
            return
        if not isinstance(path, str):
            raise TypeError(f"NodePath takes a str, got {type(path).__name__}")
        absolute = path.startswith("/")
        head, colon, tail = path.partition(":")
        subnames: tuple[str, ...] = ()
        if colon:
            parts = tail.split(":")
            if parts[-1] == "":
                parts.pop()  # "a:" is allowed
            if "" in parts:
                raise ValueError(f"invalid NodePath {path!r}: empty subname")
            subnames = tuple(parts)
        self._names = tuple(n for n in head.split("/") if n)
        self._subnames = subnames
        self._absolute = absolute

    @classmethod
    def from_parts(cls, names: Sequence[str], subnames: Sequence[str] = (),
                   absolute: bool = False) -> NodePath:
        """Build from already split names (what the wire carries)."""
        self = cls.__new__(cls)
        self._names, self._subnames, self._absolute = tuple(names), tuple(subnames), bool(absolute)
        return self

    names = property(lambda self: self._names, doc="node names (tuple of str)")
    subnames = property(lambda self: self._subnames, doc="subnames after ':' (tuple of str)")
    absolute = property(lambda self: self._absolute, doc="True for paths starting with '/'")

    def is_absolute(self) -> bool:
        """True for a path that starts with ``/`` (Godot: ``is_absolute``)."""
        return self._absolute

    def is_empty(self) -> bool:
        """True for ``NodePath("")``: no names, no subnames, not absolute."""
        return not (self._names or self._subnames or self._absolute)

    def get_name_count(self) -> int:
        """Number of node names (the parts before ``:``)."""
        return len(self._names)

    def get_name(self, idx: int) -> str:
        """Node name number ``idx`` (0-based): ``NodePath("a/b").get_name(1) == "b"``."""
        return self._names[idx]

    def get_subname_count(self) -> int:
        """Number of subnames (the parts after ``:``)."""
        return len(self._subnames)

    def get_subname(self, idx: int) -> str:
        """Subname number ``idx`` (0-based): ``NodePath("a:b:c").get_subname(1) == "c"``."""
        return self._subnames[idx]

    def get_concatenated_subnames(self) -> str:
        """The subnames joined with ``:`` (``"b:c"`` for ``"a:b:c"``)."""
        return ":".join(self._subnames)

    def __str__(self) -> str:
        text = ("/" if self._absolute else "") + "/".join(self._names)
        return text + "".join(":" + s for s in self._subnames)

    def __repr__(self) -> str:
        return f"NodePath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is NodePath and (self._names, self._subnames, self._absolute) == (
            other._names, other._subnames, other._absolute)

    def __hash__(self) -> int:
        return hash((self._names, self._subnames, self._absolute))

    def __reduce__(self) -> tuple[Any, ...]:
        return (NodePath.from_parts, (self._names, self._subnames, self._absolute))


class RID:
    """``RID()``: an empty resource id (an RID never carries data on the wire)."""
    __slots__ = ()

    def get_id(self) -> int:
        """Always 0: an RID never carries data on the wire (Godot: ``RID.get_id``)."""
        return 0

    def __eq__(self, other: object) -> bool:
        return type(other) is RID

    def __hash__(self) -> int:
        return 0x52494400

    def __repr__(self) -> str:
        return "RID()"


class EncodedObjectAsID(_Value):
    """An Object that was sent as its instance id (meaningless on another machine)."""
    __slots__ = ()

    def __new__(cls, object_id: int = 0) -> EncodedObjectAsID:
        object_id = index(object_id)
        if not -(1 << 63) <= object_id < _U64:
            raise ValueError(f"object id {object_id} does not fit in 64 bits")
        return _tnew(cls, (object_id % _U64,))

    object_id, = _fields("the sender's instance id (unsigned 64-bit)")

    def get_object_id(self) -> int:
        """The sender's instance id (Godot: ``EncodedObjectAsID.get_object_id``)."""
        return cast(int, self[0])


class GodotObject:
    """An Object sent in full (``full_objects=True``): class name and stored properties.

    ``properties`` is a read-only mapping in wire order. Equal by value.
    """
    __slots__ = ("_class_name", "_properties")

    def __init__(self, class_name: str,
                 properties: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        if not isinstance(class_name, str) or not class_name:
            raise ValueError("GodotObject needs a non-empty class name (str)")
        props = dict(properties or ())
        for name in props:
            if not isinstance(name, str):
                raise TypeError(f"property names must be str, got {name!r}")
        self._class_name = class_name
        self._properties = props

    class_name = property(lambda self: self._class_name, doc="Godot class name")
    properties = property(lambda self: MappingProxyType(self._properties),
                          doc="property name -> value, in wire order")

    def get_class(self) -> str:
        """The Godot class name the object was sent with (``"Node"``...)."""
        return self._class_name

    def get(self, property: str) -> Any:
        """A property's value, None when absent (as Godot)."""
        return self._properties.get(property)

    def __eq__(self, other: object) -> bool:
        return (type(other) is GodotObject and self._class_name == other._class_name
                and self._properties == other._properties)

    def __hash__(self) -> int:
        return hash(("GodotObject", self._class_name))

    def __repr__(self) -> str:
        return f"GodotObject({self._class_name!r}, {self._properties!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (GodotObject, (self._class_name, self._properties))


# ------------------------------------------------------------------ pool arrays

PoolByteArray = bytes
"""``PoolByteArray`` is ``bytes`` (``bytearray`` and ``memoryview`` encode too)."""


class _Pool(list[Any]):
    """A typed list: the constructor coerces elements to what Godot stores."""
    __slots__ = ()

    def __init__(self, iterable: Iterable[Any] = ()) -> None:
        list.__init__(self, self._coerce(iterable))

    @staticmethod
    def _coerce(iterable: Iterable[Any], /) -> Iterable[Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list.__repr__(self)})"


def wrap_int32(values: Iterable[Any]) -> list[int]:
    """Integers as int32, wrapping out-of-range values as a C cast does."""
    values = list(values)
    try:
        return array("i", values).tolist()
    except OverflowError:
        return [((index(v) + 0x80000000) & 0xFFFFFFFF) - 0x80000000 for v in values]
    except TypeError:
        bad = next(v for v in values if not isinstance(v, int))
        raise TypeError(f"PoolIntArray holds ints, got {type(bad).__name__} {bad!r}") from None


class PoolIntArray(_Pool):
    """List of int32 (bigger ints wrap, as in Godot)."""
    __slots__ = ()
    _coerce = staticmethod(wrap_int32)


class PoolRealArray(_Pool):
    """List of float32 values."""
    __slots__ = ()

    @staticmethod
    def _coerce(iterable: Iterable[Any]) -> list[float]:
        return _f32(list(iterable))


class PoolStringArray(_Pool):
    """List of str."""
    __slots__ = ()

    @staticmethod
    def _coerce(iterable: Iterable[Any]) -> list[str]:
        items = list(iterable)
        for s in items:
            if type(s) is not str and not isinstance(s, str):
                raise TypeError(f"PoolStringArray holds str, got {type(s).__name__} {s!r}")
        return items


def _typed(cls: type[_Element], what: str) -> staticmethod[[Iterable[Any]], list[_Element]]:
    def coerce(iterable: Iterable[Any]) -> list[_Element]:
        return [v if type(v) is cls else _vec_or_color(cls, v, what) for v in iterable]
    return staticmethod(coerce)


def _vec_or_color(cls: type[_Element], value: Any, what: str) -> _Element:
    if cls is Color:
        try:
            if len(value) in (3, 4):
                return cast(_Element, Color(*value))
        except TypeError:
            pass
        raise TypeError(f"{what} holds Colors (or 3-4 numbers), got {value!r}")
    return _vec(cls, value, f"{what} element")


class PoolVector2Array(_Pool):
    """List of Vector2 (sequences of two numbers are converted)."""
    __slots__ = ()
    _coerce = _typed(Vector2, "PoolVector2Array")


class PoolVector3Array(_Pool):
    """List of Vector3 (sequences of three numbers are converted)."""
    __slots__ = ()
    _coerce = _typed(Vector3, "PoolVector3Array")


class PoolColorArray(_Pool):
    """List of Color (sequences of 3 or 4 numbers are converted)."""
    __slots__ = ()
    _coerce = _typed(Color, "PoolColorArray")
