"""Unmasking of client frames (RFC 6455 §5.3) in C, for wsproto's frame parser.

wsproto unmasks in pure Python (about 1 ms per MiB, half of the server's time
on large messages). When the optional accelerator is importable (the
``godot_ws[speedups]`` extra: python-websockets' C ``apply_mask``, about 30 times
faster) :func:`make_frame_protocol` gives wsproto's ``FrameProtocol`` a frame
decoder that unmasks with it; every frame check stays wsproto's. Without it (or
with ``GODOT_WS_NO_SPEEDUPS=1`` in the environment at import) wsproto runs
unchanged. Pure logic: no I/O, no shared state beyond import-time constants.

wsproto internals relied on (tests/protocol/test_unmask.py fails if they
change): ``FrameProtocol._frame_decoder``, ``FrameDecoder.parse_header`` setting
``masker`` to an ``XorMaskerSimple`` holding ``_masking_key``, and the decoder
calling ``masker.process`` on each piece of payload and turning the result
into ``bytes``.
"""
from __future__ import annotations

import os
from typing import Callable, TypeVar, Union

from wsproto.extensions import Extension
from wsproto.frame_protocol import FrameDecoder, FrameProtocol, XorMaskerSimple

__all__ = ["ACCELERATED", "apply_mask", "make_frame_protocol"]

_Buffer = Union[bytes, bytearray, memoryview]
_Key = Union[bytes, bytearray]


def _pure_apply_mask(data: _Buffer, mask: _Key) -> bytes:
    if len(mask) != 4:
        raise ValueError(f"a masking key is 4 bytes, got {len(mask)}")
    return bytes(XorMaskerSimple(bytes(mask)).process(bytearray(data)))


def _accelerator() -> Callable[[_Buffer, _Key], bytes] | None:
    if os.environ.get("GODOT_WS_NO_SPEEDUPS", "") not in ("", "0"):
        return None
    try:
        from websockets.speedups import apply_mask as c_apply_mask
    except ImportError:
        return None
    return c_apply_mask


_c_apply_mask = _accelerator()

#: Whether client frames are unmasked in C.
ACCELERATED = _c_apply_mask is not None

#: ``data`` XOR the 4-byte ``mask`` repeated (masking and unmasking alike).
apply_mask: Callable[[_Buffer, _Key], bytes] = _c_apply_mask or _pure_apply_mask


class _AcceleratedMasker(XorMaskerSimple):
    """wsproto's masker for one frame, unmasking in C; keeps the key's rotation
    across the pieces of payload the frame arrives in."""

    def process(self, data: bytearray) -> bytes:  # type: ignore[override]
        # bytes, not bytearray: wsproto turns the result into bytes, uncopied.
        out = apply_mask(data, self._masking_key)
        rotation = len(data) & 3
        if rotation:
            key = self._masking_key
            self._masking_key = key[rotation:] + key[:rotation]
        return out


class UnmaskingFrameDecoder(FrameDecoder):
    """wsproto's frame decoder (every check unchanged), unmasking in C."""

    def parse_header(self) -> bool:
        if not super().parse_header():
            return False
        if type(self.masker) is XorMaskerSimple:
            self.masker = _AcceleratedMasker(self.masker._masking_key)
        return True


_P = TypeVar("_P", bound=FrameProtocol)


def make_frame_protocol(client: bool, extensions: list[Extension],
                        protocol_class: type[_P] = FrameProtocol) -> _P:  # type: ignore[assignment]
    """wsproto's ``FrameProtocol`` (or a subclass), parsing with the C unmasker
    when it is there."""
    protocol = protocol_class(client, extensions)
    if ACCELERATED and not client:  # only client-to-server frames are masked
        protocol._frame_decoder = UnmaskingFrameDecoder(client, protocol.extensions)
    return protocol
