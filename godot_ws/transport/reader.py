"""The peer thread's read loop: recv -> (TLS) -> ``session.receive`` -> write its
replies -> hand the events to ``poll()``; and the end of the connection.

Runs on the connection's peer thread only (see ``connection.py`` for the
threading model). The session and the TLS session are used under the
connection's lock; ``recv`` and every wait happen without it.
"""
from __future__ import annotations

import logging
import mmap
import time
from typing import TYPE_CHECKING

from ..protocol.session import CLOSED, CloseReceived, Message, PongReceived, ProtocolError
from . import events as ev
from .memory import release_after_peer
from .posix import MSG_DONTWAIT as _MSG_DONTWAIT
from .sockets import close_quietly, shutdown

if TYPE_CHECKING:
    from .connection import PeerConnection

__all__ = ["read_loop"]

logger = logging.getLogger("godot_ws")

#: What an idle peer's ``recv`` asks for: ``recv`` allocates a bytes object of
#: this size for as long as it waits, and up to 479 bytes that block comes from
#: Python's small-object allocator (512-byte blocks) rather than malloc (2 KiB
#: took 2.1 KB per idle peer). A read that fills it switches to the ReadBuffer.
_IDLE_RECV_SIZE = 470
#: TLS records rarely fit the idle size: TLS reads start this large (a TLS
#: peer's own state is far larger anyway).
_TLS_RECV_SIZE = 2048
_RECV_SIZE = 65536
_BIG_RECV_SIZE = 1 << 20
#: One peer's fair share of ``poll()``: packets and bytes it may have handed over
#: that ``poll()`` has not taken yet (Godot's default input_max_packets, 4 MiB).
_FAIR_PACKETS = 1024
_FAIR_BYTES = 4 << 20


def read_loop(conn: PeerConnection) -> None:
    """Read and hand over until the connection ends, then finish it."""
    try:
        _read(conn)
    finally:
        _finish(conn)


def _read(conn: PeerConnection) -> None:
    cfg = conn.cfg
    session = conn.session
    data: bytes | memoryview = conn.trailing
    conn.trailing = b""
    if conn.sock.gettimeout() is not None:  # the handshake leaves it blocking
        conn.sock.settimeout(None)
    buf = ReadBuffer()
    while True:
        if data or session.more_buffered:
            # One peer thread parses at a time: the others wait off the GIL, so
            # with thousands of peers the polling thread is not starved of it.
            with cfg.gate:
                going = _deliver(conn, data)
            data = b""
            if not going:
                return
            if _over_inflight(conn):
                conn.parks += 1
                conn.wait_until(lambda: not _over_inflight(conn), None)
                if conn.aborted:
                    return
            if session.more_buffered:  # what the budget left parsed first
                continue
        try:
            got = _recv_tls(conn) if conn.out.tls is not None else _recv(conn, buf)
        except OSError:
            return
        if got is None:
            return
        data = got


def _deliver(conn: PeerConnection, data: bytes | memoryview) -> bool:
    """Parse one read (at most what the peer's input budget has room for), write
    the session's replies, hand the rest to ``poll()``. False when reading must
    stop (closed, or a protocol error)."""
    out = conn.out
    packets, nbytes = _room(conn)
    with conn.lock:
        session = conn.session
        events = session.receive(data, *out.queued_locked(),
                                 max_messages=packets, max_bytes=nbytes)
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
    return session.state is not CLOSED


def _room(conn: PeerConnection) -> tuple[int, int]:
    """How many more packets and bytes the peer may hand over before ``poll()``
    takes what it has: its input limits, and never more than one fair share
    (``_FAIR_*``), so that a flooding peer puts at most that much work ahead of
    everybody else's messages and holds at most that much in flight."""
    limits = conn.cfg.limits
    return (min(limits.input_packets, _FAIR_PACKETS) - (conn.produced - conn.consumed),
            min(limits.max_message_size, _FAIR_BYTES)
            - (conn.produced_bytes - conn.consumed_bytes))


def _over_inflight(conn: PeerConnection) -> bool:
    packets, nbytes = _room(conn)
    return packets <= 0 or nbytes <= 0


class ReadBuffer:
    """The peer thread's buffer while its peer is busy: reads go into one reused
    anonymous mapping (``recv_into``) instead of a new bytes object each.

    Made when a read fills the idle size, dropped when the peer goes quiet (an
    idle peer holds none). Being a mapping of its own, it never comes from a
    malloc arena, and its pages go back to the system when it is dropped.
    """
    __slots__ = ("view",)

    def __init__(self) -> None:
        self.view: memoryview | None = None

    def get(self) -> memoryview:
        if self.view is None:
            self.view = memoryview(mmap.mmap(-1, _BIG_RECV_SIZE))
        return self.view

    def drop(self) -> None:
        """Let the mapping go (unmapped once the last slice of it is gone)."""
        self.view = None


def _read_size(conn: PeerConnection) -> int:
    """A large read while a message is partly in, else a moderate one; never
    (much) more than the input budget has room for."""
    size = _BIG_RECV_SIZE if conn.session.receiving_message else _RECV_SIZE
    return max(_IDLE_RECV_SIZE, min(size, _room(conn)[1]))


def _recv(conn: PeerConnection, buf: ReadBuffer) -> bytes | memoryview | None:
    """Wait for data and return it (None at EOF). An idle peer waits with a
    small buffer; once a read fills it, reads go into ``buf`` (sized by
    :func:`_read_size`) until the peer is quiet again."""
    sock = conn.sock
    view = buf.view
    if view is not None:
        n = sock.recv_into(view, _read_size(conn))
        if n < _IDLE_RECV_SIZE and not conn.session.receiving_message:
            buf.drop()
        return view[:n] if n else None
    first = sock.recv(_IDLE_RECV_SIZE)
    if len(first) < _IDLE_RECV_SIZE:
        return first or None
    view = buf.get()
    view[:_IDLE_RECV_SIZE] = first
    more = _read_size(conn) - _IDLE_RECV_SIZE
    n = 0
    if more > 0:  # recv_into's nbytes=0 would mean "the whole buffer"
        try:
            n = sock.recv_into(view[_IDLE_RECV_SIZE:], more, _MSG_DONTWAIT)
        except BlockingIOError:
            pass
    return view[:_IDLE_RECV_SIZE + n]


def _recv_tls(conn: PeerConnection) -> bytes | None:
    """Wait for TLS records and decrypt them (None at EOF, on a TLS close or error)."""
    sock = conn.sock
    raw = sock.recv(_TLS_RECV_SIZE)
    if len(raw) == _TLS_RECV_SIZE:
        try:
            raw += sock.recv(_read_size(conn), _MSG_DONTWAIT)
        except BlockingIOError:
            pass
    return _tls_read(conn, raw) if raw else None


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
        conn.wait_until(lambda: session.state is CLOSED, cfg.close_timeout)
        conn.failure_close()
    with conn.lock:
        session.connection_lost()
    conn.reported = True
    cfg.events.put(ev.Disconnected(conn, session.clean))
    drained = conn.out.wait_drained(cfg.close_timeout)
    # Only a connection that had a backlog was ever watched by the writer
    # thread; one that drained after the session closed can queue no more
    # (sends are refused), so the others end without waking that thread.
    if conn.out.backlog_peak or not drained:
        cfg.writer.forget(conn)
    if conn.out.tls is not None and drained:
        with conn.lock:
            conn.out.close_tls_locked()
    shutdown(conn.sock)
    close_quietly(conn.sock)
    release_after_peer(max(conn.produced_bytes, conn.out.backlog_peak))
