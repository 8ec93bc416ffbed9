"""The peer thread's read loop: recv -> (TLS) -> ``session.receive`` -> write its
replies -> hand the events to ``poll()``; and the end of the connection.

Runs on the connection's peer thread only (see ``connection.py`` for the
threading model). The session and the TLS session are used under the
connection's lock; ``recv`` and every wait happen without it.
"""
from __future__ import annotations

import logging
import socket
import time
from typing import TYPE_CHECKING

from ..protocol.session import CloseReceived, Message, PongReceived, ProtocolError, State
from . import events as ev
from .sockets import close_quietly, shutdown

if TYPE_CHECKING:
    from .connection import PeerConnection

__all__ = ["read_loop"]

logger = logging.getLogger("godot_ws")

_IDLE_RECV_SIZE = 2048
_RECV_SIZE = 65536
_BIG_RECV_SIZE = 1 << 20
_MSG_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


def read_loop(conn: PeerConnection) -> None:
    """Read and hand over until the connection ends, then finish it."""
    try:
        _read(conn)
    finally:
        _finish(conn)


def _read(conn: PeerConnection) -> None:
    cfg = conn.cfg
    data = conn.trailing
    conn.trailing = b""
    conn.sock.settimeout(None)
    while True:
        if data:
            # One peer thread parses at a time: the others wait off the GIL, so
            # with thousands of peers the polling thread is not starved of it.
            with cfg.gate:
                going = _deliver(conn, data)
            if not going:
                return
            if _over_inflight(conn):
                conn.parks += 1
                conn.wait_until(lambda: not _over_inflight(conn), None)
                if conn.aborted:
                    return
        try:
            raw, extra = _recv(conn.sock, conn.session.receiving_message)
        except OSError:
            return
        if not raw:
            return
        if conn.out.tls is not None:
            plain = _tls_read(conn, raw + extra if extra else raw)
            if plain is None:
                return
            data = plain
        elif extra:
            data = raw + extra
        else:
            data = raw


def _deliver(conn: PeerConnection, data: bytes) -> bool:
    """Parse one read, write the session's replies, hand the rest to ``poll()``.
    False when reading must stop (closed, or a protocol error)."""
    out = conn.out
    with conn.lock:
        session = conn.session
        events = session.receive(data, *out.queued_locked())
        control = session.data_to_send()
        if control:
            out.write_locked(control)
    msgs: list[tuple[bytes, bool]] = []
    batch: list[ev.Event] = []
    failed = False
    for event in events:
        cls = event.__class__
        if cls is Message:
            msgs.append(event)  # type: ignore[arg-type]
        elif cls is CloseReceived:
            batch.append(ev.CloseRequest(conn, event.code, event.reason))  # type: ignore[union-attr]
        elif cls is PongReceived:
            conn.last_pong = time.monotonic()
        elif cls is ProtocolError:
            logger.info("peer %d: protocol error (%s), closing with %d",
                        conn.peer_id, event.reason, event.code)  # type: ignore[union-attr]
            batch.append(ev.ProtocolFailure(conn, event.code))  # type: ignore[union-attr]
            failed = True
    if msgs:
        nbytes = 0
        for m in msgs:
            nbytes += len(m[0])
        conn.produced += len(msgs)
        conn.produced_bytes += nbytes
        batch.insert(0, ev.Data(conn, msgs, nbytes))
    if batch:
        conn.cfg.events.put_many(batch)
    if failed:
        return False
    return session.state is not State.CLOSED


def _over_inflight(conn: PeerConnection) -> bool:
    limits = conn.cfg.limits
    return (conn.produced - conn.consumed >= limits.input_packets
            or conn.produced_bytes - conn.consumed_bytes >= limits.max_message_size)


def _recv(sock: socket.socket, big: bool) -> tuple[bytes, bytes]:
    """Wait for data with a small buffer (an idle peer holds only that much),
    then take what else is there in one non-blocking read: a large one while
    a message is partly in (``big``), else a moderate one, so that one read
    (one batch for ``poll()``) stays bounded. Returns both pieces, uncopied."""
    first = sock.recv(_IDLE_RECV_SIZE)
    if len(first) < _IDLE_RECV_SIZE:
        return first, b""
    try:
        return first, sock.recv(_BIG_RECV_SIZE if big else _RECV_SIZE, _MSG_DONTWAIT)
    except BlockingIOError:
        return first, b""


def _tls_read(conn: PeerConnection, raw: bytes) -> bytes | None:
    from .tls import TLSClosed, TLSError
    out = conn.out
    with conn.lock:
        tls = out.tls
        assert tls is not None
        try:
            tls.feed(raw)
            data = tls.read()
        except TLSClosed:
            return None
        except TLSError as exc:
            logger.info("peer %d: TLS error: %s", conn.peer_id, exc)
            return None
        records = tls.outgoing()
        if records:  # TLS 1.3 post-handshake messages, key updates: already encrypted
            out.send_parts_locked((records,), encrypt=False)
    return data


def _finish(conn: PeerConnection) -> None:
    """Report the end, let queued output drain (bounded), close TLS and TCP."""
    cfg = conn.cfg
    session = conn.session
    if session.failure is not None and not conn.aborted:
        # Answer, then close: poll() sends the error's close after the replies to
        # the messages before it; if nobody polls in time, send it here.
        conn.wait_until(lambda: session.state is State.CLOSED, cfg.close_timeout)
        conn.failure_close()
    with conn.lock:
        session.connection_lost()
    conn.reported = True
    cfg.events.put(ev.Disconnected(conn, session.clean))
    drained = conn.out.wait_drained(cfg.close_timeout)
    cfg.writer.forget(conn)
    if conn.out.tls is not None and drained:
        with conn.lock:
            conn.out.close_tls_locked()
    shutdown(conn.sock)
    close_quietly(conn.sock)
