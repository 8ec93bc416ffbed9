"""Server data frame headers (RFC 6455 §5.2), built from the length alone.

A server data frame is unmasked and stateless: its header depends only on the
opcode and the payload length, so the payload is never touched to frame it.
It goes out next to its header with a scatter-gather write (and is shared by
every recipient of a broadcast).
"""
from __future__ import annotations

from struct import Struct

__all__ = ["frame_header"]

_FIN_TEXT = 0x81    # FIN, RSV1-3 clear, opcode 0x1
_FIN_BINARY = 0x82  # FIN, RSV1-3 clear, opcode 0x2
_LEN16 = 126        # 7-bit length codes: a 16-bit or a 64-bit length follows
_LEN64 = 127
_HEADER16 = Struct("!BBH")
_HEADER64 = Struct("!BBQ")
_MAX_LENGTH = (1 << 63) - 1  # the 64-bit length's most significant bit must be 0


def frame_header(length: int, text: bool = False) -> bytes:
    """The header of a complete (FIN), unmasked text or binary frame of ``length`` bytes."""
    first = _FIN_TEXT if text else _FIN_BINARY
    if 0 <= length < _LEN16:
        return bytes((first, length))
    if _LEN16 <= length <= 0xFFFF:
        return _HEADER16.pack(first, _LEN16, length)
    if 0xFFFF < length <= _MAX_LENGTH:
        return _HEADER64.pack(first, _LEN64, length)
    raise ValueError(f"a frame payload is 0 to 2**63 - 1 bytes, got {length}")
