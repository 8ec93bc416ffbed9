"""Server frame headers from wsproto, cached, so a payload is never copied to frame it.

A server data frame is unmasked and stateless: its header depends only on the
opcode and the payload length. wsproto serializes each (opcode, length) once;
the header is then reused, and the payload goes out next to it with a
scatter-gather write (and is shared by every recipient of a broadcast).
"""
from __future__ import annotations

from functools import lru_cache

from wsproto.frame_protocol import FrameProtocol, Opcode

__all__ = ["frame_header", "encode_data_frame"]

# Only the stateless ``_serialize_frame`` of this instance is used, so one
# instance is safe to share between threads (no extensions, server side).
_SERIALIZER = FrameProtocol(client=False, extensions=[])


@lru_cache(maxsize=4096)
def frame_header(length: int, text: bool = False) -> bytes:
    """The header of a complete (FIN) text or binary frame of ``length`` bytes."""
    frame = _SERIALIZER._serialize_frame(Opcode.TEXT if text else Opcode.BINARY, bytes(length))
    return bytes(frame[:len(frame) - length])


def encode_data_frame(payload: bytes, text: bool = False) -> bytes:
    """One complete frame as a single ``bytes`` (header + payload)."""
    return frame_header(len(payload), text) + payload
