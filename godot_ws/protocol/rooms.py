"""Rooms of a multiplayer server, as pure bookkeeping: names, capacity, seal, grace, lobby.

A room is one Godot game inside one server (see ``godot_ws/rooms.py``). This module
decides who may join which room and when a room closes, and builds the lobby's JSON
answer; it keeps no sockets, threads or clocks (callers pass ``now``) and no lock: its
caller serializes access (peer threads reserve places, the polling thread does the rest).

A join is two steps: a *reservation* during the handshake (so a full room is refused
with an HTTP error before any id is given), then, once the upgrade is done, the
*admission* of the player, or the *release* of a reservation that did not become one.
A room counts both, so concurrent handshakes can never overfill it.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .handshake import HandshakeError, http_response

__all__ = ["ROOM_PATH", "LOBBY_PATH", "NOT_FOUND", "FULL", "SEALED", "DEFAULT", "JoinRoom",
           "RoomState", "RoomRegistry", "check_room_name", "check_max_peers", "check_grace",
           "check_metadata", "room_from_path", "lobby_request", "lobby_response"]

ROOM_PATH = "/rooms/"   # ws://host:port/rooms/<name>
LOBBY_PATH = "/rooms"   # GET: the lobby listing
NOT_FOUND, SEALED, FULL = 404, 403, 409  # HTTP statuses of refused joins

DEFAULT: Any = object()  # create()'s grace: the registry's default
_NAME = re.compile(r"[A-Za-z0-9_.~-]{1,64}")  # URL-safe (RFC 3986 unreserved), no escaping needed


def check_room_name(name: Any) -> str:
    """``name`` if it is a valid room name, else TypeError/ValueError saying what one is."""
    if not isinstance(name, str):
        raise TypeError(f"room name must be a str, got {type(name).__name__}")
    if not _NAME.fullmatch(name):
        raise ValueError(f"room name {name!r} must be 1-64 characters of A-Z a-z 0-9 _ . ~ -")
    return name


def room_from_path(path: str) -> str | None:
    """The room named by a request path ``/rooms/<name>[?query]``, or None for other paths."""
    path = path.split("?", 1)[0]
    if not path.startswith(ROOM_PATH):
        return None
    return path[len(ROOM_PATH):]


def check_metadata(metadata: Any) -> dict[str, Any]:
    """A copy of ``metadata`` if it is a JSON object (str keys), else TypeError."""
    if not isinstance(metadata, Mapping):
        raise TypeError(f"room metadata must be a dict, got {type(metadata).__name__}")
    copy = dict(metadata)
    try:
        same = json.loads(json.dumps(copy, allow_nan=False)) == copy
    except (TypeError, ValueError) as exc:
        same, problem = False, str(exc)
    else:
        problem = "it would not read back the same (a non-str key, a tuple?)"
    if not same:
        raise TypeError("room metadata must be JSON data (str keys; str, numbers, bool, None, "
                        f"lists, dicts): {problem}")
    return copy


def check_max_peers(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_peers must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"max_peers must be >= 0 (0: no limit), got {value}")
    return value


def check_grace(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"grace must be seconds >= 0, or None (never close when empty), got {value!r}")
    return float(value)


class JoinRoom(NamedTuple):
    """What a handshake hook returns to put the client in room ``name`` (whatever its
    path says); ``data`` becomes the peer's ``get_handshake_data()``."""
    name: str
    data: Any = None


@dataclass
class RoomState:
    """One room's bookkeeping. ``grace``: seconds it stays open once empty (None: until
    closed); ``empty_since``: when it last became empty (None while anyone is in or on the way)."""
    name: str
    max_peers: int = 0
    grace: float | None = 10.0
    sealed: bool = False
    hidden: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    players: int = 0
    pending: int = 0
    empty_since: float | None = None
    closing: bool = False

    def is_full(self) -> bool:
        return bool(self.max_peers) and self.players + self.pending >= self.max_peers

    def is_empty(self) -> bool:
        return self.players + self.pending == 0

    def deadline(self) -> float | None:
        """When this room closes if nobody comes (None: not scheduled)."""
        if self.empty_since is None:
            return None
        if self.closing:
            return self.empty_since
        return None if self.grace is None else self.empty_since + self.grace

    def listing(self) -> dict[str, Any]:
        """Its lobby entry."""
        return {"name": self.name, "players": self.players, "max": self.max_peers or None,
                "sealed": self.sealed or self.closing, "metadata": self.metadata}


class RoomRegistry:
    """Every room of one server, in creation order.

    ``auto_create``: a join to an unknown room creates it (with ``max_peers`` and ``grace``
    as the defaults), else it is refused with 404.
    """

    def __init__(self, max_peers: int = 0, grace: float | None = 10.0,
                 auto_create: bool = True) -> None:
        self.max_peers = check_max_peers(max_peers)
        self.grace = check_grace(grace)
        self.auto_create = bool(auto_create)
        self.rooms: dict[str, RoomState] = {}

    def __iter__(self) -> Iterator[RoomState]:
        return iter(list(self.rooms.values()))

    def get(self, name: str) -> RoomState | None:
        return self.rooms.get(name)

    def create(self, name: str, now: float, max_peers: int | None = None,
               grace: Any = DEFAULT, metadata: Mapping[str, Any] | None = None,
               hidden: bool = False) -> RoomState:
        """A new, empty room (its grace period starts now); ValueError if it exists."""
        check_room_name(name)
        if name in self.rooms:
            raise ValueError(f"room {name!r} exists already")
        room = RoomState(name, self.max_peers if max_peers is None else check_max_peers(max_peers),
                         self.grace if grace is DEFAULT else check_grace(grace),
                         hidden=bool(hidden),
                         metadata=check_metadata(metadata if metadata is not None else {}),
                         empty_since=now)
        self.rooms[name] = room
        return room

    def reserve(self, name: str | None, now: float) -> RoomState:
        """Hold a place in room ``name`` for a handshake; HandshakeError if it cannot join."""
        if name is None:
            raise HandshakeError(f"no room: connect to {ROOM_PATH}<name>", NOT_FOUND)
        try:
            check_room_name(name)
        except ValueError as exc:
            raise HandshakeError(str(exc), 400) from None
        room = self.rooms.get(name)
        if room is None or room.closing:
            if room is not None or not self.auto_create:
                raise HandshakeError(f"no room {name!r}", NOT_FOUND)
            room = self.create(name, now)
        if room.sealed:
            raise HandshakeError(f"room {name!r} is sealed", SEALED)
        if room.is_full():
            raise HandshakeError(f"room {name!r} is full ({room.max_peers} players)", FULL)
        room.pending += 1
        room.empty_since = None
        return room

    def release(self, name: str, now: float) -> None:
        """A reservation that did not become a player (the upgrade failed)."""
        room = self.rooms.get(name)
        if room is not None and room.pending:
            room.pending -= 1
            self._maybe_empty(room, now)

    def admit(self, name: str) -> RoomState | None:
        """The reserved place becomes a player; None if the room was closed meanwhile."""
        room = self.rooms.get(name)
        if room is None or not room.pending:
            return None
        room.pending -= 1
        room.players += 1
        return room

    def leave(self, name: str, now: float) -> None:
        """A player of room ``name`` left."""
        room = self.rooms.get(name)
        if room is not None and room.players:
            room.players -= 1
            self._maybe_empty(room, now)

    def close(self, name: str, now: float) -> None:
        """No more joins; the room goes once its last player has left."""
        room = self.rooms.get(name)
        if room is not None:
            room.closing = True
            self._maybe_empty(room, now)

    def _maybe_empty(self, room: RoomState, now: float) -> None:
        if room.is_empty() and room.empty_since is None:
            room.empty_since = now

    def expired(self, now: float) -> list[str]:
        """Remove and name every room whose grace period (or close) has run out."""
        gone = [r.name for r in self.rooms.values()
                if (d := r.deadline()) is not None and d <= now]
        for name in gone:
            del self.rooms[name]
        return gone

    def next_deadline(self) -> float | None:
        """The soonest time ``expired`` has something to do (None: nothing scheduled)."""
        deadlines = [d for r in self.rooms.values() if (d := r.deadline()) is not None]
        return min(deadlines) if deadlines else None

    def listing(self) -> list[dict[str, Any]]:
        """The lobby: every room not hidden, in creation order."""
        return [r.listing() for r in self.rooms.values() if not r.hidden]


def lobby_request(head: bytes) -> bool | None:
    """For a request head: True for a plain-HTTP ``GET /rooms``, False for ``HEAD /rooms``,
    None for anything else (a WebSocket upgrade included), which the server handles as always."""
    line, _, rest = head.partition(b"\r\n")
    parts = line.split()
    if len(parts) != 3 or parts[0] not in (b"GET", b"HEAD") or not parts[2].startswith(b"HTTP/1."):
        return None
    if parts[1].split(b"?", 1)[0] != LOBBY_PATH.encode():
        return None
    for header in rest.split(b"\r\n"):
        if header.partition(b":")[0].strip().lower() == b"upgrade":
            return None
    return parts[0] == b"GET"


def lobby_response(listing: list[dict[str, Any]], with_body: bool = True) -> bytes:
    """The lobby's HTTP answer: ``{"rooms": [...]}`` as JSON, readable by browsers (CORS),
    launchers and Godot's HTTPRequest; ``with_body=False`` for HEAD."""
    body = json.dumps({"rooms": listing}, separators=(",", ":"), allow_nan=False).encode()
    return http_response(200, body, "application/json",
                         [("Cache-Control", "no-store"), ("Access-Control-Allow-Origin", "*")],
                         with_body)
