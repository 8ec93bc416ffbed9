"""The one locked queue between the peer threads and ``poll()``.

Peer threads append whole batches (everything one socket read produced) with
one lock acquisition; the polling thread takes everything queued at once. The
polling thread is woken only when it is actually waiting, through the
queue's :class:`~godot_ws.transport.waker.Waker`. The wait is ``select.poll``
on it, and, on the main thread, also on a process-wide pipe given to
``signal.set_wakeup_fd`` for the duration of the wait: a signal then ends the
wait at once (after its Python handler ran), so a handler that only sets a
flag is seen by the loop around ``poll()`` without delay. No lock is held
while waiting, and only one thread may wait at a time (a second one gets
``RuntimeError`` at once).

Locks: ``_lock`` guards ``_events``, ``_waiting``, ``_signaled`` and
``_close_after_wait``. ``wake()`` takes no lock (a Python signal handler may
call it).
"""
from __future__ import annotations

import os
import select
import signal
import threading
import time
from typing import TYPE_CHECKING, NamedTuple, Union

if TYPE_CHECKING:
    from .connection import PeerConnection

from .waker import Waker

__all__ = ["EventQueue", "Connected", "Data", "CloseRequest", "ProtocolFailure",
           "Disconnected", "ConnectFailed", "Event"]

# Events are small immutable tuples (no per-event dict); ``conn`` is the
# transport connection the event belongs to.
class Connected(NamedTuple):
    """The upgrade succeeded; ``protocol`` is the chosen subprotocol ("" if none)."""
    conn: PeerConnection
    protocol: str


class Data(NamedTuple):
    """Messages of one read, in order: ``(payload, is_text)``; ``nbytes`` their total size."""
    conn: PeerConnection
    messages: list[tuple[bytes, bool]]
    nbytes: int


class CloseRequest(NamedTuple):
    """The peer sent a close frame (``code`` 0 when it had none)."""
    conn: PeerConnection
    code: int
    reason: str


class ProtocolFailure(NamedTuple):
    """The peer broke the protocol after the messages before this event: once
    their handlers ran, ``poll()`` sends the close frame (``code``)."""
    conn: PeerConnection
    code: int


class Disconnected(NamedTuple):
    """The connection ended; ``clean``: the closing handshake completed."""
    conn: PeerConnection
    clean: bool


class ConnectFailed(NamedTuple):
    """A client's attempt ended before there was a connection (``why``: for the log)."""
    why: str


Event = Union[Connected, Data, CloseRequest, ProtocolFailure, Disconnected, ConnectFailed]


# A process-wide pipe, never closed: a wakeup fd that an interrupted restore
# left set must never point at a descriptor that was closed and reused.
_SIGNAL_R, _SIGNAL_W = os.pipe()
os.set_blocking(_SIGNAL_R, False)
os.set_blocking(_SIGNAL_W, False)


def _claim_signal_wakeup() -> bool:
    """Route signals to ``_SIGNAL_W`` while this (main) thread waits; False when
    not on the main thread or when the application has its own wakeup fd."""
    try:
        old = signal.set_wakeup_fd(_SIGNAL_W, warn_on_full_buffer=False)
    except ValueError:  # not the main thread
        return False
    if old in (-1, _SIGNAL_W):
        return True
    signal.set_wakeup_fd(old)  # someone else's (asyncio, the application): give it back
    return False


def _drain_signals() -> None:
    try:
        while len(os.read(_SIGNAL_R, 4096)) == 4096:
            pass
    except OSError:  # BlockingIOError: empty
        pass


class EventQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._waiting = False
        self._signaled = False
        self._close_after_wait = False
        self._waker = Waker()
        self._poll_own = select.poll()
        self._poll_own.register(self._waker, select.POLLIN)
        self._poll_sig = select.poll()
        self._poll_sig.register(self._waker, select.POLLIN)
        self._poll_sig.register(_SIGNAL_R, select.POLLIN)

    def _signal_locked(self) -> bool:
        assert self._lock.locked()
        if self._waiting and not self._signaled:
            self._signaled = True
            return True
        return False

    def put(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)
            wake = self._signal_locked()
        if wake:
            self.wake()

    def put_many(self, events: list[Event]) -> None:
        with self._lock:
            self._events.extend(events)
            wake = self._signal_locked()
        if wake:
            self.wake()

    def wake(self) -> None:
        """Make the current or the next :meth:`take_all` wait return (e.g. after
        ``call_deferred``). Takes no lock: safe from a Python signal handler."""
        self._waker.wake()

    def take_all(self, timeout: float | None) -> list[Event]:
        """Everything queued; waits up to ``timeout`` s (None: forever) for the
        first event, a :meth:`wake` or (main thread) a signal. Raises
        ``RuntimeError`` if another thread is already waiting."""
        with self._lock:
            if self._events or (timeout is not None and timeout <= 0):
                events, self._events = self._events, []
                return events
            if self._waiting:
                raise RuntimeError("another thread is already waiting on this event queue")
            self._waiting = True
            self._signaled = False
        try:
            self._wait(timeout)
        finally:  # also when interrupted (Ctrl-C): what was queued stays queued
            with self._lock:
                self._waiting = False
                close = self._close_after_wait
            if close:
                self._close_now()
        with self._lock:
            events, self._events = self._events, []
        return events

    def _wait(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        on_signals = threading.current_thread() is threading.main_thread() \
            and _claim_signal_wakeup()
        try:
            poller = self._poll_sig if on_signals else self._poll_own
            while True:
                ms = None
                if deadline is not None:
                    ms = max(0, int((deadline - time.monotonic()) * 1000 + 0.999))
                ready = poller.poll(ms)
                if ready:
                    # Any byte ends the wait: a spurious early return costs one
                    # more poll(), a missed wake-up would cost a whole timeout.
                    for fd, _ in ready:
                        if fd == _SIGNAL_R:
                            _drain_signals()
                        else:
                            self._waker.drain()
                    return
                if deadline is not None and time.monotonic() >= deadline:
                    return
        finally:
            if on_signals:
                signal.set_wakeup_fd(-1)

    def clear(self) -> None:
        with self._lock:
            self._events = []

    def close(self) -> None:
        """Release the wake-up descriptor (now, or when the current wait ends)."""
        with self._lock:
            self._events = []
            if self._waiting:
                self._close_after_wait = True
                waiting = True
            else:
                waiting = False
        if waiting:
            self.wake()
        else:
            self._close_now()

    def _close_now(self) -> None:
        self._waker.close()
