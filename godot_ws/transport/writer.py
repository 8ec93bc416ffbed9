"""The backlog writer thread: drains output a socket could not take at once,
and fires per-connection deadlines.

Threading: one thread per listening server. ``watch``/``forget``/
``add_deadline`` may be called from any thread; they only touch ``_lock``-guarded
lists and wake the thread through a :class:`~godot_ws.transport.waker.Waker`. All writes it makes go through
``PeerConnection.flush_backlog``, under that connection's lock (see
``connection.py`` for the full model).
"""
from __future__ import annotations

import heapq
import itertools
import logging
import selectors
import threading
import time
from typing import TYPE_CHECKING

from .waker import Waker

if TYPE_CHECKING:
    from .connection import PeerConnection

__all__ = ["BacklogWriter"]

logger = logging.getLogger("godot_ws")


class BacklogWriter:
    """Lock ``_lock`` guards ``_watch``, ``_forget`` and ``_deadlines``;
    ``_registered`` belongs to the writer thread alone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watch: list[PeerConnection] = []
        self._forget: list[PeerConnection] = []
        self._deadlines: list[tuple[float, int, PeerConnection, str]] = []
        self._seq = itertools.count()
        self._registered: dict[int, PeerConnection] = {}
        self._waker = Waker()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="godot_ws-writer", daemon=True)
        self._thread.start()

    def watch(self, conn: PeerConnection) -> None:
        """``conn`` has a backlog: flush it when its socket becomes writable."""
        with self._lock:
            self._watch.append(conn)
        self._wake()

    def forget(self, conn: PeerConnection) -> None:
        with self._lock:
            self._forget.append(conn)
        self._wake()

    def add_deadline(self, conn: PeerConnection, when: float, kind: str) -> None:
        with self._lock:
            heapq.heappush(self._deadlines, (when, next(self._seq), conn, kind))
        self._wake()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        self._thread.join(5.0)
        if not self._thread.is_alive():  # else it may still drain: never a reused descriptor
            self._waker.close()

    def _wake(self) -> None:
        self._waker.wake()

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._waker, selectors.EVENT_READ, None)
        try:
            while not self._stopping:
                timeout = self._apply_changes(sel)
                ready = sel.select(timeout)
                if ready:  # a forget() that came during the wait wins over readiness
                    self._apply_changes(sel)
                for key, _ in ready:
                    conn = key.data
                    if conn is None:
                        self._waker.drain()
                    elif id(conn) in self._registered and conn.flush_backlog():
                        self._unregister(sel, conn)
                self._fire_deadlines()
        finally:
            sel.close()

    def _apply_changes(self, sel: selectors.BaseSelector) -> float | None:
        with self._lock:
            watch, self._watch = self._watch, []
            forget, self._forget = self._forget, []
            next_deadline = self._deadlines[0][0] if self._deadlines else None
        gone = {id(conn) for conn in forget}  # forget is final, even after a late watch
        for conn in watch:
            if id(conn) in gone or conn.sock.fileno() < 0 or conn.flush_backlog():
                continue
            self._unregister(sel, conn)
            try:
                sel.register(conn.sock, selectors.EVENT_WRITE, conn)
                self._registered[id(conn)] = conn
            except (ValueError, KeyError, OSError):
                pass
        for conn in forget:
            self._unregister(sel, conn)
        if next_deadline is None:
            timeout = 1.0 if self._registered else None
        else:
            timeout = max(0.0, next_deadline - time.monotonic())
        if self._registered:
            timeout = 1.0 if timeout is None else min(timeout, 1.0)
            self._check_stalls(sel)
        return timeout

    def _unregister(self, sel: selectors.BaseSelector, conn: PeerConnection) -> None:
        if self._registered.pop(id(conn), None) is None:
            return
        try:
            sel.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            # The socket was closed first: drop any stale entry by descriptor.
            for key in list(sel.get_map().values()):
                if key.data is conn:
                    try:
                        sel.unregister(key.fileobj)
                    except (KeyError, ValueError, OSError):
                        pass

    def _check_stalls(self, sel: selectors.BaseSelector) -> None:
        for conn in list(self._registered.values()):
            limit = conn.cfg.output_stall_timeout
            if limit and conn.stalled_for() > limit:
                logger.warning("peer %d: output stalled for %g s, disconnecting",
                               conn.peer_id, limit)
                # Not watched any more: its aborted socket is writable (an
                # error) until its thread forgets it, which would warn again.
                self._unregister(sel, conn)
                conn.abort()
                # The shut-down socket refuses the backlog: that drops it, so
                # the peer thread does not wait close_timeout for it to drain.
                conn.flush_backlog()

    def _fire_deadlines(self) -> None:
        now = time.monotonic()
        due = []
        with self._lock:
            while self._deadlines and self._deadlines[0][0] <= now:
                due.append(heapq.heappop(self._deadlines))
        for _, _, conn, kind in due:
            try:
                conn.on_deadline(kind)
            except Exception:
                logger.exception("deadline %s failed for peer %d", kind, conn.peer_id)
