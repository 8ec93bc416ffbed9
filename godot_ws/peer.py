"""WebSocketPeer: one client as the server sees it (what ``get_peer(id)`` returns).

Thin: Godot's API over a transport connection. Every method may be called from
any thread; ``_lock`` guards the input queue and the last-packet state, and the
connection does its own locking for writes.
"""
from __future__ import annotations

import logging
import socket
import threading
from typing import TYPE_CHECKING, Any

from .enums import Error, WriteMode
from .packet_peer import PacketPeer
from .protocol.limits import InputQueue
from .protocol.session import valid_close_code

if TYPE_CHECKING:
    from .transport.connection import PeerConnection

__all__ = ["WebSocketPeer"]

logger = logging.getLogger("godot_ws")

_OUT_OF_MEMORY = Error.ERR_OUT_OF_MEMORY  # bound once: put_packet runs per recipient


def check_close_args(code: int, reason: str) -> bytes:
    """Validate a close code and reason before anything goes on the wire."""
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"close code must be an int, got {type(code).__name__}")
    if not valid_close_code(code):
        raise ValueError(f"close code {code} cannot be sent: use 1000-1003, 1007-1014 "
                         "or 3000-4999")
    if not isinstance(reason, str):
        raise TypeError(f"close reason must be a str, got {type(reason).__name__}")
    raw = reason.encode("utf-8")
    if len(raw) > 123:
        raise ValueError(f"close reason is {len(raw)} bytes in UTF-8; the limit is 123")
    return raw


class WebSocketPeer(PacketPeer):
    """One connection, as Godot 3's ``WebSocketPeer``: what ``WebSocketServer.get_peer(id)`` returns.

    Every method may be called from any thread; the server's signals still
    fire only inside ``poll()``. ``WRITE_MODE_TEXT``/``WRITE_MODE_BINARY``
    choose the frame type of ``put_packet`` (Godot's default: binary).
    """

    _CLASS_NAME = "WebSocketPeer"
    WRITE_MODE_TEXT = WriteMode.WRITE_MODE_TEXT
    WRITE_MODE_BINARY = WriteMode.WRITE_MODE_BINARY

    def __init__(self, conn: PeerConnection, peer_id: int) -> None:
        super().__init__()
        self._conn = conn
        self._id = peer_id
        self._lock = threading.Lock()
        self._input = InputQueue(conn.cfg.limits)
        self._write_text = False
        self._was_string = False
        self._connected = True
        self._closing = False
        self._host, self._port = conn.client_host, int(conn.address[1])

    # -- PacketPeer --------------------------------------------------------

    def get_available_packet_count(self) -> int:
        if not self._connected:
            return 0
        with self._lock:
            return len(self._input)

    def get_packet(self) -> bytes:
        """The oldest received message; b"" with ERR_UNAVAILABLE when none."""
        with self._lock:
            if not self._connected:
                self._packet_error = Error.FAILED
                return b""
            item = self._input.pop()
            if item is None:
                self._packet_error = Error.ERR_UNAVAILABLE
                return b""
            self._was_string = item[1]
            self._packet_error = Error.OK
            return item[0]

    def put_packet(self, data: bytes) -> Error:
        """Send one message (text or binary by the write mode).

        Unlike Godot, an empty message is sent too. ERR_OUT_OF_MEMORY when the
        peer's output limits are full; FAILED when not connected.
        """
        if data.__class__ is not bytes:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"put_packet needs bytes, got {type(data).__name__}; "
                                "encode text first (e.g. s.encode('utf-8'))")
            data = bytes(data)
        text = self._write_text
        if text:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("WRITE_MODE_TEXT needs UTF-8 data; use "
                                 "WRITE_MODE_BINARY for arbitrary bytes") from None
        if not self._connected:
            logger.error("put_packet on disconnected peer %d", self._id)
            return Error.FAILED
        return self._send_frame(data, text)

    def _send_frame(self, payload: bytes, text: bool = False) -> Error:
        """Queue a message; ``payload`` may be shared by every recipient of a broadcast."""
        if not self._connected:
            return Error.FAILED
        err = self._conn.send(payload, text)
        if err is _OUT_OF_MEMORY:
            logger.error("peer %d: output buffer full, packet not sent", self._id)
        return err

    # -- WebSocketPeer -------------------------------------------------------

    def get_write_mode(self) -> WriteMode:
        """The current :class:`WriteMode` of ``put_packet`` (Godot: ``get_write_mode``)."""
        return WriteMode.WRITE_MODE_TEXT if self._write_text else WriteMode.WRITE_MODE_BINARY

    def set_write_mode(self, mode: int) -> None:
        """Send later packets as text (``WRITE_MODE_TEXT``) or binary (``WRITE_MODE_BINARY``)
        frames.
        """
        if mode not in (0, 1):
            raise ValueError("write mode must be WRITE_MODE_TEXT (0) or WRITE_MODE_BINARY (1)")
        self._write_text = mode == 0  # WRITE_MODE_TEXT

    write_mode = property(get_write_mode, set_write_mode)

    def was_string_packet(self) -> bool:
        """Whether the last packet taken with get_packet was a text message."""
        return self._was_string

    def is_connected_to_host(self) -> bool:
        """True until the connection has ended (Godot: ``is_connected_to_host``)."""
        return self._connected

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake. The peer stays connected until the
        client answers (or the close timeout drops it)."""
        check_close_args(code, reason)
        with self._lock:
            self._input.clear()
            self._closing = True
        if self._connected:
            self._conn.close(code, reason)

    def get_connected_host(self) -> str:
        """The client's IP address (via ``trusted_proxies`` when set); ``""`` once disconnected."""
        if not self._connected:
            logger.error("get_connected_host on disconnected peer %d", self._id)
            return ""
        return self._host

    def get_connected_port(self) -> int:
        """The client's TCP port; 0 once disconnected."""
        if not self._connected:
            logger.error("get_connected_port on disconnected peer %d", self._id)
            return 0
        return self._port

    def set_no_delay(self, enabled: bool) -> None:
        """Turn Nagle's algorithm off (``enabled=True``, the default here) or on for this socket.
        """
        try:
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(bool(enabled)))
        except OSError as exc:
            logger.error("set_no_delay on peer %d failed: %s", self._id, exc)

    def get_current_outbound_buffered_amount(self) -> int:
        """Bytes queued for this peer that the socket has not taken yet."""
        if not self._connected:
            logger.error("peer %d is not connected", self._id)
            return 0
        return self._conn.outbound_buffered()

    # -- extras --------------------------------------------------------------

    def get_request_path(self) -> str:
        """The path (and query) of the accepted upgrade request."""
        return self._conn.request().path

    def get_request_headers(self) -> dict:
        """The accepted upgrade request's headers (lower-case names)."""
        return self._conn.request().headers

    def get_handshake_data(self) -> Any:
        """What the server's ``handshake_hook`` returned for this peer, if anything."""
        return self._conn.hook_result

    # -- called by the server on the polling thread ------------------------

    def _receive(self, data: bytes, is_text: bool) -> str | None:
        with self._lock:
            if self._closing:
                return None
            return self._input.push(data, is_text)

    def _mark_disconnected(self) -> None:
        with self._lock:
            self._connected = False
            self._input.clear()
