"""godot_ws: Godot 3's WebSocketServer for Python, byte-exact on the wire.

The public names of the API (docs/reference lists them); everything else is internal.
"""
from .client import WebSocketClient
from .crypto import Crypto, CryptoKey, X509Certificate
from .enums import (
                    TARGET_PEER_BROADCAST,
                    TARGET_PEER_SERVER,
                    ConnectFlags,
                    ConnectionStatus,
                    Error,
                    TransferMode,
                    WriteMode,
)
from .multiplayer_api import (
                    MultiplayerAPI,
                    RPCMode,
                    master,
                    mastersync,
                    puppet,
                    puppetsync,
                    remote,
                    remotesync,
)
from .multiplayer_peer import NetworkedMultiplayerPeer, WebSocketMultiplayerPeer
from .object import Object
from .packet_peer import PacketPeer
from .peer import WebSocketPeer
from .protocol.multiplayer import RelayVerdict
from .rooms import JoinRoom, Room, Rooms
from .server import WebSocketServer
from .variant import (
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
                    bytes2var,
                    var2bytes,
)

__version__ = "0.1.0"

__all__ = [
    "WebSocketServer", "WebSocketPeer", "WebSocketClient",
    "Object", "PacketPeer", "NetworkedMultiplayerPeer", "WebSocketMultiplayerPeer",
    "Error", "ConnectionStatus", "TransferMode", "WriteMode", "ConnectFlags",
    "TARGET_PEER_BROADCAST", "TARGET_PEER_SERVER",
    "CryptoKey", "X509Certificate", "Crypto",
    "Vector2", "Rect2", "Vector3", "Transform2D", "Plane", "Quat", "AABB", "Basis",
    "Transform", "Color", "NodePath", "RID",
    "PoolByteArray", "PoolIntArray", "PoolRealArray", "PoolStringArray",
    "PoolVector2Array", "PoolVector3Array", "PoolColorArray",
    "EncodedObjectAsID", "GodotObject",
    "var2bytes", "bytes2var",
    "MultiplayerAPI", "RPCMode", "remote", "master", "puppet", "remotesync", "mastersync",
    "puppetsync", "RelayVerdict", "Rooms", "Room", "JoinRoom",
]
