"""PacketPeer: Godot's ``get_var``/``put_var`` on top of a subclass's packets.

Contract for subclasses (WebSocketPeer, WebSocketServer in multiplayer mode):

- ``get_packet() -> bytes``: the next packet; sets ``self._packet_error``
  (``Error.OK``, or e.g. ``ERR_UNAVAILABLE`` with ``b""`` when there is none);
- ``put_packet(data) -> Error``: sends one packet;
- ``get_available_packet_count() -> int``.

On top of these, as Godot 3: ``put_var`` sends exactly ``var2bytes(value)``
as one packet (full objects when ``full_objects`` or
``allow_object_decoding``); an encoding longer than ``encode_buffer_max_size``
is not sent (``ERR_OUT_OF_MEMORY``, error logged). ``get_var`` never raises
on bad data: it logs, returns ``None`` and ``get_packet_error()`` reports the
decoder's code (``ERR_INVALID_DATA``, ``ERR_FILE_EOF``, ``ERR_UNAUTHORIZED``
...) - Godot 3.2.3 only logs it. Full objects are refused unless
``allow_objects`` or ``allow_object_decoding``.
"""
from __future__ import annotations

import logging
from typing import Any, ClassVar

from .enums import Error
from .object import Object
from .variant.codec import VariantDecodeError, VariantEncodeError, decode_variant, var2bytes

__all__ = ["PacketPeer"]

logger = logging.getLogger("godot_ws")

_MIN_ENCODE_BUFFER = 1024
_MAX_ENCODE_BUFFER = 256 * 1024 * 1024


class PacketPeer(Object):
    """Godot 3's ``PacketPeer``: Variants over packets (abstract packet methods)."""

    _CLASS_NAME = "PacketPeer"
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("encode_buffer_max_size", "allow_object_decoding")

    # Class-level defaults: subclasses need not call PacketPeer.__init__.
    _packet_error: Error = Error.OK
    _encode_buffer_max_size: int = 8388608
    allow_object_decoding: bool = False
    """Decode (and send, in ``put_var``) full Objects. Never enable it for untrusted peers."""

    # -- packets: provided by subclasses -------------------------------------

    def get_packet(self) -> bytes:
        """The next packet (sets the packet error); subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_packet")

    def put_packet(self, data: bytes) -> Error:
        """Send one packet; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement put_packet")

    def get_available_packet_count(self) -> int:
        """Packets waiting to be read; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_available_packet_count")

    def get_packet_error(self) -> Error:
        """Error of the last ``get_packet`` (or of the last ``get_var``'s decoding)."""
        return self._packet_error

    # -- Variants ------------------------------------------------------------

    def get_var(self, allow_objects: bool = False) -> Any:
        """Next packet decoded as a Variant; ``None`` (and a packet error) if it cannot be."""
        data = self.get_packet()
        if self._packet_error != Error.OK:
            return None
        try:
            return decode_variant(data, 0, allow_objects or self.allow_object_decoding)[0]
        except VariantDecodeError as exc:
            self._packet_error = exc.error
            logger.error("get_var: Error when trying to decode Variant: %s", exc)
            return None

    def put_var(self, value: Any, full_objects: bool = False) -> Error:
        """Send ``var2bytes(value)`` as one packet.

        ``TypeError``/``ValueError`` for a Python value with no Variant form;
        ``ERR_OUT_OF_MEMORY`` (logged) when too deep or bigger than
        ``encode_buffer_max_size``.
        """
        try:
            data = var2bytes(value, full_objects or self.allow_object_decoding)
        except VariantEncodeError as exc:
            logger.error("put_var: Error when trying to encode Variant: %s", exc)
            return exc.error
        if not data:
            return Error.OK
        if len(data) > self._encode_buffer_max_size:
            logger.error("put_var: Failed to encode variant, encode size is bigger then "
                         "encode_buffer_max_size. Consider raising it via "
                         "'set_encode_buffer_max_size'.")
            return Error.ERR_OUT_OF_MEMORY
        return self.put_packet(data)

    # -- properties ----------------------------------------------------------

    @property
    def encode_buffer_max_size(self) -> int:
        """Largest encoding ``put_var`` sends (default 8 MiB; set: rounded up to a power of two)."""
        return self._encode_buffer_max_size

    @encode_buffer_max_size.setter
    def encode_buffer_max_size(self, max_size: int) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int):
            raise TypeError(f"encode_buffer_max_size must be an int, got {type(max_size).__name__}")
        if max_size < _MIN_ENCODE_BUFFER:
            logger.error("set_encode_buffer_max_size: Max encode buffer must be at least 1024 bytes")
            return
        if max_size > _MAX_ENCODE_BUFFER:
            logger.error("set_encode_buffer_max_size: Max encode buffer cannot exceed 256 MiB")
            return
        self._encode_buffer_max_size = 1 << (max_size - 1).bit_length()

    def set_encode_buffer_max_size(self, max_size: int) -> None:
        """Set :attr:`encode_buffer_max_size` to ``max_size`` bytes (1 KiB to 256 MiB, rounded up
        to a power of two).
        """
        self.encode_buffer_max_size = max_size

    def get_encode_buffer_max_size(self) -> int:
        """Return :attr:`encode_buffer_max_size` in bytes."""
        return self._encode_buffer_max_size

    def set_allow_object_decoding(self, enable: bool) -> None:
        """Allow (``enable=True``) or refuse full Objects in ``get_var``/``put_var``
        (:attr:`allow_object_decoding`).
        """
        self.allow_object_decoding = bool(enable)

    def is_object_decoding_allowed(self) -> bool:
        """Return :attr:`allow_object_decoding`."""
        return self.allow_object_decoding
