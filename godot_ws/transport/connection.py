"""One peer connection: its session, its write path and what other threads may ask of it.

Threading model (the whole server transport)
--------------------------------------------
Threads:
- the **acceptor** thread (``acceptor.py``) accepts TCP connections and starts
  one **peer thread** per connection; it never reads or writes a peer socket;
- each **peer thread** runs :func:`run_peer`: the TLS and HTTP handshakes
  (``server_handshake.py``), then the read loop (``reader.py``); it is the only
  thread that reads its socket and the only one that closes it (at exit);
- the **backlog writer** thread (``writer.py``) flushes bytes a socket could
  not take at once and fires per-connection deadlines (close timeout, stalled
  output, keepalive);
- the user's **polling thread** calls ``WebSocketServer.poll()``; it takes
  events from the one :class:`~godot_ws.transport.events.EventQueue` and may
  write frames to any connection (``put_packet``, ``close``).

Locks:
- ``PeerConnection.lock`` guards the connection's :class:`~godot_ws.protocol.session.Session`
  (parsing changes its state, and so does sending a close), its TLS session
  (every pyOpenSSL call: memory BIOs, so no call under the lock blocks) and its
  write path (:class:`~godot_ws.transport.output.Output`: backlog, cork,
  counters). No blocking call is made while holding it: the peer thread waits
  in ``recv`` without it. Any thread may write, always under it and with
  non-blocking sends only (details in ``output.py``).
- ``cfg.gate`` (one per server) is held by a peer thread while it parses one
  read and hands the batch over, never while it waits in ``recv`` or is
  parked; it is always taken first (before ``lock`` and the event queue's
  lock), so it cannot deadlock. One parser at a time costs nothing under the
  GIL and keeps thousands of peer threads from starving the polling thread.
- the back-pressure counters (``produced*`` written by the peer thread,
  ``consumed*`` by the polling thread) have one writer each and only grow, so
  the other thread reads them without a lock.

Reads flow up as one event batch per socket read. The peer thread stops
reading (TCP back-pressure) while the packets it handed over but ``poll()`` has
not taken yet exceed the peer's input limits, so a flood between two polls
meets a bound. After a protocol error the peer thread stops reading, and the
close frame for the error is written by ``poll()`` after the handlers of the
messages before it ran (their replies go first), or by the peer thread
itself after ``close_timeout`` when nobody polls.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..enums import Error
from ..protocol import handshake as hs
from ..protocol.limits import DEFAULT_LIMITS, Limits
from ..protocol.session import CLOSED, OPEN, Session
from . import events as ev
from .output import Cork, Output
from .reader import read_loop
from .server_handshake import Upgrade, server_handshake
from .sockets import close_quietly, shutdown

if TYPE_CHECKING:
    from OpenSSL import SSL

    from ..peer import WebSocketPeer
    from .acceptor import Registry
    from .writer import BacklogWriter

__all__ = ["ConnectionConfig", "Cork", "PeerConnection", "run_peer"]

logger = logging.getLogger("godot_ws")

# Bound once for send(), which runs once per recipient of every message.
_OK, _FAILED, _OUT_OF_MEMORY = Error.OK, Error.FAILED, Error.ERR_OUT_OF_MEMORY


@dataclass
class ConnectionConfig:
    """What every connection of one ``listen()`` shares (a snapshot taken at listen)."""
    events: ev.EventQueue
    writer: BacklogWriter
    protocols: tuple[str, ...] = ()
    limits: Limits = DEFAULT_LIMITS
    handshake_timeout: float = 3.0
    close_timeout: float = 5.0
    tls_context: SSL.Context | None = None
    extra_headers: tuple[str, ...] = ()
    handshake_hook: Callable[..., Any] | None = None
    #: ``answer(head) -> bytes | None``: answers a plain HTTP request itself (the rooms lobby).
    http_answer: Callable[[bytes], bytes | None] | None = None
    #: ``abandoned(hook_result)``: the hook accepted a handshake that then failed.
    handshake_abandoned: Callable[[Any], None] | None = None
    ping_interval: float = 0.0
    ping_timeout: float = 0.0
    output_stall_timeout: float = 30.0
    no_delay: bool = True
    compression: bool = False
    gate: threading.Lock = field(default_factory=threading.Lock)
    cork: Cork = field(default_factory=Cork)
    trusted_proxies: tuple[hs.Network, ...] = ()


_Conn = TypeVar("_Conn", bound="PeerConnection")


class PeerConnection:
    """A server-side WebSocket connection after the upgrade (see the module doc);
    made by :meth:`open`."""

    session: Session
    out: Output
    #: The session is the client's (masks its frames, expects unmasked ones).
    client_side = False

    @classmethod
    def open(cls: type[_Conn], cfg: ConnectionConfig, sock: socket.socket,
             address: tuple[str, int], upgrade: Upgrade) -> _Conn:
        """The connection, then its session and write path: made one after the
        other, not nested in ``__init__``. Each constructor with a Python
        ``__init__`` called from another adds a C frame (about 0.8 KiB) to the
        peer thread's stack, and the pages it touches stay resident for the
        thread's life: nested, they cost an idle peer a third stack page."""
        conn = cls(cfg, sock, address, upgrade)
        conn.session = Session(cfg.limits, client=cls.client_side, extensions=upgrade.extensions)
        conn.out = Output(conn.lock, sock, conn, cfg.writer, cfg.cork, conn.abort)
        conn.out.tls = upgrade.tls
        return conn

    def __init__(self, cfg: ConnectionConfig, sock: socket.socket, address: tuple[str, int],
                 upgrade: Upgrade) -> None:
        self.cfg = cfg
        self.sock = sock
        self.address = address
        self.client_host = upgrade.client_host
        self._request_head = upgrade.head
        self.subprotocol = upgrade.protocol
        self.hook_result = upgrade.hook_result
        self.trailing = upgrade.trailing
        self.lock = threading.Lock()
        self.peer: WebSocketPeer | None = None  # set by the polling thread
        self.peer_id = 0                        # set by the polling thread
        # Back-pressure counters (one writer each, see the module doc).
        self.produced = 0              # packets handed to poll() (peer thread)
        self.produced_bytes = 0
        self.consumed = 0              # packets poll() took (polling thread)
        self.consumed_bytes = 0
        self._wakeup: threading.Event | None = None  # made when the peer thread first waits
        self.waiting = False           # the peer thread waits on _wakeup
        self.parks = 0                 # times reading stopped for back-pressure (peer thread)
        self.aborted = False
        self.reported = False          # Disconnected was posted (peer thread)
        self.last_pong = 0.0
        self._ping_sent = 0.0

    def request(self) -> hs.Request:
        """The upgrade request (checked in the handshake), parsed anew from its
        head: kept parsed, each idle peer would hold 0.7 KB more."""
        return hs.parse_request(self._request_head)

    # -- writes (any thread) ------------------------------------------------

    def send(self, payload: bytes, text: bool = False) -> Error:
        """Queue one message, applying the output limits; any thread, never blocks.

        On the polling thread inside ``poll()`` the frame is corked: all of a
        peer's frames of one dispatch go out in one write when it ends.
        """
        with self.lock:
            session, out = self.session, self.out
            # Aborted (set before the socket is shut down) or broken: the peer
            # thread has not reported the end yet, but nothing can go out.
            if session.state is not OPEN or self.aborted or out.broken:
                return _FAILED
            if out.full_locked(self.cfg.limits, len(payload)):
                return _OUT_OF_MEMORY
            header, rest = session.encode(payload, text)
            out.write_frame_locked(header, rest)
            return _OK

    def close(self, code: int = 1000, reason: str = "") -> bool:
        """Start the closing handshake; the peer stays until the client answers.

        Returns False when closing had already started.
        """
        with self.lock:
            frame = self.session.close(code, reason)
            if not frame:
                return False
            self.out.write_locked((frame,))
        self.cfg.writer.add_deadline(self, time.monotonic() + self.cfg.close_timeout, "close")
        return True

    def failure_close(self) -> None:
        """The peer broke the protocol: send its close frame now (polling thread,
        after the handlers of the messages before the error ran; or the peer
        thread when nobody polled in time). Idempotent."""
        with self.lock:
            if self.session.failure is None:
                return
            frame = self.session.failure_close()
            if frame:
                self.out.write_locked((frame,))
        self.wake()

    def uncork(self) -> None:
        self.out.uncork()

    def outbound_buffered(self) -> int:
        return self.out.buffered()

    # -- for the backlog writer thread -----------------------------------------

    def flush_backlog(self) -> bool:
        return self.out.flush()

    def stalled_for(self) -> float:
        return self.out.stalled_for()

    def on_deadline(self, kind: str) -> None:
        """Backlog writer thread: a deadline set by this connection is due."""
        if kind == "close" and self.session.state is not CLOSED:
            logger.info("peer %d: no close reply within %.1f s, dropping the connection",
                        self.peer_id, self.cfg.close_timeout)
            self.abort()
        elif kind == "ping":
            self._keepalive()

    def _keepalive(self) -> None:
        cfg = self.cfg
        if self.session.state is not OPEN or not cfg.ping_interval:
            return
        now = time.monotonic()
        if cfg.ping_timeout and self._ping_sent and self.last_pong < self._ping_sent \
                and now - self._ping_sent >= cfg.ping_timeout:
            logger.info("peer %d: no pong within %.1f s, dropping the connection",
                        self.peer_id, cfg.ping_timeout)
            self.abort()
            return
        if not self._ping_sent or self.last_pong >= self._ping_sent:
            with self.lock:
                frame = self.session.ping(b"godot_ws")
                if frame:
                    self.out.write_locked((frame,))
            self._ping_sent = now
        step = min(cfg.ping_interval, cfg.ping_timeout) if cfg.ping_timeout else cfg.ping_interval
        cfg.writer.add_deadline(self, now + step, "ping")

    # -- the end ----------------------------------------------------------------

    def abort(self) -> None:
        """Drop the TCP connection now; the peer thread wakes and reports it."""
        self.aborted = True
        self.wake()
        shutdown(self.sock)

    def stop_close(self, code: int = 1000) -> None:
        """``stop()``: send a close frame if still open, try once to flush, drop TCP."""
        with self.lock:
            frame = self.session.close(code)
            if frame:
                self.out.write_locked((frame,))
        self.out.uncork()  # stop() from a handler corks the close too: it goes now
        self.out.flush()
        self.abort()

    # -- the peer thread's waits --------------------------------------------------

    def wake(self) -> None:
        """Wake the peer thread if it waits (parked, or for a failure's close)."""
        wakeup = self._wakeup
        if wakeup is not None:
            wakeup.set()

    def wait_until(self, done: Callable[[], bool], timeout: float | None) -> bool:
        """Peer thread: wait until ``done()`` (re-checked on every wake) or the
        connection is aborted; False on timeout."""
        if self._wakeup is None:
            self._wakeup = threading.Event()
        wakeup = self._wakeup
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not done() and not self.aborted:
                wakeup.clear()
                self.waiting = True
                if done() or self.aborted:
                    break
                left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
                if left <= 0:
                    return False
                wakeup.wait(left)
        finally:
            self.waiting = False
        return True

    def took(self, packets: int, nbytes: int) -> None:
        """Polling thread: ``poll()`` took this many of this peer's packets."""
        self.consumed += packets
        self.consumed_bytes += nbytes
        if self.waiting:
            self.wake()


def run_peer(cfg: ConnectionConfig, sock: socket.socket, address: tuple[str, int],
             accepted_at: float, registry: Registry) -> None:
    """Peer thread body: handshake, announce, read until the end, clean up."""
    conn: PeerConnection | None = None
    announced = False
    try:
        upgrade = server_handshake(sock, cfg, address, accepted_at)
        if upgrade is None:
            close_quietly(sock)
            return
        if cfg.no_delay:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        conn = PeerConnection.open(cfg, sock, address, upgrade)
        if not registry.adopt(sock, conn):  # the server is stopping
            close_quietly(sock)
            return
        cfg.events.put(ev.Connected(conn, conn.subprotocol))
        announced = True
        read_loop(conn)
    except Exception:
        logger.exception("peer thread for %s:%s failed", *address[:2])
        if conn is not None:
            conn.session.connection_lost()
            cfg.writer.forget(conn)  # before the close: its descriptor may be reused
        close_quietly(sock)
        if conn is not None and announced and not conn.reported:
            cfg.events.put(ev.Disconnected(conn, False))
    finally:
        registry.release(sock)
