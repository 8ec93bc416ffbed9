"""Godot's ``NetworkedMultiplayerPeer`` and ``WebSocketMultiplayerPeer``: the
class tree above ``WebSocketServer`` (constants and signals; behaviour lives in
``server.py``)."""
from __future__ import annotations

from .enums import TARGET_PEER_BROADCAST, TARGET_PEER_SERVER, ConnectionStatus, TransferMode
from .packet_peer import PacketPeer

__all__ = ["NetworkedMultiplayerPeer", "WebSocketMultiplayerPeer"]


class NetworkedMultiplayerPeer(PacketPeer):
    """The high-level multiplayer peer interface (Godot 3)."""

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
    """Godot's WebSocket flavour of the multiplayer peer."""

    _CLASS_NAME = "WebSocketMultiplayerPeer"
    _SIGNALS = {"peer_packet": ("peer_source",)}
