"""One Godot multiplayer game: its peers, join/leave messages, relay, packet queue, target.

A one-game multiplayer server is one session; with rooms (``rooms.py``) every room is
one. The session does what Godot's ``WebSocketServer`` does in multiplayer mode for the
peers it holds, and only for them: a peer of another session is never told about, relayed
to or addressed. Peer ids are given by the server (unique in it), never by the session.

Threads: the polling thread joins, removes and relays (inside ``poll()``); ``put_packet``
may run on any thread: it routes over a snapshot of the peer ids.
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Any

from .enums import Error, TransferMode
from .multiplayer_peer import WebSocketMultiplayerPeer
from .protocol import multiplayer as mp

__all__ = ["MultiplayerSession", "SessionPeer"]

logger = logging.getLogger("godot_ws")


class MultiplayerSession:
    """The state of one game. ``owner`` emits its ``peer_connected``, ``peer_disconnected``
    and ``peer_packet`` signals and holds its ``relay_policy`` and ``announce_peers``."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self.peers: dict[int, Any] = {}   # id -> WebSocketPeer
        self.packets: deque[tuple[int, bytes]] = deque()
        self.target_peer = 0

    def join(self, conn: Any, peer_id: int, peer: Any) -> None:
        """Peer ``peer_id`` is in: tell it its id and who is there, tell the others."""
        for to, frame in mp.join_messages(peer_id, list(self.peers), self.owner.announce_peers):
            if to == peer_id:
                peer._send_frame(frame)
            else:
                self.send(to, frame)
        # Only now: a put_packet on another thread must not reach it before its SYS_ID.
        self.peers[peer_id] = peer
        self.owner.emit_signal("peer_connected", peer_id)

    def leave(self, peer_id: int) -> None:
        """Peer ``peer_id`` is gone: tell the others."""
        if self.peers.pop(peer_id, None) is None:
            return
        for to, frame in mp.leave_messages(peer_id, self.peers, self.owner.announce_peers):
            self.send(to, frame)
        self.owner.emit_signal("peer_disconnected", peer_id)

    def send(self, to: int, frame: bytes) -> Error:
        peer = self.peers.get(to)
        if peer is None:
            return Error.FAILED
        return peer._send_frame(frame)

    def receive(self, sender: int, msgs: list) -> None:
        """Frames from ``sender``: relay them by Godot's rules, keep what is for the server."""
        peers = self.peers
        for data, _ in msgs:
            try:
                relay = mp.relay_client_packet(sender, data, peers, self.owner.relay_policy)
            except Exception:  # the application's relay_policy: only this packet is lost
                logger.exception("peer %d: relay_policy failed; packet dropped", sender)
                continue
            if relay.error is not None:
                logger.error("peer %d: dropped packet: %s", sender, relay.error)
                continue
            if relay.frame is not None:
                for to in relay.recipients:
                    peer = peers.get(to)
                    if peer is not None:
                        peer._send_frame(relay.frame)
            if relay.store is not None:
                self.packets.append((sender, relay.store))
                self.owner.emit_signal("peer_packet", sender)

    def put_packet(self, data: bytes) -> Error:
        """The server's own packet to ``target_peer``, framed as Godot's server frames it."""
        target = self.target_peer
        # A snapshot: another thread may call this while poll() adds or removes peers.
        recipients, error = mp.server_route(target, tuple(self.peers))
        if error is not None:
            logger.error("put_packet: %s", error)
            return Error.FAILED
        if not recipients:
            return Error.OK
        frame = mp.server_frame(target, bytes(data))
        result = Error.OK
        for to in recipients:
            peer = self.peers.get(to)
            err = peer._send_frame(frame) if peer is not None else Error.FAILED
            if err != Error.OK and target > 0:
                result = err
        return result


class SessionPeer(WebSocketMultiplayerPeer):
    """Godot's multiplayer packet API (peer 1's side) over a session. Subclasses hold
    ``_session`` and say whether it may be used with ``_active_session(method)`` (None,
    logged, if not)."""

    _session: MultiplayerSession

    def _active_session(self, what: str) -> MultiplayerSession | None:
        raise NotImplementedError

    def set_target_peer(self, id: int) -> None:
        """Choose who the next ``put_packet`` goes to: a peer id, 0 for everyone, ``-id`` for
        everyone but ``id``.
        """
        if isinstance(id, bool) or not isinstance(id, int):
            raise TypeError(f"target peer must be an int, got {type(id).__name__}")
        self._session.target_peer = id

    def get_packet_peer(self) -> int:
        """Sender of the packet the next ``get_packet()`` returns (call it first)."""
        session = self._active_session("get_packet_peer")
        if session is None:
            return mp.SERVER_ID
        if not session.packets:
            logger.error("get_packet_peer: no packet available")
            return mp.SERVER_ID
        return session.packets[0][0]

    def get_available_packet_count(self) -> int:
        session = self._active_session("get_available_packet_count")
        return len(session.packets) if session is not None else 0

    def get_packet(self) -> bytes:
        session = self._active_session("get_packet")
        if session is None:
            self._packet_error = Error.ERR_UNCONFIGURED
            return b""
        if not session.packets:
            self._packet_error = Error.ERR_UNAVAILABLE
            return b""
        self._packet_error = Error.OK
        return session.packets.popleft()[1]

    def put_packet(self, data: bytes) -> Error:
        """Send ``data`` to the target peer with Godot's framing (multiplayer mode)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"put_packet needs bytes, got {type(data).__name__}")
        session = self._active_session("put_packet")
        if session is None:
            return Error.ERR_UNCONFIGURED
        return session.put_packet(data)

    def get_unique_id(self) -> int:
        """The server's peer id in multiplayer mode: always 1 (``TARGET_PEER_SERVER``)."""
        return mp.SERVER_ID

    def get_peer(self, id: int) -> Any:
        raise NotImplementedError

    def get_peer_address(self, id: int) -> str:
        """Remote address of peer ``id`` (the client's, via ``trusted_proxies``); ``""`` if
        unknown.
        """
        peer = self.get_peer(id)
        return peer.get_connected_host() if peer is not None else ""

    def get_peer_port(self, id: int) -> int:
        """Remote port of peer ``id``; 0 if unknown."""
        peer = self.get_peer(id)
        return peer.get_connected_port() if peer is not None else 0

    def disconnect_peer(self, id: int, code: int = 1000, reason: str = "") -> None:
        """Close peer ``id`` with a closing handshake, as ``WebSocketPeer.close``."""
        peer = self.get_peer(id)
        if peer is not None:
            peer.close(code, reason)

    @property
    def transfer_mode(self) -> TransferMode:
        """Always ``TRANSFER_MODE_RELIABLE``: WebSocket is reliable; assignments are accepted and
        ignored, as in Godot.
        """
        return TransferMode.TRANSFER_MODE_RELIABLE

    @transfer_mode.setter
    def transfer_mode(self, value: int) -> None:
        pass  # WebSocket is always reliable, as in Godot

    def get_transfer_mode(self) -> TransferMode:
        """Return :attr:`transfer_mode` (always reliable)."""
        return self.transfer_mode

    def set_transfer_mode(self, mode: int) -> None:
        """Accept ``mode`` and ignore it, as Godot does (WebSocket is always reliable)."""
        self.transfer_mode = mode
