"""Rooms: many Godot multiplayer games in one multiplayer-mode server.

Each :class:`Room` is a complete game of its own, shaped like Godot's
``WebSocketMultiplayerPeer`` (so a ``MultiplayerAPI`` takes it as ``network_peer``):
its peers, join/leave messages, relay, relay policy and packets to peer 1. A Godot
client sees exactly what a one-game server shows it. Clients pick a room with the URL
path (``ws://host:port/rooms/<name>``), or the handshake hook picks for them
(:class:`JoinRoom`); ``GET /rooms`` on the same port lists the rooms as JSON.

Threads: ``_lock`` guards the registry (``protocol/rooms.py``) and every ``RoomState``
in it: peer threads take it to reserve a place during their handshake, to give a
reservation back and to answer the lobby; the polling thread for the rest. The
``Room`` objects, the room map and the peer-id-to-room map belong to the polling thread
(signals fire there, inside ``poll()``), except what ``MultiplayerSession`` allows from
any thread (``put_packet``) and the Room's settings, which take the lock.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

from .enums import ConnectionStatus, Error
from .multiplayer_session import MultiplayerSession, SessionPeer
from .object import Object
from .protocol import rooms as pr
from .protocol.rooms import JoinRoom, RoomState

__all__ = ["Rooms", "Room", "JoinRoom"]

logger = logging.getLogger("godot_ws")


class _Ticket(NamedTuple):
    """A place held in ``room`` during a handshake; ``data`` is the hook's own result."""
    room: str
    data: Any


class Rooms(Object):
    """The rooms of one server: ``server.rooms = Rooms(...)`` before ``listen(..., gd_mp_api=True)``.

    ``max_peers`` (0: no limit) and ``grace`` (seconds an empty room stays open; None:
    until closed) are the defaults of rooms created later; ``auto_create``: a client
    joining an unknown room creates it (else it is refused with 404).

    Signals:
        room_created(room): a :class:`Room` was created (by ``create_room`` or a joining client).
        room_closed(room): ``room`` closed (by ``close``, or empty for ``grace`` seconds).
        peer_joined(room, id): client ``id`` joined ``room``.
        peer_left(room, id): client ``id`` left ``room``.
    """

    _CLASS_NAME = "Rooms"
    _SIGNALS = {
        "room_created": ("room",),
        "room_closed": ("room",),
        "peer_joined": ("room", "id"),
        "peer_left": ("room", "id"),
    }

    def __init__(self, max_peers: int = 0, grace: float | None = 10.0,
                 auto_create: bool = True) -> None:
        self._lock = threading.Lock()
        self._registry = pr.RoomRegistry(max_peers, grace, auto_create)
        self._server: Any = None
        self._rooms: dict[str, Room] = {}
        self._room_of: dict[int, Room] = {}

    def __repr__(self) -> str:
        return f"<Rooms {sorted(self._rooms)}>"

    # -- defaults of new rooms -------------------------------------------------

    def _default(name: str, check: Callable[[Any], Any]) -> property:  # type: ignore[misc]
        def get(self: Rooms) -> Any:
            return getattr(self._registry, name)

        def set_(self: Rooms, value: Any) -> None:
            value = check(value)
            with self._lock:
                setattr(self._registry, name, value)
        return property(get, set_, doc=f"Default {name} of rooms created from now on.")

    max_peers = _default("max_peers", pr.check_max_peers)
    grace = _default("grace", pr.check_grace)
    auto_create = _default("auto_create", bool)
    del _default

    # -- the application's side ------------------------------------------------

    def create_room(self, name: str, max_peers: int | None = None, grace: Any = pr.DEFAULT,
                    metadata: Mapping[str, Any] | None = None, hidden: bool = False) -> Room | None:
        """Open room ``name`` ahead of its players (``room_created`` fires). Needs a
        listening server; ValueError if the room exists or the name is not valid."""
        if self._server is None:
            logger.error("create_room: the server is not listening")
            return None
        with self._lock:
            state = self._registry.create(name, time.monotonic(), max_peers, grace, metadata, hidden)
        return self._open_room(state)

    def get_room(self, name: str) -> Room | None:
        """The open room ``name``, or None."""
        return self._rooms.get(name)

    def get_rooms(self) -> list[Room]:
        """Every open room, in creation order."""
        return list(self._rooms.values())

    def get_lobby(self) -> list[dict[str, Any]]:
        """What ``GET /rooms`` lists: the rooms not hidden, as JSON-ready dicts."""
        with self._lock:
            return self._registry.listing()

    # -- the server's side (polling thread unless noted) -------------------------

    def _start(self, server: Any, user_hook: Callable[..., Any] | None) -> dict[str, Any]:
        """Start serving ``server``'s rooms; returns its connections' hooks."""
        with self._lock:
            self._registry.rooms.clear()
        self._rooms.clear()
        self._room_of.clear()
        self._server = server

        def hook(request: Any, address: tuple[str, int], protocol: str) -> Any:
            return self._reserve(user_hook, request, address, protocol)
        return {"handshake_hook": hook, "http_answer": self._http_answer,
                "handshake_abandoned": self._release}

    def _stop(self) -> None:
        """The server stopped: every room is closed, silently (as Godot's stop())."""
        with self._lock:
            self._registry.rooms.clear()
        for room in self._rooms.values():
            room._open = False
        self._rooms.clear()
        self._room_of.clear()
        self._server = None

    def _reserve(self, user_hook: Callable[..., Any] | None, request: Any,
                 address: tuple[str, int], protocol: str) -> Any:
        """Peer thread: the handshake hook. Which room, and is there a place in it?"""
        result = user_hook(request, address, protocol) if user_hook is not None else None
        if result is False or (isinstance(result, tuple) and not isinstance(result, JoinRoom)):
            return result  # a refusal: the connection answers it
        name: str | None
        if isinstance(result, JoinRoom):
            name, data = result.name, result.data
        else:
            name, data = pr.room_from_path(request.path), result
        with self._lock:
            room = self._registry.reserve(name, time.monotonic())  # HandshakeError: refused
        return _Ticket(room.name, data)

    def _release(self, ticket: _Ticket) -> None:
        """Peer thread: a reserved handshake failed after all."""
        with self._lock:
            self._registry.release(ticket.room, time.monotonic())

    def _http_answer(self, head: bytes) -> bytes | None:
        """Peer thread: the lobby for ``GET /rooms``; None for every other request."""
        kind = pr.lobby_request(head)
        if kind is None:
            return None
        with self._lock:
            return pr.lobby_response(self._registry.listing(), kind)

    def _open_room(self, state: RoomState) -> Room:
        room = self._rooms[state.name] = Room(self, state, self._server)
        self.emit_signal("room_created", room)
        return room

    def join(self, conn: Any, peer_id: int, peer: Any) -> None:
        """A client's upgrade is done: it joins the room it reserved."""
        ticket: _Ticket = conn.hook_result
        conn.hook_result = ticket.data  # get_handshake_data(): the application's own result
        with self._lock:
            state = self._registry.get(ticket.room)
            if state is not None and state.closing:
                self._registry.release(ticket.room, time.monotonic())
                state = None
            else:
                state = self._registry.admit(ticket.room)
        if state is None:  # closed while this client was on its way
            peer.close(1001, "room closed")
            return
        room = self._rooms.get(state.name) or self._open_room(state)
        self._room_of[peer_id] = room
        room._session.join(conn, peer_id, peer)
        self.emit_signal("peer_joined", room, peer_id)

    def leave(self, peer_id: int) -> None:
        """The server's hook: peer ``peer_id`` left its room (fires ``peer_left``)."""
        room = self._room_of.pop(peer_id, None)
        if room is None:
            return
        room._session.leave(peer_id)
        with self._lock:
            self._registry.leave(room.name, time.monotonic())
        self.emit_signal("peer_left", room, peer_id)

    def receive(self, sender: int, msgs: list) -> None:
        """The server's hook: hand ``sender``'s messages to the session of its room."""
        room = self._room_of.get(sender)
        if room is not None:
            room._session.receive(sender, msgs)

    def _wait(self, timeout: float | None) -> float | None:
        """``timeout`` cut to when the next empty room closes."""
        with self._lock:
            deadline = self._registry.next_deadline()
        if deadline is None:
            return timeout
        left = max(0.0, deadline - time.monotonic())
        return left if timeout is None else min(timeout, left)

    def _expire(self) -> None:
        """Close the rooms that have been empty for their grace period."""
        with self._lock:
            gone = self._registry.expired(time.monotonic())
        for name in gone:
            room = self._rooms.pop(name, None)
            if room is not None:  # else a reservation that never became a player
                room._open = False
                self.emit_signal("room_closed", room)

    def _close(self, room: Room, code: int, reason: str) -> None:
        with self._lock:
            self._registry.close(room.name, time.monotonic())
        for peer_id in room.get_peer_ids():
            room.disconnect_peer(peer_id, code, reason)
        self._expire()


class Room(SessionPeer):
    """One game of a rooms server: a ``WebSocketMultiplayerPeer`` for a ``MultiplayerAPI``.

    The server is peer 1 of every room; ``relay_policy`` and ``announce_peers`` start as
    the server's and may be changed per room. ``poll()`` polls the whole server (every
    room's signals fire), so one loop serves them all.
    """

    def __init__(self, rooms: Rooms, state: RoomState, server: Any) -> None:
        self._rooms = rooms
        self._state = state
        self._server = server
        self._session = MultiplayerSession(self)
        self._open = True
        self.relay_policy = server.relay_policy
        self.announce_peers = bool(server.announce_peers)

    def __repr__(self) -> str:
        return f"<Room {self.name!r} {len(self._session.peers)} players{'' if self._open else ' closed'}>"

    @property
    def name(self) -> str:
        """The room's name (what clients put in the URL to join it)."""
        return self._state.name

    def _active_session(self, what: str) -> MultiplayerSession | None:
        if not self._open:
            logger.error("%s: room %r is closed", what, self.name)
            return None
        return self._session

    # -- settings (any thread) ---------------------------------------------------

    def _change(self, attr: str, value: Any) -> None:
        with self._rooms._lock:
            setattr(self._state, attr, value)

    @property
    def max_peers(self) -> int:
        """Most players at once (0: no limit); joins beyond it are refused with 409."""
        return self._state.max_peers

    @max_peers.setter
    def max_peers(self, value: int) -> None:
        self._change("max_peers", pr.check_max_peers(value))

    @property
    def sealed(self) -> bool:
        """No new joins (refused with 403); the players in it stay."""
        return self._state.sealed

    @sealed.setter
    def sealed(self, value: bool) -> None:
        self._change("sealed", bool(value))

    #: ``MultiplayerAPI.refuse_new_network_connections`` seals the room.
    refuse_new_connections = sealed

    @property
    def hidden(self) -> bool:
        """Left out of the lobby listing (clients who know the name may still join)."""
        return self._state.hidden

    @hidden.setter
    def hidden(self, value: bool) -> None:
        self._change("hidden", bool(value))

    @property
    def metadata(self) -> dict[str, Any]:
        """JSON data the lobby shows with the room (a copy; assign to change it)."""
        return dict(self._state.metadata)

    @metadata.setter
    def metadata(self, value: Mapping[str, Any]) -> None:
        self._change("metadata", pr.check_metadata(value))

    @property
    def grace(self) -> float | None:
        """Seconds the room stays open once empty (None: until ``close()``)."""
        return self._state.grace

    @grace.setter
    def grace(self, value: float | None) -> None:
        self._change("grace", pr.check_grace(value))

    @property
    def relay_policy(self) -> Any:
        """This room's ``policy(from_id, to_id, payload)`` (see the server's), or None."""
        return self._relay_policy

    @relay_policy.setter
    def relay_policy(self, value: Any) -> None:
        if value is not None and not callable(value):
            raise TypeError(f"relay_policy must be callable or None, got {type(value).__name__}")
        self._relay_policy = value

    # -- the multiplayer peer ----------------------------------------------------

    def get_connection_status(self) -> ConnectionStatus:
        """``CONNECTION_CONNECTED`` while the room is open, else ``CONNECTION_DISCONNECTED``."""
        return (ConnectionStatus.CONNECTION_CONNECTED if self._open
                else ConnectionStatus.CONNECTION_DISCONNECTED)

    def is_server(self) -> bool:
        """Always True: the Python server is peer 1 of every room."""
        return True

    def poll(self, timeout: float | None = 1.0) -> None:
        """Poll the server (every room's events), as ``WebSocketServer.poll``."""
        self._server.poll(timeout)

    def _wake(self) -> None:
        self._server._wake()

    def is_refusing_new_connections(self) -> bool:
        """True when the room is sealed (no new players join it)."""
        return self.sealed

    def set_refuse_new_connections(self, enable: bool) -> None:
        """Seal (``enable=True``) or reopen the room to new players."""
        self.sealed = enable

    # -- its peers ---------------------------------------------------------------

    def get_peer_ids(self) -> list[int]:
        """Ids of this room's players."""
        return list(self._session.peers)

    def has_peer(self, id: int) -> bool:
        """True when player ``id`` is in this room."""
        return id in self._session.peers

    def get_peer(self, id: int) -> Any:
        """The ``WebSocketPeer`` of player ``id`` of this room, or None (logged)."""
        if id not in self._session.peers:
            logger.error("get_peer: room %r has no peer with id %s", self.name, id)
            return None
        return self._session.peers[id]

    def close(self, code: int = 1000, reason: str = "") -> Error:
        """No more joins; every player is disconnected with ``code``; ``room_closed``
        fires once the last one has left."""
        if not self._open:
            return Error.ERR_DOES_NOT_EXIST
        self._rooms._close(self, code, reason)
        return Error.OK
