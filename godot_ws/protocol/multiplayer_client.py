"""The client's half of Godot 3's multiplayer framing, as pure functions.

What a Godot client does with each frame from the server
(``WebSocketMultiplayerPeer::_process_multiplayer``, client branch): a user
packet (SYS_NONE) is stored with its ``from`` as source; SYS_ID gives the
client its id; SYS_ADD/SYS_DEL announce peers (SYS_ADD 1, the server, means
"connected"). What it sends: SYS_NONE frames from its own id to the target.
"""
from __future__ import annotations

import struct
from typing import NamedTuple

from .multiplayer import PROTO_SIZE, SYS_ADD, SYS_DEL, SYS_ID, SYS_NONE, pack_header, unpack_header

__all__ = ["ServerPacket", "parse_server_packet", "client_frame"]

_ID = struct.Struct("<i")


class ServerPacket(NamedTuple):
    """One frame from the server: ``kind`` is SYS_NONE (``payload`` for the
    game, from ``frm``) or SYS_ID/SYS_ADD/SYS_DEL (about peer ``peer_id``)."""
    kind: int
    frm: int
    peer_id: int
    payload: bytes


def parse_server_packet(data: bytes) -> ServerPacket | str:
    """Decode a frame as Godot's client does; a ``str`` says why Godot drops it."""
    if len(data) < PROTO_SIZE:
        return f"packet of {len(data)} bytes is shorter than the {PROTO_SIZE}-byte header"
    kind, frm, _ = unpack_header(data)
    if kind == SYS_NONE:
        return ServerPacket(kind, frm, 0, bytes(data[PROTO_SIZE:]))
    if kind not in (SYS_ID, SYS_ADD, SYS_DEL):
        return f"invalid multiplayer message type {kind}"
    if len(data) < PROTO_SIZE + 4:
        return f"system message {kind} without its 4-byte peer id"
    return ServerPacket(kind, frm, _ID.unpack_from(data, PROTO_SIZE)[0], b"")


def client_frame(own_id: int, target: int, payload: bytes) -> bytes:
    """What ``put_packet`` sends to the server: SYS_NONE, from ``own_id``, to ``target``."""
    return pack_header(SYS_NONE, own_id, target) + payload
