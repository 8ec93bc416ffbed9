"""Test helpers: load shared/vectors/variant.json, turn its JSON values into Python
values (convention in shared/vectors/README.md) and compare values strictly.

The vectors live outside the repository (``shared/`` beside the clone, as CI
lays it out); ``GODOT_WS_SHARED`` points elsewhere.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from godot_ws.variant.types import (
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
)

_REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """The read-only ``shared/`` folder (env ``GODOT_WS_SHARED``, beside the repo, /work/shared)."""
    candidates = [os.environ.get("GODOT_WS_SHARED"), _REPO.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "vectors" / "variant.json").is_file():
            return Path(candidate)
    raise FileNotFoundError("shared/vectors/variant.json not found: set GODOT_WS_SHARED to "
                            "the folder that holds vectors/")


def load_cases() -> list[dict]:
    with open(shared_dir() / "vectors" / "variant.json", encoding="utf-8") as f:
        return json.load(f)["cases"]


def _num(x: Any) -> float:
    return float(x) if isinstance(x, str) else x  # "nan", "inf", "-inf"


def _nums(xs: list) -> list:
    return [_num(x) for x in xs]


def _basis(r: list) -> Basis:
    r = _nums(r)
    return Basis((r[0], r[3], r[6]), (r[1], r[4], r[7]), (r[2], r[5], r[8]))


def _freeze(v: Any) -> Any:
    return tuple(_freeze(x) for x in v) if isinstance(v, list) else v


def from_json(v: Any) -> Any:
    """A value in the vectors' JSON convention -> the Python value the codec uses."""
    if isinstance(v, list):
        return [from_json(x) for x in v]
    if not isinstance(v, dict):
        return v
    (kind, x), = v.items()
    if kind == "float":
        return float(x)
    if kind in ("Vector2", "Vector3", "Quat", "Color"):
        return {"Vector2": Vector2, "Vector3": Vector3, "Quat": Quat, "Color": Color}[kind](*_nums(x))
    if kind in ("Rect2", "Plane"):
        return (Rect2 if kind == "Rect2" else Plane)(*_nums(x))
    if kind == "Transform2D":
        x = _nums(x)
        return Transform2D(x[0:2], x[2:4], x[4:6])
    if kind == "AABB":
        x = _nums(x)
        return AABB(x[0:3], x[3:6])
    if kind == "Basis":
        return _basis(x)
    if kind == "Transform":
        return Transform(_basis(x[:9]), _nums(x[9:]))
    if kind == "NodePath":
        return NodePath.from_parts(x["names"], x["subnames"], x["absolute"])
    if kind == "RID":
        return RID()
    if kind == "ObjectID":
        return EncodedObjectAsID(x)
    if kind == "Object":
        if x is None:
            return None
        return GodotObject(x["class"], [(k, from_json(val)) for k, val in x["props"]])
    if kind == "Dictionary":
        return {_freeze(from_json(k)): from_json(val) for k, val in x}
    if kind == "PoolByteArray":
        return bytes.fromhex(x)
    pools = {"PoolIntArray": PoolIntArray, "PoolRealArray": PoolRealArray,
             "PoolStringArray": PoolStringArray}
    if kind in pools:
        return pools[kind](_nums(x) if kind == "PoolRealArray" else x)
    vec_pools = {"PoolVector2Array": PoolVector2Array, "PoolVector3Array": PoolVector3Array,
                 "PoolColorArray": PoolColorArray}
    if kind in vec_pools:
        return vec_pools[kind](_nums(e) for e in x)
    raise ValueError(f"unknown JSON value kind {kind!r}")


def merges_keys(v: Any) -> bool:
    """True if a JSON value holds a Dictionary whose keys Python merges (1, 1.0, true).

    A documented limitation of the dict mapping (spec/api.md): such a case cannot
    be re-encoded byte for byte.
    """
    if isinstance(v, list):
        return any(merges_keys(x) for x in v)
    if not isinstance(v, dict):
        return False
    (kind, x), = v.items()
    if kind == "Dictionary":
        keys = [_freeze(from_json(k)) for k, _ in x]
        return len(set(keys)) < len(keys) or any(merges_keys(k) or merges_keys(val) for k, val in x)
    if kind == "Object" and x:
        return any(merges_keys(val) for _, val in x["props"])
    return False


def same(a: Any, b: Any) -> bool:
    """Strict equality: same types all the way down, NaN equal to NaN, -0.0 apart from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(same(k1, k2) and same(v1, v2)
                                        for (k1, v1), (k2, v2) in zip(a.items(), b.items()))
    if isinstance(a, GodotObject):
        return a.class_name == b.class_name and same(dict(a.properties), dict(b.properties))
    return a == b
