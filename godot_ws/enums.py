"""Godot 3's enums with their numeric values (core/error_list.h and friends)."""
from enum import IntEnum, IntFlag

__all__ = ["Error", "ConnectionStatus", "TransferMode", "WriteMode", "ConnectFlags",
           "TARGET_PEER_BROADCAST", "TARGET_PEER_SERVER"]


class Error(IntEnum):
    """Godot 3 ``Error`` codes; methods Godot declares as returning ``Error`` return these."""
    OK = 0
    FAILED = 1
    ERR_UNAVAILABLE = 2
    ERR_UNCONFIGURED = 3
    ERR_UNAUTHORIZED = 4
    ERR_PARAMETER_RANGE_ERROR = 5
    ERR_OUT_OF_MEMORY = 6
    ERR_FILE_NOT_FOUND = 7
    ERR_FILE_BAD_DRIVE = 8
    ERR_FILE_BAD_PATH = 9
    ERR_FILE_NO_PERMISSION = 10
    ERR_FILE_ALREADY_IN_USE = 11
    ERR_FILE_CANT_OPEN = 12
    ERR_FILE_CANT_WRITE = 13
    ERR_FILE_CANT_READ = 14
    ERR_FILE_UNRECOGNIZED = 15
    ERR_FILE_CORRUPT = 16
    ERR_FILE_MISSING_DEPENDENCIES = 17
    ERR_FILE_EOF = 18
    ERR_CANT_OPEN = 19
    ERR_CANT_CREATE = 20
    ERR_QUERY_FAILED = 21
    ERR_ALREADY_IN_USE = 22
    ERR_LOCKED = 23
    ERR_TIMEOUT = 24
    ERR_CANT_CONNECT = 25
    ERR_CANT_RESOLVE = 26
    ERR_CONNECTION_ERROR = 27
    ERR_CANT_ACQUIRE_RESOURCE = 28
    ERR_CANT_FORK = 29
    ERR_INVALID_DATA = 30
    ERR_INVALID_PARAMETER = 31
    ERR_ALREADY_EXISTS = 32
    ERR_DOES_NOT_EXIST = 33
    ERR_DATABASE_CANT_READ = 34
    ERR_DATABASE_CANT_WRITE = 35
    ERR_COMPILATION_FAILED = 36
    ERR_METHOD_NOT_FOUND = 37
    ERR_LINK_FAILED = 38
    ERR_SCRIPT_FAILED = 39
    ERR_CYCLIC_LINK = 40
    ERR_INVALID_DECLARATION = 41
    ERR_DUPLICATE_SYMBOL = 42
    ERR_PARSE_ERROR = 43
    ERR_BUSY = 44
    ERR_SKIP = 45
    ERR_HELP = 46
    ERR_BUG = 47
    ERR_PRINTER_ON_FIRE = 48


class ConnectionStatus(IntEnum):
    """Godot 3's ``NetworkedMultiplayerPeer.ConnectionStatus`` (``get_connection_status``)."""
    CONNECTION_DISCONNECTED = 0
    CONNECTION_CONNECTING = 1
    CONNECTION_CONNECTED = 2


class TransferMode(IntEnum):
    """Godot 3's ``NetworkedMultiplayerPeer.TransferMode`` (WebSocket is always reliable)."""
    TRANSFER_MODE_UNRELIABLE = 0
    TRANSFER_MODE_UNRELIABLE_ORDERED = 1
    TRANSFER_MODE_RELIABLE = 2


class WriteMode(IntEnum):
    """Godot 3's ``WebSocketPeer.WriteMode``: the frame type ``put_packet`` sends."""
    WRITE_MODE_TEXT = 0
    WRITE_MODE_BINARY = 1


class ConnectFlags(IntFlag):
    """Godot 3's ``Object.ConnectFlags``: ``Object.connect``'s ``flags`` (combine with ``|``)."""
    CONNECT_DEFERRED = 1
    CONNECT_PERSIST = 2
    CONNECT_ONESHOT = 4
    CONNECT_REFERENCE_COUNTED = 8


TARGET_PEER_BROADCAST = 0
TARGET_PEER_SERVER = 1
