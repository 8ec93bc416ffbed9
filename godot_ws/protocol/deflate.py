"""permessage-deflate (RFC 7692), only when the server asks for it, with a bound.

Off by default: Godot's native clients cannot decode compressed frames. When
``WebSocketServer.compression`` is on, wsproto negotiates the offer (a bad offer
is declined, the connection goes on uncompressed) and decompresses; this
subclass bounds what a message may inflate to, so a decompression bomb costs
no more than the peer's input buffer and closes with 1009.
"""
from __future__ import annotations

import zlib

from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol
from wsproto.handshake import server_extensions_handshake
from wsproto.utilities import split_comma_header

__all__ = ["BoundedPerMessageDeflate", "negotiate"]


class BoundedPerMessageDeflate(PerMessageDeflate):
    """wsproto's permessage-deflate, inflating at most ``max_size`` bytes per message."""

    def __init__(self, max_size: int) -> None:
        super().__init__()
        self.max_size = max_size
        self._inflated = 0

    def _inflate(self, data: bytes) -> bytes | CloseReason:
        room = self.max_size - self._inflated
        decompressor = self._decompressor
        assert decompressor is not None  # made by frame_inbound_header for a compressed frame
        try:
            out = decompressor.decompress(data, room + 1)
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        self._inflated += len(out)
        if self._inflated > self.max_size or decompressor.unconsumed_tail:
            return CloseReason.MESSAGE_TOO_BIG
        return out

    def frame_inbound_payload_data(self, proto: FrameDecoder | FrameProtocol, data: bytes
                                   ) -> bytes | CloseReason:
        if not self._inbound_compressed or not self._inbound_is_compressible:
            return data
        return self._inflate(bytes(data))

    def frame_inbound_complete(self, proto: FrameDecoder | FrameProtocol, fin: bool
                               ) -> bytes | CloseReason | None:
        if not fin or not self._inbound_is_compressible or not self._inbound_compressed:
            return super().frame_inbound_complete(proto, fin)
        out = self._inflate(b"\x00\x00\xff\xff")
        self._inflated = 0
        if isinstance(out, CloseReason):
            return out
        if self.client_no_context_takeover:
            self._decompressor = None
        self._inbound_compressed = None
        return out


def negotiate(offers: str | None, max_size: int
              ) -> tuple[BoundedPerMessageDeflate | None, str | None]:
    """(extension, ``Sec-WebSocket-Extensions`` response value), or (None, None)
    when the client offered nothing acceptable."""
    if not offers:
        return None, None
    ext = BoundedPerMessageDeflate(max_size)
    try:
        accepted = server_extensions_handshake(split_comma_header(offers.encode("latin-1")),
                                               [ext])
    except (ValueError, UnicodeEncodeError):
        return None, None
    if not accepted or not ext.enabled():
        return None, None
    return ext, accepted.decode("ascii")
