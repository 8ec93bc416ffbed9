"""Server frames built once, outside any connection, with wsproto's serializer.

A data frame from the server is unmasked and stateless, so the bytes can be
built on the caller's thread before any lock is taken, and shared by every
recipient of a broadcast.
"""
from __future__ import annotations

from wsproto.frame_protocol import FrameProtocol, Opcode

__all__ = ["encode_data_frame", "frame_overhead"]

# Only the stateless ``_serialize_frame`` of this instance is used, so one
# instance is safe to share between threads (no extensions, server side).
_SERIALIZER = FrameProtocol(client=False, extensions=[])


def encode_data_frame(payload: bytes, text: bool = False) -> bytes:
    """One complete (FIN) text or binary frame carrying ``payload``."""
    return bytes(_SERIALIZER._serialize_frame(Opcode.TEXT if text else Opcode.BINARY, payload))


def frame_overhead(size: int) -> int:
    """Header bytes of an unmasked frame with a ``size``-byte payload."""
    return 2 if size <= 125 else 4 if size <= 0xFFFF else 10
