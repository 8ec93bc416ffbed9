"""The write path of one connection: non-blocking scatter-gather writes, the
backlog, the cork, TLS encryption, and the output deadlines' bookkeeping.

Threads and locks (see ``connection.py`` for the whole model):
- any thread may write, but only while holding ``lock`` (the connection's
  lock, shared with the reading side) and only with non-blocking sends;
- bytes the kernel does not take go to the backlog; while it is non-empty
  every new write is appended to it and only the backlog writer thread drains
  it (``flush``, under the same lock), so frames go out whole and in order;
- the polling thread corks its writes during a dispatch (:class:`Cork`): a
  peer's frames of one dispatch leave in one write when the dispatch ends;
- the TLS session (memory BIOs: no call blocks) is only used under ``lock``.
Every ``*_locked`` method asserts that ``lock`` is held.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from threading import get_ident
from typing import TYPE_CHECKING, Callable

from .posix import MSG_DONTWAIT as _MSG_DONTWAIT

if TYPE_CHECKING:
    from ..protocol.limits import Limits
    from .connection import PeerConnection
    from .tls import TLSSession
    from .writer import BacklogWriter

__all__ = ["Cork", "Output"]

logger = logging.getLogger("godot_ws")

_IOV_MAX = 512


class Cork:
    """Set by the polling thread around a dispatch: frames that thread writes
    meanwhile are held per connection and written together at the end.

    ``owner`` is the polling thread's ident while it dispatches, else 0;
    ``dirty`` lists the connections holding corked frames (polling thread only).
    """
    __slots__ = ("owner", "dirty")

    def __init__(self) -> None:
        self.owner = 0
        self.dirty: list[Output] = []

    def begin(self) -> None:
        self.owner = get_ident()

    def end(self) -> None:
        self.owner = 0
        dirty, self.dirty = self.dirty, []
        for out in dirty:
            try:
                out.uncork()
            except Exception:  # one broken peer must not hold the others' frames
                logger.exception("peer %d: write failed", out.owner.peer_id)


class Output:
    """Everything written to one socket goes through here."""

    __slots__ = ("lock", "sock", "tls", "owner", "watcher", "cork", "on_broken", "backlog",
                 "backlog_bytes", "backlog_peak", "corked", "corked_bytes", "stall_since",
                 "broken", "_drained")

    def __init__(self, lock: threading.Lock, sock: socket.socket, owner: PeerConnection,
                 watcher: BacklogWriter, cork: Cork, on_broken: Callable[[], None]) -> None:
        self.lock = lock
        self.sock = sock
        self.tls: TLSSession | None = None
        self.owner = owner          # the connection, as the backlog writer knows it
        self.watcher = watcher
        self.cork = cork
        self.on_broken = on_broken  # the socket failed: drop the connection
        self.backlog: list[memoryview] = []   # a list: idle peers should cost little
        self.backlog_bytes = 0
        self.backlog_peak = 0       # the most the backlog ever held, in bytes
        self.corked: list[bytes] = []
        self.corked_bytes = 0
        self.stall_since = 0.0
        self.broken = False         # a write failed: nothing more goes out
        self._drained: threading.Event | None = None  # made only when waited on

    # -- queue state -------------------------------------------------------

    def queued_locked(self) -> tuple[int, int]:
        """(frames, bytes) waiting in the backlog and the cork."""
        assert self.lock.locked()
        return len(self.backlog) + (len(self.corked) >> 1), self.backlog_bytes + self.corked_bytes

    def full_locked(self, limits: Limits, size: int) -> bool:
        """Would a message of ``size`` bytes overflow the output limits now?"""
        assert self.lock.locked()
        return limits.output_full(len(self.backlog) + (len(self.corked) >> 1),
                                  self.backlog_bytes + self.corked_bytes, size)

    def buffered(self) -> int:
        with self.lock:
            return self.backlog_bytes + self.corked_bytes

    # -- writing -----------------------------------------------------------

    def send_now_locked(self, header: bytes, payload: bytes) -> None:
        """The common case (plain TCP, nothing queued): one ``sendmsg``."""
        assert self.lock.locked()
        try:
            sent = self.sock.sendmsg((header, payload), (), _MSG_DONTWAIT)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.break_locked()
            return
        if sent < len(header) + len(payload):
            self._queue_unsent_locked((header, payload), sent)

    def write_frame_locked(self, header: bytes, payload: bytes) -> None:
        """Write one data frame as :meth:`write_locked` does; the hot path of
        every ``put_packet`` (two buffers, the payload never copied)."""
        assert self.lock.locked()
        if self._corks_locked():
            self.corked += (header, payload)
            self.corked_bytes += len(header) + len(payload)
        elif self.backlog or self.tls is not None:
            self.send_parts_locked((header, payload))
        else:
            self.send_now_locked(header, payload)

    def write_locked(self, parts: Sequence[bytes]) -> None:
        """Write frames in order: corked while the calling thread dispatches,
        behind corked frames if there are any, else now. Lock held."""
        assert self.lock.locked()
        if self._corks_locked():
            self.corked.extend(parts)
            self.corked_bytes += sum(map(len, parts))
        else:
            self.send_parts_locked(parts)

    def _corks_locked(self) -> bool:
        """Does a write now join the cork? Behind corked frames always (order);
        else when the calling thread dispatches, which makes this output dirty."""
        assert self.lock.locked()
        if self.corked:
            return True
        owner = self.cork.owner
        if owner and owner == get_ident():
            self.cork.dirty.append(self)
            return True
        return False

    def uncork(self) -> None:
        """Polling thread, end of a dispatch: write everything corked in one go."""
        with self.lock:
            parts, self.corked, self.corked_bytes = self.corked, [], 0
            if parts and self.sock.fileno() >= 0:
                self.send_parts_locked(parts)
            if not self.backlog:
                self._signal_drained_locked()

    def send_parts_locked(self, parts: Sequence[bytes], encrypt: bool = True) -> None:
        """Send buffers in order with scatter-gather writes; what the kernel does
        not take goes to the backlog. ``encrypt=False``: records the TLS session
        made by itself (tickets, key updates), already encrypted. Lock held."""
        assert self.lock.locked()
        if encrypt and self.tls is not None:
            try:
                self.tls.write(b"".join(parts) if len(parts) > 1 else parts[0])
            except ConnectionError:  # TLSError: the session broke (bad record, alert)
                self.break_locked()
                return
            out = self.tls.outgoing()
            parts = (out,) if out else ()
        if self.backlog:
            for part in parts:
                self.backlog.append(memoryview(part))
                self.backlog_bytes += len(part)
            self.backlog_peak = max(self.backlog_peak, self.backlog_bytes)
            return
        i, n = 0, len(parts)
        while i < n:
            chunk = parts[i:i + _IOV_MAX]
            try:
                sent = (self.sock.sendmsg(chunk, (), _MSG_DONTWAIT) if len(chunk) > 1
                        else self.sock.send(chunk[0], _MSG_DONTWAIT))
            except BlockingIOError:
                sent = 0
            except OSError:
                self.break_locked()
                return
            for part in chunk:
                size = len(part)
                if sent >= size:
                    sent -= size
                    i += 1
                    continue
                self._queue_unsent_locked(parts[i:], sent)
                return

    def _queue_unsent_locked(self, parts: Sequence[bytes], sent: int) -> None:
        """Backlog what the kernel did not take of ``parts`` (``sent`` bytes went out)."""
        assert self.lock.locked()
        for part in parts:
            size = len(part)
            if sent >= size:
                sent -= size
                continue
            self.backlog.append(memoryview(part)[sent:] if sent else memoryview(part))
            self.backlog_bytes += size - sent
            sent = 0
        self.backlog_peak = max(self.backlog_peak, self.backlog_bytes)
        self.stall_since = time.monotonic()
        self.watcher.watch(self.owner)

    def flush(self) -> bool:
        """Send what the socket takes now (backlog writer thread). True when empty."""
        with self.lock:
            progressed = False
            backlog = self.backlog
            while backlog:
                try:
                    sent = self.sock.sendmsg(backlog[:_IOV_MAX], (), _MSG_DONTWAIT)
                except BlockingIOError:
                    break
                except OSError:
                    self.break_locked()
                    break
                progressed = progressed or sent > 0
                self.backlog_bytes -= sent
                done = 0
                for head in backlog:
                    if len(head) > sent:
                        break
                    sent -= len(head)
                    done += 1
                del backlog[:done]
                if sent:
                    backlog[0] = backlog[0][sent:]
            if progressed:
                self.stall_since = time.monotonic()
            if not backlog:
                self._signal_drained_locked()
                return True
            return False

    def stalled_for(self) -> float:
        """Seconds the backlog has made no progress (0 when empty)."""
        return time.monotonic() - self.stall_since if self.backlog else 0.0

    def break_locked(self) -> None:
        """The socket failed: drop what waits and let the connection go."""
        assert self.lock.locked()
        self.broken = True
        self.backlog.clear()
        self.backlog_bytes = 0
        self.corked, self.corked_bytes = [], 0
        self._signal_drained_locked()
        self.on_broken()

    # -- the end -------------------------------------------------------------

    def _signal_drained_locked(self) -> None:
        assert self.lock.locked()
        if self._drained is not None and not self.corked:
            self._drained.set()

    def wait_drained(self, timeout: float) -> bool:
        """Peer thread, at the end: wait up to ``timeout`` s until everything
        queued went out (the backlog writer and the polling thread write it)."""
        with self.lock:
            if not (self.backlog or self.corked):
                return True
            waiter = self._drained = threading.Event()
        return waiter.wait(timeout)

    def close_tls_locked(self) -> None:
        """Send the TLS close_notify, only when everything before it went out."""
        assert self.lock.locked()
        if self.tls is None or self.broken or self.backlog or self.corked:
            return
        try:
            self.tls.shutdown()
            out = self.tls.outgoing()
            if out:
                self.sock.send(out, _MSG_DONTWAIT)
        except Exception:  # the connection is going away regardless
            pass
