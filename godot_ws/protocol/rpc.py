"""Godot 3.2's MultiplayerAPI packets, path caches and RPC mode rules (pure).

A MultiplayerAPI packet is the payload of a SYS_NONE frame. Its first byte is
the command (spec godot3-variant-and-rpc.md §3):

    REMOTE_CALL   00 | u32 target | name 00 | u8 argc | argc Variants | [path 00]
    REMOTE_SET    01 | u32 target | name 00 | one Variant              | [path 00]
    SIMPLIFY_PATH 02 | u32 id | path 00
    CONFIRM_PATH  03 | path 00
    RAW           04 | bytes

``target`` is a path id the receiver was told with SIMPLIFY_PATH, or
``0x80000000 | offset`` of a NUL-terminated path appended to the packet
(used until the receiver answered CONFIRM_PATH). Paths are relative to the
multiplayer root (``/root/Main`` is sent as ``Main``).

Decoding is split in stages because Godot checks a packet in a fixed order
(size, node, name, argc, RPC mode, then arguments) and the first failing check
decides the error it logs. Every malformed input raises ``RpcError``.
"""
from __future__ import annotations

import enum
import struct
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from ..variant.codec import decode_variant, encode_into
from ..variant.types import NodePath

__all__ = [
    "Command", "RPCMode", "INLINE_PATH_FLAG", "MAX_ARGS", "RpcError", "normalize_path",
    "encode_call_tail", "encode_set_tail", "with_cached_id", "with_inline_path",
    "encode_simplify_path", "encode_confirm_path", "encode_raw",
    "read_target", "read_inline_path", "read_name", "check_more", "read_argc", "decode_args", "decode_value",
    "parse_simplify_path", "parse_confirm_path", "parse_raw",
    "RemoteCall", "RemoteSet", "SimplifyPath", "ConfirmPath", "Raw", "Message",
    "parse_message", "encode_message",
    "SendPathCache", "ReceivePathCache",
    "can_call", "should_call_local", "target_includes_self",
]


class Command(enum.IntEnum):
    """The first byte of a MultiplayerAPI packet (3.x ``NETWORK_COMMAND_*``)."""
    REMOTE_CALL = 0
    REMOTE_SET = 1
    SIMPLIFY_PATH = 2
    CONFIRM_PATH = 3
    RAW = 4


class RPCMode(enum.IntEnum):
    """``MultiplayerAPI.RPC_MODE_*`` with Godot 3's values (SLAVE and SYNC are aliases)."""
    DISABLED = 0
    REMOTE = 1
    MASTER = 2
    PUPPET = 3
    SLAVE = 3
    REMOTESYNC = 4
    SYNC = 4
    MASTERSYNC = 5
    PUPPETSYNC = 6


INLINE_PATH_FLAG = 0x80000000
MAX_ARGS = 255
_U32 = struct.Struct("<I")
_PREFIX = 5  # command byte + u32 target


class RpcError(ValueError):
    """A MultiplayerAPI packet Godot would drop; the message is Godot's reason."""


def _cstring(text: str) -> bytes:
    if "\0" in text:
        raise ValueError(f"{text!r}: names and paths cannot contain NUL characters")
    return text.encode("utf-8") + b"\0"


def _utf8(raw: bytes) -> str:
    """Godot's ``String::utf8``: invalid UTF-8 gives an empty string (seen on 3.2.3:
    a bad name is refused as ``RPC ''``, a bad SIMPLIFY_PATH is confirmed as ``""``)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _read_cstring(payload: bytes, start: int) -> str:
    """Text from ``start`` to the first NUL (or the end), as Godot's parse_utf8."""
    end = payload.find(b"\0", start)
    return _utf8(payload[start:end if end >= 0 else len(payload)])


def normalize_path(text: str) -> str:
    """``String(NodePath(text))`` in Godot 3: empty names dropped (``"Main/"`` is
    ``"Main"``), ``:subnames`` kept, an invalid path (``"a::b"``) is ``""``."""
    try:
        return str(NodePath(text))
    except ValueError:
        return ""


# ------------------------------------------------------------------ encoding

def encode_call_tail(name: str, args: Sequence[Any], full_objects: bool = False) -> bytes:
    """The REMOTE_CALL bytes after the target: name, NUL, argc, the encoded args."""
    if len(args) > MAX_ARGS:
        raise ValueError(f"an RPC takes at most {MAX_ARGS} arguments, not {len(args)}")
    out = bytearray(_cstring(name))
    out.append(len(args))
    for arg in args:
        encode_into(out, arg, full_objects)
    return bytes(out)


def encode_set_tail(name: str, value: Any, full_objects: bool = False) -> bytes:
    """The REMOTE_SET bytes after the target: name, NUL, the encoded value."""
    out = bytearray(_cstring(name))
    encode_into(out, value, full_objects)
    return bytes(out)


def with_cached_id(command: Command, path_id: int, tail: bytes) -> bytes:
    """A call/set addressed by a path id the receiver has confirmed."""
    return bytes((command,)) + _U32.pack(path_id) + tail


def with_inline_path(command: Command, tail: bytes, path: str) -> bytes:
    """A call/set carrying its node path after the arguments (target = flag | offset)."""
    return bytes((command,)) + _U32.pack(INLINE_PATH_FLAG | (_PREFIX + len(tail))) + tail + _cstring(path)


def encode_simplify_path(path_id: int, path: str) -> bytes:
    """SIMPLIFY_PATH: "path id ``path_id`` means ``path``"."""
    return bytes((Command.SIMPLIFY_PATH,)) + _U32.pack(path_id) + _cstring(path)


def encode_confirm_path(path: str) -> bytes:
    """CONFIRM_PATH: the receiver's answer to SIMPLIFY_PATH; it names the path."""
    return bytes((Command.CONFIRM_PATH,)) + _cstring(path)


def encode_raw(data: bytes) -> bytes:
    """RAW: ``multiplayer.send_bytes`` payload."""
    return bytes((Command.RAW,)) + bytes(data)


# ------------------------------------------------------------------ decoding

def read_target(payload: bytes) -> int:
    """The u32 target of a REMOTE_CALL/REMOTE_SET (checks Godot's 6-byte minimum)."""
    if len(payload) < 6:
        raise RpcError("Invalid packet received. Size too small.")
    target: int = _U32.unpack_from(payload, 1)[0]
    return target


def read_inline_path(payload: bytes, target: int) -> str:
    """The path a target with ``INLINE_PATH_FLAG`` points to."""
    offset = target & ~INLINE_PATH_FLAG
    if offset >= len(payload):
        raise RpcError("Invalid packet received. Size smaller than declared.")
    return _read_cstring(payload, offset)


def read_name(payload: bytes) -> tuple[str, int]:
    """The method/property name and the offset just past its NUL."""
    end = payload.find(b"\0", _PREFIX)
    if end < 0:
        raise RpcError("Invalid packet received. Size too small.")
    return _utf8(payload[_PREFIX:end]), end + 1


def check_more(payload: bytes, offset: int) -> None:
    """Godot's check that a call/set has bytes after its name (before the mode check)."""
    if offset >= len(payload):
        raise RpcError("Invalid packet received. Size too small.")


def read_argc(payload: bytes, offset: int) -> int:
    """The REMOTE_CALL argument count at ``offset`` (right after the name)."""
    check_more(payload, offset)
    return payload[offset]


def decode_args(payload: bytes, offset: int, argc: int, allow_objects: bool = False) -> list[Any]:
    """The ``argc`` Variants from ``offset``; extra bytes after them are ignored."""
    args = []
    for _ in range(argc):
        check_more(payload, offset)
        value, used = _decode(payload, offset, allow_objects, "RPC argument")
        args.append(value)
        offset += used
    return args


def decode_value(payload: bytes, offset: int, allow_objects: bool = False) -> Any:
    """The REMOTE_SET value at ``offset`` (right after the name)."""
    check_more(payload, offset)
    return _decode(payload, offset, allow_objects, "RSET value")[0]


def _decode(payload: bytes, offset: int, allow_objects: bool, what: str) -> tuple[Any, int]:
    try:
        return decode_variant(payload, offset, allow_objects)
    except ValueError as exc:
        raise RpcError(f"Invalid packet received. Unable to decode {what} ({exc}).") from None


def parse_simplify_path(payload: bytes) -> tuple[int, str]:
    """(path id, path) of a SIMPLIFY_PATH packet."""
    if len(payload) < 5:
        raise RpcError("Invalid packet received. Size too small.")
    target: int = _U32.unpack_from(payload, 1)[0]
    return target, _read_cstring(payload, 5)


def parse_confirm_path(payload: bytes) -> str:
    """The path of a CONFIRM_PATH packet."""
    if len(payload) < 2:
        raise RpcError("Invalid packet received. Size too small.")
    return _read_cstring(payload, 1)


def parse_raw(payload: bytes) -> bytes:
    """The user bytes of a RAW packet (at least one)."""
    if len(payload) < 2:
        raise RpcError("Invalid packet received. Size too small.")
    return bytes(payload[1:])


# ------------------------------------------- whole messages (tools and tests)

@dataclass(frozen=True)
class RemoteCall:
    """REMOTE_CALL addressed by ``path_id`` (cached) or by ``path`` (inline)."""
    name: str
    args: list[Any] = field(default_factory=list)
    path_id: int | None = None
    path: str | None = None


@dataclass(frozen=True)
class RemoteSet:
    """REMOTE_SET addressed by ``path_id`` (cached) or by ``path`` (inline)."""
    name: str
    value: Any = None
    path_id: int | None = None
    path: str | None = None


@dataclass(frozen=True)
class SimplifyPath:
    path_id: int
    path: str


@dataclass(frozen=True)
class ConfirmPath:
    path: str


@dataclass(frozen=True)
class Raw:
    data: bytes


Message = Union[RemoteCall, RemoteSet, SimplifyPath, ConfirmPath, Raw]


def parse_message(payload: bytes, allow_objects: bool = False) -> Message | None:
    """Decode a whole MultiplayerAPI packet; None for an unknown command (Godot ignores it)."""
    if not payload:
        raise RpcError("Invalid packet received. Size too small.")
    command = payload[0]
    if command == Command.SIMPLIFY_PATH:
        return SimplifyPath(*parse_simplify_path(payload))
    if command == Command.CONFIRM_PATH:
        return ConfirmPath(parse_confirm_path(payload))
    if command == Command.RAW:
        return Raw(parse_raw(payload))
    if command not in (Command.REMOTE_CALL, Command.REMOTE_SET):
        return None
    target = read_target(payload)
    inline = bool(target & INLINE_PATH_FLAG)
    path = read_inline_path(payload, target) if inline else None
    path_id = None if inline else target
    name, offset = read_name(payload)
    if command == Command.REMOTE_SET:
        return RemoteSet(name, decode_value(payload, offset, allow_objects), path_id, path)
    argc = read_argc(payload, offset)
    return RemoteCall(name, decode_args(payload, offset + 1, argc, allow_objects), path_id, path)


def encode_message(message: Message, full_objects: bool = False) -> bytes:
    """The packet for ``message``, byte-exact with what Godot 3.2 sends."""
    if isinstance(message, SimplifyPath):
        return encode_simplify_path(message.path_id, message.path)
    if isinstance(message, ConfirmPath):
        return encode_confirm_path(message.path)
    if isinstance(message, Raw):
        return encode_raw(message.data)
    if isinstance(message, RemoteCall):
        command, tail = Command.REMOTE_CALL, encode_call_tail(message.name, message.args, full_objects)
    elif isinstance(message, RemoteSet):
        command, tail = Command.REMOTE_SET, encode_set_tail(message.name, message.value, full_objects)
    else:
        raise TypeError(f"not a MultiplayerAPI message: {message!r}")
    path, path_id = message.path, message.path_id
    if path is not None and path_id is None:
        return with_inline_path(command, tail, path)
    if path_id is not None and path is None:
        return with_cached_id(command, path_id, tail)
    raise ValueError("give exactly one of path_id (cached) and path (inline)")


# ---------------------------------------------------------------- path caches

class _SentPath:
    __slots__ = ("path_id", "confirmed")

    def __init__(self, path_id: int) -> None:
        self.path_id = path_id
        self.confirmed: dict[int, bool] = {}  # peer -> confirmed (False: announced only)


class SendPathCache:
    """The sender's cache: one id per node path, and which peers know it (Godot's
    ``path_send_cache``). Ids start at 1, in order of first use."""

    def __init__(self) -> None:
        self._paths: dict[str, _SentPath] = {}
        self._next_id = 1

    def path_id(self, path: str) -> int | None:
        entry = self._paths.get(path)
        return entry.path_id if entry else None

    def is_confirmed(self, path: str, peer: int) -> bool:
        entry = self._paths.get(path)
        return bool(entry and entry.confirmed.get(peer))

    def outgoing(self, path: str, command: Command, tail: bytes, target: int,
                 peers: Collection[int]) -> list[tuple[int, bytes]]:
        """The (target peer, payload) puts of one rpc/rset, in Godot 3.2's order.

        SIMPLIFY_PATH first to each addressed peer that was never told the
        path; then one packet to ``target`` if every addressed peer confirmed,
        else one packet per addressed peer: cached id where confirmed, inline
        path elsewhere. ``peers``: the connected peers (server 1 included on a
        client).
        """
        entry = self._paths.get(path)
        if entry is None:
            entry = self._paths[path] = _SentPath(self._next_id)
            self._next_id += 1
        out: list[tuple[int, bytes]] = []
        all_confirmed = True
        simplify = None
        for peer in sorted(peers):
            if not _addressed(peer, target):
                continue
            state = entry.confirmed.get(peer)
            if not state:
                all_confirmed = False
            if state is None:
                if simplify is None:
                    simplify = encode_simplify_path(entry.path_id, path)
                out.append((peer, simplify))
                entry.confirmed[peer] = False
        if all_confirmed:
            out.append((target, with_cached_id(command, entry.path_id, tail)))
            return out
        cached = inline = None
        for peer in sorted(entry.confirmed):
            if not _addressed(peer, target):
                continue
            if entry.confirmed[peer]:
                cached = cached or with_cached_id(command, entry.path_id, tail)
                out.append((peer, cached))
            else:
                inline = inline or with_inline_path(command, tail, path)
                out.append((peer, inline))
        return out

    def confirm(self, peer: int, path: str) -> None:
        """Record a CONFIRM_PATH from ``peer``; raises ``RpcError`` as Godot refuses it."""
        entry = self._paths.get(path)
        if entry is None:
            raise RpcError("Invalid packet received. Tries to confirm a path which was not found in cache.")
        if peer not in entry.confirmed:
            raise RpcError("Invalid packet received. Source peer was not found in cache for the given path.")
        entry.confirmed[peer] = True

    def forget_peer(self, peer: int) -> None:
        for entry in self._paths.values():
            entry.confirmed.pop(peer, None)

    def clear(self) -> None:
        self._paths.clear()
        self._next_id = 1


def _addressed(peer: int, target: int) -> bool:
    return not ((target < 0 and peer == -target) or (target > 0 and peer != target))


class ReceivePathCache:
    """The receiver's cache: path ids announced by each peer (Godot's ``path_get_cache``)."""

    def __init__(self) -> None:
        self._peers: dict[int, dict[int, str]] = {}

    def add_peer(self, peer: int) -> None:
        self._peers.setdefault(peer, {})

    def forget_peer(self, peer: int) -> None:
        self._peers.pop(peer, None)

    def add(self, peer: int, path_id: int, path: str) -> None:
        """Record a SIMPLIFY_PATH (a repeated id overwrites, as in Godot)."""
        self._peers.setdefault(peer, {})[path_id] = path

    def lookup(self, peer: int, path_id: int) -> str:
        nodes = self._peers.get(peer)
        if nodes is None:
            raise RpcError("Invalid packet received. Requests invalid peer cache.")
        try:
            return nodes[path_id]
        except KeyError:
            raise RpcError("Invalid packet received. Unabled to find requested cached node.") from None

    def clear(self) -> None:
        self._peers.clear()


# ------------------------------------------------------------------ mode rules

def can_call(mode: int, is_master: bool, sender: int, master: int) -> bool:
    """Receiver side (§3.5): may ``sender`` call/set a member with ``mode`` on a node
    whose network master is ``master`` (``is_master``: this side is the master)?"""
    if mode in (RPCMode.REMOTE, RPCMode.REMOTESYNC):
        return True
    if mode in (RPCMode.MASTER, RPCMode.MASTERSYNC):
        return is_master
    if mode in (RPCMode.PUPPET, RPCMode.PUPPETSYNC):
        return not is_master and sender == master
    return False


def should_call_local(mode: int, is_master: bool) -> tuple[bool, bool]:
    """Sender side, when the target includes the sender: (call locally, skip the network)."""
    if mode in (RPCMode.REMOTESYNC, RPCMode.PUPPETSYNC):
        return True, False
    if mode == RPCMode.MASTERSYNC:
        return True, is_master
    if mode == RPCMode.MASTER:
        return is_master, is_master
    if mode == RPCMode.PUPPET:
        return not is_master, False
    return False, False


def target_includes_self(target: int, own_id: int) -> bool:
    """True for 0, ``own_id`` and a negative target that does not exclude ``own_id``."""
    return target == 0 or target == own_id or (target < 0 and target != -own_id)
