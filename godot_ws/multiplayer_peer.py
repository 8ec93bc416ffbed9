"""Godot's ``NetworkedMultiplayerPeer`` and ``WebSocketMultiplayerPeer``: the
class tree above ``WebSocketServer`` (constants and signals; behaviour lives in
``server.py``)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from .enums import (
    TARGET_PEER_BROADCAST,
    TARGET_PEER_SERVER,
    ConnectionStatus,
    Error,
    TransferMode,
)
from .object import Callback
from .packet_peer import PacketPeer

__all__ = ["NetworkedMultiplayerPeer", "WebSocketMultiplayerPeer", "NetworkPeer"]


class NetworkPeer(Protocol):
    """What ``MultiplayerAPI`` uses of its ``network_peer`` (``WebSocketServer`` has it all).

    Optional extras it looks up by name: ``is_server()``, ``set_transfer_mode()``,
    ``allow_object_decoding`` and ``_wake()``.
    """
    refuse_new_connections: bool

    def get_connection_status(self) -> ConnectionStatus: ...
    def get_unique_id(self) -> int: ...
    def has_signal(self, signal: str) -> bool: ...
    def is_connected(self, signal: str, callback: Callback) -> bool: ...
    def connect(self, signal: str, callback: Callback, binds: Iterable[Any] = ...,
                flags: int = ...) -> Error: ...
    def disconnect(self, signal: str, callback: Callback) -> None: ...
    def poll(self, timeout: float | None = ...) -> None: ...
    def set_target_peer(self, id: int) -> None: ...
    def put_packet(self, data: bytes) -> Error: ...
    def get_available_packet_count(self) -> int: ...
    def get_packet_peer(self) -> int: ...
    def get_packet(self) -> bytes: ...


class NetworkedMultiplayerPeer(PacketPeer):
    """The high-level multiplayer peer interface (Godot 3's ``NetworkedMultiplayerPeer``).

    The constants mirror Godot's (``TARGET_PEER_BROADCAST``,
    ``TRANSFER_MODE_*``, ``CONNECTION_*``); :class:`MultiplayerAPI` takes any
    subclass as its ``network_peer``.

    Signals:
        peer_connected(id): a peer joined (multiplayer mode).
        peer_disconnected(id): a peer left (multiplayer mode).
        connection_succeeded(): a client's connection to the server is up (client side).
        connection_failed(): a client could not connect, or (Godot 3) lost its connection.
        server_disconnected(): a client's established session with the server ended.
    """

    _CLASS_NAME = "NetworkedMultiplayerPeer"
    _SIGNALS = {
        "peer_connected": ("id",),
        "peer_disconnected": ("id",),
        "connection_succeeded": (),
        "connection_failed": (),
        "server_disconnected": (),
    }
    TARGET_PEER_BROADCAST = TARGET_PEER_BROADCAST
    TARGET_PEER_SERVER = TARGET_PEER_SERVER
    TRANSFER_MODE_UNRELIABLE = TransferMode.TRANSFER_MODE_UNRELIABLE
    TRANSFER_MODE_UNRELIABLE_ORDERED = TransferMode.TRANSFER_MODE_UNRELIABLE_ORDERED
    TRANSFER_MODE_RELIABLE = TransferMode.TRANSFER_MODE_RELIABLE
    CONNECTION_DISCONNECTED = ConnectionStatus.CONNECTION_DISCONNECTED
    CONNECTION_CONNECTING = ConnectionStatus.CONNECTION_CONNECTING
    CONNECTION_CONNECTED = ConnectionStatus.CONNECTION_CONNECTED


class WebSocketMultiplayerPeer(NetworkedMultiplayerPeer):
    """Godot's WebSocket flavour of the multiplayer peer (``WebSocketMultiplayerPeer``).

    Signals:
        peer_packet(peer_source): multiplayer mode: a packet from ``peer_source``
            is waiting (call ``get_packet_peer()`` then ``get_packet()``).
    """

    _CLASS_NAME = "WebSocketMultiplayerPeer"
    _SIGNALS = {"peer_packet": ("peer_source",)}
