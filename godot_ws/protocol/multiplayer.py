"""Godot 3's WebSocketMultiplayerPeer framing and relay rules, as pure functions.

Every message in multiplayer mode carries a 9-byte header (u8 type, i32 LE
from, i32 LE to) before its payload (spec godot3-websocket.md §5). The server
tells peers about each other with system messages and relays user packets by
the ``to`` field. This module decides *what* to send to *whom*; the server
does the sending, on its polling thread.

Ordering follows Godot, which keeps peers in an ordered map: recipients are
listed in ascending id order. A frame sent to several peers is built once and
the same ``bytes`` object is returned for each of them.

Two additions Godot lacks, both off by default so that the default behaviour
is Godot's: a relay *policy* (a callable that may allow, drop or redirect each
client packet) and the ``announce`` flag of ``join_messages``/``leave_messages``
(False: peers are not told about each other, only about the server).
"""
from __future__ import annotations

import enum
import secrets
import struct
from collections.abc import Collection, Iterable
from typing import Callable, NamedTuple, Union

__all__ = [
    "PROTO_SIZE", "SYS_NONE", "SYS_ADD", "SYS_DEL", "SYS_ID", "SERVER_ID",
    "pack_header", "unpack_header", "sys_message", "ClientPacket", "parse_client_packet",
    "join_messages", "leave_messages", "route", "server_route", "server_frame",
    "RelayVerdict", "RelayPolicy", "apply_policy", "Relay", "relay_client_packet",
    "new_peer_id",
]

PROTO_SIZE = 9
SYS_NONE = 0  # user payload
SYS_ADD = 1   # "peer N exists"
SYS_DEL = 2   # "peer N left"
SYS_ID = 3    # "your id is N"
SERVER_ID = 1

_HEADER = struct.Struct("<Bii")
_SYS = struct.Struct("<Biii")


def pack_header(type: int, frm: int, to: int) -> bytes:
    """The 9-byte header: u8 type, int32 LE from, int32 LE to."""
    return _HEADER.pack(type, frm, to)


def unpack_header(data: bytes) -> tuple[int, int, int]:
    """(type, from, to) of a frame of at least ``PROTO_SIZE`` bytes."""
    return _HEADER.unpack_from(data)


def sys_message(type: int, peer_id: int) -> bytes:
    """A system frame from the server (from=1, to=0) whose payload is ``peer_id``."""
    return _SYS.pack(type, SERVER_ID, 0, peer_id)


class ClientPacket(NamedTuple):
    """An accepted packet from a client: its header fields, payload and raw frame."""
    frm: int
    to: int
    payload: bytes
    frame: bytes


def parse_client_packet(sender_id: int, data: bytes) -> ClientPacket | str:
    """Check a frame from connected peer ``sender_id`` as Godot's server does (§5.4).

    Returns a ``ClientPacket``, or a ``str`` saying why Godot drops it (the
    server logs it as an error and keeps the connection).
    """
    if len(data) < PROTO_SIZE:
        return f"packet of {len(data)} bytes is shorter than the {PROTO_SIZE}-byte header"
    type_, frm, to = _HEADER.unpack_from(data)
    if type_ != SYS_NONE:
        return f"packet type {type_} != SYS_NONE (only the server sends system messages)"
    if frm != sender_id:
        return f"packet claims to be from {frm} but comes from {sender_id}"
    frame = bytes(data)
    return ClientPacket(frm, to, frame[PROTO_SIZE:], frame)


def join_messages(new_id: int, existing_ids: Iterable[int],
                  announce: bool = True) -> list[tuple[int, bytes]]:
    """(recipient, frame) pairs to send when ``new_id`` joins, in Godot's order (§5.2).

    To the newcomer: SYS_ID, SYS_ADD 1; then, for each other peer E in
    ascending order, SYS_ADD new to E and SYS_ADD E to the newcomer. With
    ``announce=False`` (an addition) peers are not told about each other.
    """
    out = [(new_id, sys_message(SYS_ID, new_id)), (new_id, sys_message(SYS_ADD, SERVER_ID))]
    if announce:
        add_new = sys_message(SYS_ADD, new_id)
        for other in sorted(existing_ids):
            if other != new_id:
                out.append((other, add_new))
                out.append((new_id, sys_message(SYS_ADD, other)))
    return out


def leave_messages(gone_id: int, remaining_ids: Iterable[int],
                   announce: bool = True) -> list[tuple[int, bytes]]:
    """(recipient, frame) pairs to send when ``gone_id`` left: SYS_DEL to every other peer."""
    if not announce:
        return []
    frame = sys_message(SYS_DEL, gone_id)
    return [(peer, frame) for peer in sorted(remaining_ids) if peer != gone_id]


def _relay_targets(frm: int, to: int, live_ids: Collection[int]) -> tuple[tuple[int, ...], str | None]:
    """Godot's ``_server_relay``: who gets a frame from ``frm`` addressed to ``to``."""
    if to == SERVER_ID:
        return (), None
    if to == 0:
        return tuple(sorted(p for p in live_ids if p != frm)), None
    if to < 0:
        return tuple(sorted(p for p in live_ids if p != frm and p != -to)), None
    if to == frm:
        return (), f"peer {frm} sent a packet to itself"
    if to not in live_ids:
        return (), f"target peer {to} does not exist"
    return (to,), None


def route(sender: int, to: int, live_ids: Collection[int]) -> tuple[bool, tuple[int, ...], str | None]:
    """Relay decision for a client packet (§5.4): (store for server, recipients, error).

    ``live_ids`` are the connected peer ids (the sender included or not). An
    error means the packet is dropped entirely (the server logs it).

    Deliberate difference from Godot 3: ``to == -1`` ("everyone but the
    server") is not stored for the server. Godot 3 stores it anyway, because
    its check compares the wrong variables; Godot 4 fixed it.
    """
    if to > SERVER_ID:
        recipients, error = _relay_targets(sender, to, live_ids)
        return False, recipients, error
    recipients, _ = _relay_targets(sender, to, live_ids)
    return to != -SERVER_ID, recipients, None


def server_route(target: int, live_ids: Collection[int]) -> tuple[tuple[int, ...], str | None]:
    """Recipients of the server's own ``put_packet`` to ``target`` (§5.5).

    1: nobody, no error (Godot returns OK). 0: everyone. -X: everyone but X.
    A peer: that peer. An unknown peer: error (Godot returns FAILED).
    """
    return _relay_targets(SERVER_ID, target, live_ids)


def server_frame(target: int, payload: bytes) -> bytes:
    """The frame the server's ``put_packet`` sends: SYS_NONE, from 1, to ``target``."""
    return _HEADER.pack(SYS_NONE, SERVER_ID, target) + payload


class RelayVerdict(enum.Enum):
    """What a relay policy may answer besides a peer id to redirect to."""
    ALLOW = "allow"
    DROP = "drop"


RelayPolicy = Callable[[int, int, bytes], Union[RelayVerdict, bool, int]]
"""``policy(from_id, to_id, payload)``, called once per accepted client packet
with the header's ``to``. Returns ``RelayVerdict.ALLOW`` (or True): Godot's
routing; ``RelayVerdict.DROP`` (or False): neither stored nor relayed; an int
id: routed as if ``to`` were that id (the relayed frame's header carries the
new ``to``; 1 means "server only")."""


def apply_policy(policy: RelayPolicy, frm: int, to: int, payload: bytes) -> int | None:
    """The ``to`` a packet should be routed by, or None to drop it."""
    verdict = policy(frm, to, payload)
    if verdict is RelayVerdict.ALLOW or verdict is True:
        return to
    if verdict is RelayVerdict.DROP or verdict is False:
        return None
    if isinstance(verdict, int):
        if not -2**31 <= verdict < 2**31:
            raise ValueError(f"relay policy redirected to {verdict}, which is not an int32 peer id")
        return verdict
    raise TypeError(f"relay policy returned {verdict!r}; return RelayVerdict.ALLOW, "
                    "RelayVerdict.DROP or a peer id to redirect to")


class Relay(NamedTuple):
    """What the server does with one client frame.

    ``store``: payload to queue for the server (source = ``sender``), or None.
    ``frame``: the bytes to send to every id of ``recipients`` (one shared object).
    ``error``: why the frame was dropped (to log), else None.
    """
    sender: int
    store: bytes | None
    frame: bytes | None
    recipients: tuple[int, ...]
    error: str | None


def relay_client_packet(sender_id: int, data: bytes, live_ids: Collection[int],
                        policy: RelayPolicy | None = None) -> Relay:
    """Everything the server does with a frame from ``sender_id``: check, policy, route."""
    packet = parse_client_packet(sender_id, data)
    if isinstance(packet, str):
        return Relay(sender_id, None, None, (), packet)
    to, frame = packet.to, packet.frame
    if policy is not None:
        new_to = apply_policy(policy, sender_id, to, packet.payload)
        if new_to is None:
            return Relay(sender_id, None, None, (), None)
        if new_to != to:
            to = new_to
            frame = _HEADER.pack(SYS_NONE, sender_id, to) + packet.payload
    store, recipients, error = route(sender_id, to, live_ids)
    if error is not None:
        return Relay(sender_id, None, None, (), error)
    return Relay(sender_id, packet.payload if store else None,
                 frame if recipients else None, recipients, None)


def new_peer_id(live_ids: Collection[int]) -> int:
    """A random id in 2..2^31-1 (from ``secrets``) that no live peer has."""
    while True:
        peer_id = secrets.randbits(31)
        if peer_id > SERVER_ID and peer_id not in live_ids:
            return peer_id
