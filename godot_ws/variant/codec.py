"""Godot 3's binary Variant format: ``var2bytes`` / ``bytes2var``, byte-exact with 3.2.3.

Spec: godot3-variant-and-rpc.md §1; vectors: shared/vectors/variant.json.
Python -> Godot: ``None`` Nil, ``bool``, ``int`` (int32 when it fits, else
int64), ``float`` (float32 when exact, else float64), ``str`` String,
``list``/``tuple`` Array, ``dict`` Dictionary, ``bytes``/``bytearray``/
``memoryview`` PoolByteArray, and the types of ``variant.types``.
Godot -> Python: the same, Arrays as ``list``, PoolByteArray as ``bytes``;
an Array (or Pool array) used as a Dictionary key becomes a ``tuple``.

Lower level, for layers that parse packets holding several values
(``protocol/rpc.py``):

- ``decode_variant(data, offset=0, allow_objects=False) -> (value, consumed)``:
  ``consumed`` is the engine's ``r_len``, so it counts the padding of a
  trailing PoolByteArray even when the bytes are missing (the next read then
  fails as in Godot). Raises ``VariantDecodeError`` (a ``ValueError``) whose
  ``error`` is the engine's code (``ERR_INVALID_DATA``, ``ERR_FILE_EOF``,
  ``ERR_UNAUTHORIZED``, ``ERR_UNAVAILABLE``; ``ERR_OUT_OF_MEMORY`` past
  ``MAX_DEPTH``) and whose ``offset`` is where in ``data`` it went wrong.
- ``encode_into(out, value, full_objects=False)``: appends to a ``bytearray``.

Hostile input: every length is checked against the bytes present before
anything is allocated, containers cannot nest deeper than ``MAX_DEPTH``
(Godot 3.2.3 has no limit; late 3.x fails with ERR_OUT_OF_MEMORY, as here), and
decoding is linear in the input size.

Deviations from the engine (documented in docs/topics/types.md): strings holding code
points above U+10FFFF (which Godot's lenient UTF-8 parser accepts) fail with
ERR_INVALID_DATA because Python cannot hold them; a Dictionary used as a
Dictionary key fails likewise; keys that Godot keeps apart but Python merges
(``1``, ``1.0``, ``True``) merge.
"""
from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterator
from itertools import chain, repeat
from typing import Any, Callable, cast

from ..enums import Error
from .classdb import INSTANTIABLE_CLASSES
from .types import (
    AABB,
    RID,
    Basis,
    Color,
    EncodedObjectAsID,
    GodotObject,
    NodePath,
    Plane,
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
    wrap_int32,
)

__all__ = ["var2bytes", "bytes2var", "encode_into", "decode_variant",
           "VariantDecodeError", "VariantEncodeError", "MAX_DEPTH"]

MAX_DEPTH = 128
"""Most nested containers (Array, Dictionary, full Object) accepted either way."""

(NIL, BOOL, INT, REAL, STRING, VECTOR2, RECT2, VECTOR3, TRANSFORM2D, PLANE, QUAT, AABB_T,
 BASIS, TRANSFORM, COLOR, NODE_PATH, RID_T, OBJECT, DICTIONARY, ARRAY, POOL_BYTE_ARRAY,
 POOL_INT_ARRAY, POOL_REAL_ARRAY, POOL_STRING_ARRAY, POOL_VECTOR2_ARRAY, POOL_VECTOR3_ARRAY,
 POOL_COLOR_ARRAY, VARIANT_MAX) = range(28)
FLAG_64 = 1 << 16  # int64 / float64 / object-as-id
_TYPE_NAMES = ("Nil", "bool", "int", "float", "String", "Vector2", "Rect2", "Vector3",
               "Transform2D", "Plane", "Quat", "AABB", "Basis", "Transform", "Color", "NodePath",
               "RID", "Object", "Dictionary", "Array", "PoolByteArray", "PoolIntArray",
               "PoolRealArray", "PoolStringArray", "PoolVector2Array", "PoolVector3Array",
               "PoolColorArray")

_INVALID = Error.ERR_INVALID_DATA
_EOF = Error.ERR_FILE_EOF
_BIG_ENDIAN = sys.byteorder == "big"
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")     # zeros after n bytes: _PAD[n & 3]
_NUL_PAD = (b"\0\0\0\0", b"\0\0\0", b"\0\0", b"\0")  # NUL + padding after n bytes
_BOM = b"\xef\xbb\xbf"
_Encoder = Callable[[Any, bytearray, bool, int], None]
"""``encode(value, out, full_objects, depth)``: appends ``value`` to ``out``."""
_Decoder = Callable[[bytes, int, int, bool, int, int], tuple[Any, int]]
"""``decode(buf, pos, end, allow_objects, depth, header) -> (value, pos after it)``."""
_tnew = tuple.__new__
_lnew = list.__new__
_lextend = list.extend


class VariantDecodeError(ValueError):
    """Bytes that Godot's decoder refuses; ``error`` is the engine's code, ``offset`` the place."""

    def __init__(self, error: Error, offset: int, message: str) -> None:
        super().__init__(f"{message} at offset {offset} ({error.name})")
        self.error = error
        self.offset = offset


class VariantEncodeError(ValueError):
    """A value Godot would refuse to encode (nested deeper than ``MAX_DEPTH``); ``error`` as Godot."""

    def __init__(self, message: str, error: Error = Error.ERR_OUT_OF_MEMORY) -> None:
        super().__init__(message)
        self.error = error


# ------------------------------------------------------------------- encoding

_P_U = struct.Struct("<I").pack
_P_UU = struct.Struct("<II").pack
_P_UI = struct.Struct("<Ii").pack
_P_UQ = struct.Struct("<IQ").pack
_P_Uq = struct.Struct("<Iq").pack
_P_UD = struct.Struct("<Id").pack
_P_UUUU = struct.Struct("<IIII").pack
_F32 = struct.Struct("<f")
_P_F32, _U_F32 = _F32.pack, _F32.unpack
_P_UF = {n: struct.Struct("<I%df" % n).pack for n in (2, 3, 4, 6, 9, 12)}
_P_2F, _P_3F, _P_4F, _P_6F, _P_9F, _P_12F = (_P_UF[n] for n in (2, 3, 4, 6, 9, 12))
_NIL_BYTES = _P_U(NIL)
_TRUE_BYTES, _FALSE_BYTES = _P_UU(BOOL, 1), _P_UU(BOOL, 0)
_REAL_HDR = _P_U(REAL)


def var2bytes(value: Any, full_objects: bool = False) -> bytes:
    """Godot's ``var2bytes(value, full_objects)``.

    Raises ``TypeError`` for a Python type with no Variant counterpart and
    ``ValueError`` for a value out of range (an int beyond 64 bits, nesting
    past ``MAX_DEPTH`` or a cycle: ``VariantEncodeError``).
    """
    out = bytearray()
    encode_into(out, value, full_objects)
    return bytes(out)


def encode_into(out: bytearray, value: Any, full_objects: bool = False) -> None:
    """Append the encoding of ``value`` to ``out`` (errors as ``var2bytes``; after an
    error ``out`` may hold part of the encoding)."""
    try:
        _enc(value, out, bool(full_objects), 0)
    except (struct.error, OverflowError) as exc:
        raise ValueError(f"cannot encode {value!r:.80} as a Variant: {exc}") from None


def _enc(v: Any, out: bytearray, full: bool, depth: int) -> None:
    t = type(v)
    if t is int:
        if -0x80000000 <= v <= 0x7FFFFFFF:
            out += _P_UI(INT, v)
        else:
            _enc_int64(v, out)
    elif t is float:
        try:
            f32 = _P_F32(v)
        except OverflowError:
            f32 = None
        if f32 is not None and _U_F32(f32)[0] == v:
            out += _REAL_HDR
            out += f32
        else:
            out += _P_UD(REAL | FLAG_64, v)
    elif t is str:
        b = v.encode("utf-8", "surrogatepass")
        out += _P_UU(STRING, len(b))
        out += b
        out += _PAD[len(b) & 3]
    elif t is Vector2:
        out += _P_2F(VECTOR2, *v)
    elif t is Vector3:
        out += _P_3F(VECTOR3, *v)
    elif t is bool:
        out += _TRUE_BYTES if v else _FALSE_BYTES
    elif v is None:
        out += _NIL_BYTES
    elif t is dict:
        _check_depth(depth)
        out += _P_UU(DICTIONARY, len(v))
        depth += 1
        for key, item in v.items():
            _enc(key, out, full, depth)
            _enc(item, out, full, depth)
    elif t is list or t is tuple:
        _check_depth(depth)
        out += _P_UU(ARRAY, len(v))
        depth += 1
        for item in v:
            _enc(item, out, full, depth)
    else:
        encoder = _ENCODERS.get(t) or _encoder_for(v)
        encoder(v, out, full, depth)


def _check_depth(depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise VariantEncodeError(f"Variant nested deeper than MAX_DEPTH={MAX_DEPTH} "
                                 "(or a container holds itself)")


def _enc_int64(v: int, out: bytearray) -> None:
    if not -(1 << 63) <= v < (1 << 63):
        raise ValueError(f"int {v} does not fit in Godot's 64-bit int")
    out += _P_Uq(INT | FLAG_64, v)


def _enc_bytes(v: Any, out: bytearray, full: bool, depth: int) -> None:
    if type(v) is memoryview:
        v = v.tobytes()
    out += _P_UU(POOL_BYTE_ARRAY, len(v))
    out += v
    out += _PAD[len(v) & 3]


def _enc_array(v: Any, out: bytearray, full: bool, depth: int) -> None:
    _enc(list(v), out, full, depth)


def _enc_dict(v: Any, out: bytearray, full: bool, depth: int) -> None:
    _enc(dict(v), out, full, depth)


def _write_name(s: str, out: bytearray) -> None:
    """A length-prefixed, zero-padded string without a type header."""
    b = s.encode("utf-8", "surrogatepass")
    out += _P_U(len(b))
    out += b
    out += _PAD[len(b) & 3]


def _enc_node_path(v: NodePath, out: bytearray, full: bool, depth: int) -> None:
    names, subnames = v.names, v.subnames
    out += _P_UUUU(NODE_PATH, len(names) | 0x80000000, len(subnames), 1 if v.absolute else 0)
    for name in chain(names, subnames):
        _write_name(name, out)


def _enc_object_id(v: EncodedObjectAsID, out: bytearray, full: bool, depth: int) -> None:
    out += _P_UQ(OBJECT | FLAG_64, v[0])


def _enc_object(v: GodotObject, out: bytearray, full: bool, depth: int) -> None:
    if not full:
        raise ValueError(f"{v!r:.80} can only be sent in full: pass full_objects=True "
                         "(or send an EncodedObjectAsID)")
    _check_depth(depth)
    out += _P_U(OBJECT)
    _write_name(v.class_name, out)
    props = v.properties
    out += _P_U(len(props))
    for name, value in props.items():
        _write_name(name, out)
        _enc(value, out, full, depth + 1)


def _enc_pool_of(type_id: int, pool: type, elem: type, width: int) -> _Encoder:
    """Encoder of a Pool array of vectors/colors (C speed when the elements are typed)."""
    def encode(v: list[Any], out: bytearray, full: bool, depth: int) -> None:
        if not set(map(type, v)) <= {elem}:
            v = pool(v)  # converts (or refuses) untyped elements
        a = array("f", chain.from_iterable(v))
        if _BIG_ENDIAN:
            a.byteswap()
        out += _P_UU(type_id, len(a) // width)
        out += a
    return encode


def _enc_ints(v: list[Any], out: bytearray, full: bool, depth: int) -> None:
    a = array("i", wrap_int32(v))
    if _BIG_ENDIAN:
        a.byteswap()
    out += _P_UU(POOL_INT_ARRAY, len(a))
    out += a


def _enc_reals(v: list[Any], out: bytearray, full: bool, depth: int) -> None:
    try:
        a = array("f", v)
    except TypeError:
        raise TypeError(f"PoolRealArray holds numbers, got {v!r:.80}") from None
    if _BIG_ENDIAN:
        a.byteswap()
    out += _P_UU(POOL_REAL_ARRAY, len(a))
    out += a


def _enc_strings(v: list[Any], out: bytearray, full: bool, depth: int) -> None:
    out += _P_UU(POOL_STRING_ARRAY, len(v))
    for s in v:
        if type(s) is not str:
            if not isinstance(s, str):
                raise TypeError(f"PoolStringArray holds str, got {type(s).__name__} {s!r:.80}")
            s = str(s)
        b = s.encode("utf-8", "surrogatepass")
        out += _P_U(len(b) + 1)
        out += b
        out += _NUL_PAD[len(b) & 3]


def _fixed(type_id: int, flatten: Callable[[Any], tuple[float, ...]]) -> _Encoder:
    pack = _P_UF[{RECT2: 4, TRANSFORM2D: 6, PLANE: 4, QUAT: 4, AABB_T: 6, BASIS: 9,
                  TRANSFORM: 12, COLOR: 4}[type_id]]

    def encode(v: Any, out: bytearray, full: bool, depth: int) -> None:
        out += pack(type_id, *flatten(v))
    return encode


def _basis_rows(b: Basis) -> tuple[float, ...]:
    x, y, z = b
    return x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]


_ENCODERS: dict[type, _Encoder] = {
    Rect2: _fixed(RECT2, lambda r: (*r[0], *r[1])),
    Transform2D: _fixed(TRANSFORM2D, lambda t: (*t[0], *t[1], *t[2])),
    Plane: _fixed(PLANE, lambda p: (*p[0], p[1])),
    Quat: _fixed(QUAT, tuple),
    AABB: _fixed(AABB_T, lambda a: (*a[0], *a[1])),
    Basis: _fixed(BASIS, _basis_rows),
    Transform: _fixed(TRANSFORM, lambda t: (*_basis_rows(t[0]), *t[1])),
    Color: _fixed(COLOR, tuple),
    NodePath: _enc_node_path,
    RID: lambda v, out, full, depth: out.extend(_P_U(RID_T)),
    EncodedObjectAsID: _enc_object_id,
    GodotObject: _enc_object,
    bytes: _enc_bytes,
    bytearray: _enc_bytes,
    memoryview: _enc_bytes,
    PoolIntArray: _enc_ints,
    PoolRealArray: _enc_reals,
    PoolStringArray: _enc_strings,
    PoolVector2Array: _enc_pool_of(POOL_VECTOR2_ARRAY, PoolVector2Array, Vector2, 2),
    PoolVector3Array: _enc_pool_of(POOL_VECTOR3_ARRAY, PoolVector3Array, Vector3, 3),
    PoolColorArray: _enc_pool_of(POOL_COLOR_ARRAY, PoolColorArray, Color, 4),
}


def _encoder_for(v: Any) -> _Encoder:
    """Encoder for subclasses (IntEnum, OrderedDict, user subclasses of the value types)."""
    for cls, encoder in _ENCODERS.items():
        if isinstance(v, cls):
            return encoder
    for cls, convert in ((bool, bool), (int, int), (float, float), (str, str)):
        if isinstance(v, cls):
            return lambda v, out, full, depth: _enc(convert(v), out, full, depth)
    if isinstance(v, (list, tuple)):
        return _enc_array
    if isinstance(v, dict):
        return _enc_dict
    raise TypeError(f"cannot encode {type(v).__name__} as a Godot Variant; use None, bool, "
                    "int, float, str, list, dict, bytes or a godot_ws value type")


# ------------------------------------------------------------------- decoding

_U32 = struct.Struct("<I").unpack_from
_I32 = struct.Struct("<i").unpack_from
_I64 = struct.Struct("<q").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_F32_AT = _F32.unpack_from
_F64_AT = struct.Struct("<d").unpack_from
_U32X3 = struct.Struct("<III").unpack_from
_NF = {n: struct.Struct("<%df" % n).unpack_from for n in (2, 3, 4, 6, 9, 12)}
_2F, _3F, _4F, _6F, _9F, _12F = (_NF[n] for n in (2, 3, 4, 6, 9, 12))
_ITER2 = struct.Struct("<2f").iter_unpack
_ITER3 = struct.Struct("<3f").iter_unpack
_ITER4 = struct.Struct("<4f").iter_unpack
_RID = RID()
_NUMBERS = {INT: (_I32, 4, "int32"), INT | FLAG_64: (_I64, 8, "int64"),
            REAL: (_F32_AT, 4, "float32"), REAL | FLAG_64: (_F64_AT, 8, "float64")}


def bytes2var(data: bytes, allow_objects: bool = False) -> Any:
    """Godot's ``bytes2var``: raises ``VariantDecodeError`` (a ``ValueError``) on bad input.

    Trailing bytes after the value are ignored, as in Godot.
    """
    return decode_variant(data, 0, allow_objects)[0]


def decode_variant(data: bytes, offset: int = 0, allow_objects: bool = False) -> tuple[Any, int]:
    """Decode one Variant at ``offset``: ``(value, bytes consumed as the engine counts them)``."""
    if type(data) is not bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"decode_variant needs bytes, got {type(data).__name__}")
        data = bytes(data)
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    value, end = _dec(data, offset, len(data), bool(allow_objects), 0)
    return value, end - offset


def _fail(error: Error, pos: int, message: str) -> VariantDecodeError:
    return VariantDecodeError(error, pos, message)


def _short(pos: int, end: int, need: int, what: str) -> VariantDecodeError:
    return _fail(_INVALID, pos, f"{what} needs {need} bytes, {max(end - pos, 0)} left")


def _dec(buf: bytes, pos: int, end: int, allow: bool, depth: int) -> tuple[Any, int]:
    """One value at ``pos``; returns it and the position after it (engine ``r_len``)."""
    if end - pos < 4:
        raise _short(pos, end, 4, "Variant header")
    h: int = _U32(buf, pos)[0]
    t = h & 0xFF
    pos += 4
    if t == STRING:
        return _dec_str(buf, pos, end)
    if t == INT or t == REAL:
        unpack, size, what = _NUMBERS[h & (FLAG_64 | 0xFF)]
        if end - pos < size:
            raise _short(pos, end, size, what)
        return unpack(buf, pos)[0], pos + size
    if t == VECTOR2:
        if end - pos < 8:
            raise _short(pos, end, 8, "Vector2")
        return _tnew(Vector2, _2F(buf, pos)), pos + 8
    if t == VECTOR3:
        if end - pos < 12:
            raise _short(pos, end, 12, "Vector3")
        return _tnew(Vector3, _3F(buf, pos)), pos + 12
    if t == DICTIONARY or t == ARRAY:
        if end - pos < 4:
            raise _short(pos, end, 4, _TYPE_NAMES[t] + " count")
        if depth >= MAX_DEPTH:
            raise _fail(Error.ERR_OUT_OF_MEMORY, pos - 4,
                        f"Variant nested deeper than MAX_DEPTH={MAX_DEPTH}")
        count = _U32(buf, pos)[0] & 0x7FFFFFFF  # bit 31: legacy "shared" flag
        pos += 4
        depth += 1
        if t == ARRAY:
            items: list[Any] = []
            append = items.append
            for _ in range(count):
                value, pos = _dec(buf, pos, end, allow, depth)
                append(value)
            return items, pos
        result: dict[Any, Any] = {}
        for _ in range(count):
            key_pos = pos
            key, pos = _dec(buf, pos, end, allow, depth)
            value, pos = _dec(buf, pos, end, allow, depth)
            if type(key) in _UNHASHABLE:
                key = _freeze(key, key_pos)
            result[key] = value
        return result, pos
    if t == BOOL:
        if end - pos < 4:
            raise _short(pos, end, 4, "bool")
        return _U32(buf, pos)[0] != 0, pos + 4
    if t == NIL:
        return None, pos
    if t >= VARIANT_MAX:
        raise _fail(_INVALID, pos - 4, f"unknown Variant type id {t}")
    return _DECODERS[t](buf, pos, end, allow, depth, h)


def _dec_str(buf: bytes, pos: int, end: int) -> tuple[str, int]:
    """A length-prefixed, padded UTF-8 string (String, names, PoolStringArray items)."""
    if end - pos < 4:
        raise _short(pos, end, 4, "string length")
    n = _I32(buf, pos)[0]
    pos += 4
    if n < 0 or n + (-n & 3) > end - pos:
        raise _fail(_EOF, pos - 4, f"string of {n} bytes (+ padding) but {max(end - pos, 0)} left")
    raw = buf[pos:pos + n]
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        s = _godot_utf8(raw, pos)
    else:
        if "\0" in s or s[:1] == "\ufeff":
            s = _godot_utf8(raw, pos)  # Godot skips a leading BOM and stops at a NUL
    return s, pos + n + (-n & 3)


def _godot_utf8(raw: bytes, pos: int) -> str:
    """Godot 3's lenient UTF-8 parser (String::parse_utf8) for what strict UTF-8 refuses."""
    if raw[:3] == _BOM:
        raw = raw[3:]
    nul = raw.find(0)
    if nul >= 0:
        raw = raw[:nul]
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        pass
    chars = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        size = (1 if c < 0x80 else 2 if c & 0xE0 == 0xC0 else 3 if c & 0xF0 == 0xE0
                else 4 if c & 0xF8 == 0xF0 else 5 if c & 0xFC == 0xF8 else 6 if c & 0xFE == 0xFC
                else 0)
        if not size or size > n - i or (size == 2 and not c & 0x1E):
            raise _fail(_INVALID, pos + i, "invalid UTF-8")
        code = c if size == 1 else (0xFF >> (size + 1)) & c
        for k in range(1, size):
            b = raw[i + k]
            if b & 0xC0 != 0x80 or (code == 0 and k == 2 and not (b & 0x7F) >> (7 - size)):
                raise _fail(_INVALID, pos + i, "invalid UTF-8")
            code = (code << 6) | (b & 0x3F)
        if code > 0x10FFFF:
            raise _fail(_INVALID, pos + i, f"code point {code:#x} beyond U+10FFFF "
                        "(Godot accepts it; a Python str cannot hold it)")
        chars.append(chr(code))
        i += size
    return "".join(chars)


_UNHASHABLE = frozenset((list, dict, PoolIntArray, PoolRealArray, PoolStringArray,
                         PoolVector2Array, PoolVector3Array, PoolColorArray))


def _freeze(key: Any, pos: int) -> Any:
    """A hashable stand-in for a Dictionary key: Arrays (and Pool arrays) become tuples."""
    if isinstance(key, dict):
        raise _fail(_INVALID, pos, "a Dictionary used as a Dictionary key cannot be a Python "
                    "dict key")
    return tuple(_freeze(k, pos) if type(k) in _UNHASHABLE else k for k in key)


def _need(pos: int, end: int, size: int, t: int) -> None:
    if end - pos < size:
        raise _short(pos, end, size, _TYPE_NAMES[t])


def _math(t: int, size: int, build: Callable[[tuple[float, ...]], Any]) -> _Decoder:
    unpack = _NF[size // 4]

    def decode(buf: bytes, pos: int, end: int, allow: bool, depth: int, h: int) -> tuple[Any, int]:
        _need(pos, end, size, t)
        return build(unpack(buf, pos)), pos + size
    return decode


def _v2(a: float, b: float) -> Vector2:
    return _tnew(Vector2, (a, b))


def _v3(a: float, b: float, c: float) -> Vector3:
    return _tnew(Vector3, (a, b, c))


def _basis(f: tuple[float, ...]) -> Basis:
    return _tnew(Basis, (_v3(f[0], f[3], f[6]), _v3(f[1], f[4], f[7]), _v3(f[2], f[5], f[8])))


def _dec_node_path(buf: bytes, pos: int, end: int, allow: bool, depth: int, h: int) -> tuple[Any, int]:
    _need(pos, end, 4, NODE_PATH)
    if not _U32(buf, pos)[0] & 0x80000000:
        raise _fail(_INVALID, pos, "NodePath in the old (pre-3.0) format")
    _need(pos, end, 12, NODE_PATH)
    name_count, sub_count, flags = _U32X3(buf, pos)
    name_count &= 0x7FFFFFFF
    pos += 12
    if flags & 2:  # obsolete separate property: one more subname
        sub_count = (sub_count + 1) & 0xFFFFFFFF
    names: list[str] = []
    for i in range((name_count + sub_count) & 0xFFFFFFFF):
        name, pos = _dec_str(buf, pos, end)
        names.append(name)
    return NodePath.from_parts(names[:name_count], names[name_count:], flags & 1), pos


def _dec_object(buf: bytes, pos: int, end: int, allow: bool, depth: int, h: int) -> tuple[Any, int]:
    if h & FLAG_64:
        _need(pos, end, 8, OBJECT)
        object_id = _U64(buf, pos)[0]
        return (_tnew(EncodedObjectAsID, (object_id,)) if object_id else None), pos + 8
    if not allow:
        raise _fail(Error.ERR_UNAUTHORIZED, pos - 4, "full Object refused (objects not allowed)")
    class_pos = pos
    class_name, pos = _dec_str(buf, pos, end)
    if not class_name:
        return None, pos
    if class_name not in INSTANTIABLE_CLASSES:
        raise _fail(Error.ERR_UNAVAILABLE, class_pos, f"class {class_name!r:.80} cannot be "
                    "instantiated by Godot 3.2.3")
    _need(pos, end, 4, OBJECT)
    if depth >= MAX_DEPTH:
        raise _fail(Error.ERR_OUT_OF_MEMORY, pos, f"Variant nested deeper than MAX_DEPTH={MAX_DEPTH}")
    count = _I32(buf, pos)[0]
    pos += 4
    props = {}
    for _ in range(count):
        name, pos = _dec_str(buf, pos, end)
        props[name], pos = _dec(buf, pos, end, allow, depth + 1)
    obj = GodotObject.__new__(GodotObject)
    obj._class_name, obj._properties = class_name, props
    return obj, pos


def _pool_count(buf: bytes, pos: int, end: int, t: int, size: int) -> int:
    _need(pos, end, 4, t)
    count: int = _I32(buf, pos)[0]
    if count < 0 or count * size > end - pos - 4:
        raise _fail(_INVALID, pos, f"{_TYPE_NAMES[t]} of {count} elements but "
                    f"{max(end - pos - 4, 0)} bytes left")
    return count


def _dec_bytes(buf: bytes, pos: int, end: int, allow: bool, depth: int, h: int) -> tuple[Any, int]:
    n = _pool_count(buf, pos, end, POOL_BYTE_ARRAY, 1)
    pos += 4
    return buf[pos:pos + n], pos + n + (-n & 3)  # padding counted even when missing, as Godot


def _dec_numbers(t: int, code: str, cls: type) -> _Decoder:
    def decode(buf: bytes, pos: int, end: int, allow: bool, depth: int, h: int) -> tuple[Any, int]:
        n = _pool_count(buf, pos, end, t, 4)
        pos += 4
        a = array(code)
        a.frombytes(buf[pos:pos + 4 * n])
        if _BIG_ENDIAN:
            a.byteswap()
        result: list[Any] = _lnew(cls)
        _lextend(result, a.tolist())
        return result, pos + 4 * n
    return decode


def _dec_strings(buf: bytes, pos: int, end: int, allow: bool, depth: int, h: int) -> tuple[Any, int]:
    _need(pos, end, 4, POOL_STRING_ARRAY)
    count = _I32(buf, pos)[0]  # negative: empty, as Godot
    pos += 4
    result = _lnew(PoolStringArray)
    append = result.append
    for _ in range(count):
        s, pos = _dec_str(buf, pos, end)
        append(s)
    return result, pos


def _dec_vectors(t: int, cls: type, elem: type, width: int,
                 it: Callable[[bytes], Iterator[tuple[float, ...]]]) -> _Decoder:
    size = 4 * width

    def decode(buf: bytes, pos: int, end: int, allow: bool, depth: int, h: int) -> tuple[Any, int]:
        n = _pool_count(buf, pos, end, t, size)
        pos += 4
        result: list[Any] = _lnew(cls)
        _lextend(result, map(_tnew, repeat(elem), it(buf[pos:pos + size * n])))
        return result, pos + size * n
    return decode


_DECODERS: tuple[_Decoder, ...] = cast("tuple[_Decoder, ...]", (  # None: inline in _dec
    None, None, None, None, None, None,  # Nil .. Vector2 are inline in _dec
    _math(RECT2, 16, lambda f: _tnew(Rect2, (_v2(f[0], f[1]), _v2(f[2], f[3])))),
    None,
    _math(TRANSFORM2D, 24, lambda f: _tnew(Transform2D, (_v2(f[0], f[1]), _v2(f[2], f[3]),
                                                         _v2(f[4], f[5])))),
    _math(PLANE, 16, lambda f: _tnew(Plane, (_v3(f[0], f[1], f[2]), f[3]))),
    _math(QUAT, 16, lambda f: _tnew(Quat, f)),
    _math(AABB_T, 24, lambda f: _tnew(AABB, (_v3(f[0], f[1], f[2]), _v3(f[3], f[4], f[5])))),
    _math(BASIS, 36, _basis),
    _math(TRANSFORM, 48, lambda f: _tnew(Transform, (_basis(f), _v3(f[9], f[10], f[11])))),
    _math(COLOR, 16, lambda f: _tnew(Color, f)),
    _dec_node_path,
    lambda buf, pos, end, allow, depth, h: (_RID, pos),
    _dec_object,
    None, None,  # Dictionary, Array: inline
    _dec_bytes,
    _dec_numbers(POOL_INT_ARRAY, "i", PoolIntArray),
    _dec_numbers(POOL_REAL_ARRAY, "f", PoolRealArray),
    _dec_strings,
    _dec_vectors(POOL_VECTOR2_ARRAY, PoolVector2Array, Vector2, 2, _ITER2),
    _dec_vectors(POOL_VECTOR3_ARRAY, PoolVector3Array, Vector3, 3, _ITER3),
    _dec_vectors(POOL_COLOR_ARRAY, PoolColorArray, Color, 4, _ITER4),
))
