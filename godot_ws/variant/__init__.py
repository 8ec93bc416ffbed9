"""Godot 3's Variant: value types (``types``) and the binary codec (``codec``). Pure: no I/O."""
from .codec import (
    MAX_DEPTH,
    VariantDecodeError,
    VariantEncodeError,
    bytes2var,
    decode_variant,
    encode_into,
    var2bytes,
)
from .types import (
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

__all__ = [
    "Vector2", "Rect2", "Vector3", "Transform2D", "Plane", "Quat", "AABB", "Basis",
    "Transform", "Color", "NodePath", "RID", "EncodedObjectAsID", "GodotObject",
    "PoolByteArray", "PoolIntArray", "PoolRealArray", "PoolStringArray",
    "PoolVector2Array", "PoolVector3Array", "PoolColorArray",
    "var2bytes", "bytes2var", "decode_variant", "encode_into",
    "VariantDecodeError", "VariantEncodeError", "MAX_DEPTH",
]
